#!/usr/bin/env python3
"""MulT cases beyond generate_fixtures.py's, computed by MMSA's own MULT class.

    /usr/bin/python3 tests/models/generate_mult_fixtures.py --mmsa /path/to/MMSA [--out DIR]

Uses generate_fixtures.py's machinery (placeholders, inputs, randomised weights, the files it
writes) on MMSA's MOSEI entry for MULT, changed where the shipped fixtures do not reach:

  mult_mosei_mixed_regression   kernels 5 / 3 / 1 (text / audio / vision), d = 5 with 5 heads,
                                so audio's width (5) equals d and MULT skips proj_a although it
                                holds a (5, 5, 3) weight; nlevels 1 (memory stacks still get
                                3 layers); attn_mask false.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate_fixtures as common  # noqa: E402

MIXED = {"dst_feature_dim_nheads": [5, 5], "nlevels": 1, "attn_mask": False,
         "conv1d_kernel_size_l": 5, "conv1d_kernel_size_a": 3, "conv1d_kernel_size_v": 1}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mmsa", required=True, type=Path, help="MMSA checkout (root or src/MMSA)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    args = parser.parse_args()
    root = args.mmsa / "src" / "MMSA" if (args.mmsa / "src" / "MMSA").is_dir() else args.mmsa
    if not (root / "models" / "AMIO.py").is_file():
        sys.exit(f"{args.mmsa}: not an MMSA checkout (no models/AMIO.py)")
    EasyDict = common.install_placeholders()
    sys.path.insert(0, str(root))
    models = __import__("models")
    mmsa_config = common.load_module("mmsa_config", root / "config.py")
    data_loader = common.load_module("mmsa_data_loader", root / "data_loader.py")
    config_file = root / "config" / "config_regression.json"
    merged = json.loads(json.dumps(dict(
        mmsa_config.get_config_regression("mult", "mosei", str(config_file)))))
    args.out.mkdir(parents=True, exist_ok=True)
    print(common.numeric_case(models, data_loader, EasyDict, merged, "mult", "mosei",
                              "regression", args.out, seed=300, extra=MIXED, suffix="_mixed"))


if __name__ == "__main__":
    main()
