#!/usr/bin/env python3
"""Fixtures of emofuse-eval's runs summary (several --pred files): three MOSI prediction
files for examples/eval/testdata/mosi_truth.txt and what MMSA reports for them.

Each run is scored by MMSA's own MetricsTop (imported from the checkout given with --mmsa;
float64 arrays behind a stand-in for the torch tensors it expects) and summarised as MMSA's
run.py does: per key round(np.mean(values) * 100, 2) and round(np.std(values) * 100, 2) over
the per-run values MetricsTop returns (rounded to 4 decimals). The unrounded mean and std
(MetricsTop with its round() made the identity) are recorded too.

Usage: /usr/bin/python3 tests/cli/generate_eval_runs.py --mmsa /work/mmsa
Writes tests/cli/data/runs/mosi_run{1,2,3}.txt and expected.txt (one line per key:
key mean std mmsa_mean mmsa_std, floats as Python's repr).
"""
import argparse
import importlib.util
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class Tensor:
    """What MetricsTop calls on its inputs: view(-1).cpu().detach().numpy()."""

    def __init__(self, array):
        self.array = np.asarray(array, dtype=np.float64)

    def view(self, *_):
        return Tensor(self.array.reshape(-1))

    def cpu(self):
        return self

    def detach(self):
        return self

    def numpy(self):
        return self.array


def read_column(path):
    return [float(line) for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mmsa", required=True, type=pathlib.Path, help="MMSA checkout")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location(
        "metricsTop", args.mmsa / "src/MMSA/utils/metricsTop.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    truth = np.array(read_column(ROOT / "examples/eval/testdata/mosi_truth.txt"))
    rng = np.random.default_rng(14)
    out = HERE / "data/runs"
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for run in range(1, 4):
        # Each seed's model: the truth with its own noise, 4 decimals as a model might print.
        pred = np.round(truth + rng.normal(0.0, 0.6 + 0.3 * run, truth.size), 4)
        (out / f"mosi_run{run}.txt").write_text(
            f"# MOSI predictions, run {run} (tests/cli/generate_eval_runs.py)\n"
            + "".join(f"{v!r}\n" for v in pred.tolist()))
        runs.append(pred)

    def score(unrounded):
        module.round = (lambda x, n=None: x) if unrounded else round
        evaluate = module.MetricsTop("regression").getMetics("MOSI")
        return [evaluate(Tensor(p), Tensor(truth)) for p in runs]

    reported = score(unrounded=False)
    exact = score(unrounded=True)
    lines = []
    for key in reported[0]:
        values = [float(r[key]) for r in exact]
        mmsa = [r[key] for r in reported]
        lines.append(" ".join([key, repr(float(np.mean(values))), repr(float(np.std(values))),
                               repr(round(np.mean(mmsa) * 100, 2)),
                               repr(round(np.std(mmsa) * 100, 2))]))
    (out / "expected.txt").write_text(
        "# key mean std mmsa_mean mmsa_std (tests/cli/generate_eval_runs.py, MMSA's "
        "MetricsTop and run.py)\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
