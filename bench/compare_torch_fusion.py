#!/usr/bin/env python3
"""Times the fusion workloads of docs/workloads.md in PyTorch eager, written as the
peers write them (MMSA TFN/LMF, MAG-BERT's MAG, block's MFB, compact bilinear pooling with a
sparse sketch and torch.fft), next to emofuse-bench, in one run on one thread, and prints the
medians and the ratio per workload.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/compare_torch_fusion.py build/rel/bench/emofuse-bench

The script sets OPENBLAS_NUM_THREADS=1 itself before importing torch, lifts the environment's
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE pins for PyTorch's process only (emofuse-bench keeps them),
calls torch.set_num_threads(1) and prints which BLAS (and OpenBLAS kernel set) torch runs. For each workload it runs emofuse-bench (filtered to that workload,
JSON output, --benchmark_repetitions) and then the PyTorch version, alternating, so both see
the same machine state. Reported: median wall time and median CPU time of one forward call;
ratio = PyTorch / emofuse (> 1: emofuse is faster). On a shared machine the CPU-time ratio is
the steadier one.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blas_info import describe_blas, lift_openblas_pins  # noqa: E402

# This process is PyTorch's (the anchor's): the pins the environment sets for old OpenBLAS
# builds are lifted before torch loads, so OpenBLAS picks its best kernels for the machine; the
# emofuse-bench child gets the environment as it was.
ORIGINAL_ENVIRONMENT = lift_openblas_pins()
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

# MMSA's TFN and LMF, MAG-BERT's MAG and block's MFB as the fusion fixtures define them (one
# definition of each).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fusion"))
from generate_fixtures import LMF, MAG, MFB, TensorFusionLinear  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)

GOALS = {"tfn_mmsa": 1.6, "tfn_mmsa_b1": 2.0, "lmf_mmsa": 5.0, "mfb": 1.5, "mcb": 4.0, "mag": 1.0}


def tfn_mmsa(batch):
    # MMSA TFN: cat ones, bmm outer products, then post_fusion_layer_1 + ReLU.
    module = TensorFusionLinear((32, 128, 32), 64, prepend_one=True, relu=True)
    inputs = (torch.randn(batch, 32), torch.randn(batch, 128), torch.randn(batch, 32))
    return lambda: module(inputs)


def lmf_mmsa():
    batch, rank, out = 64, 4, 64
    module = LMF((128, 16, 128), rank, out).requires_grad_(False)
    with torch.no_grad():
        for factor, d in ((module.audio_factor, 128), (module.video_factor, 16),
                          (module.text_factor, 128)):
            factor.copy_(torch.randn(rank, d + 1, out) * 0.1)
        module.fusion_weights.copy_(torch.randn(1, rank))
        module.fusion_bias.copy_(torch.randn(1, out))
    inputs = (torch.randn(batch, 128), torch.randn(batch, 16), torch.randn(batch, 128))
    return lambda: module(inputs)


def mag():
    module = MAG(768, 47, 74, 0.5).eval()
    t, v, a = torch.randn(32, 50, 768), torch.randn(32, 50, 47), torch.randn(32, 50, 74)
    return lambda: module((t, v, a))


def mfb():
    # block's MFB body with normalize=True, no input/output activation, no linear_out.
    module = MFB((128, 128), None, 1200, 2, None, None, True).eval()
    x0, x1 = torch.randn(64, 128), torch.randn(64, 128)
    return lambda: module((x0, x1))


def mcb():
    # Compact bilinear pooling as the PyTorch ports write it: count sketch as a sparse (d, D)
    # matrix product, rfft, element-wise product, irfft.
    d, out, batch = 128, 16384, 64

    def sketch_matrix():
        h = torch.randint(out, (d,))
        s = torch.randint(2, (d,)).float() * 2 - 1
        indices = torch.stack([torch.arange(d), h])
        return torch.sparse_coo_tensor(indices, s, (d, out)).coalesce()

    s0, s1 = sketch_matrix(), sketch_matrix()
    x0, x1 = torch.randn(batch, d), torch.randn(batch, d)

    def run():
        sketch_0 = torch.sparse.mm(s0.t(), x0.t()).t()
        sketch_1 = torch.sparse.mm(s1.t(), x1.t()).t()
        fft_0 = torch.fft.rfft(sketch_0, dim=1)
        fft_1 = torch.fft.rfft(sketch_1, dim=1)
        return torch.fft.irfft(fft_0 * fft_1, n=out, dim=1)

    return run


TORCH = {
    "tfn_mmsa": lambda: tfn_mmsa(32),
    "tfn_mmsa_b1": lambda: tfn_mmsa(1),
    "lmf_mmsa": lmf_mmsa,
    "mag": mag,
    "mfb": mfb,
    "mcb": mcb,
}


def time_torch(run, repetitions, min_seconds):
    with torch.no_grad():
        for _ in range(3):
            run()
        walls, cpus = [], []
        for _ in range(repetitions):
            calls, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
            while True:
                run()
                calls += 1
                if time.perf_counter() - wall0 >= min_seconds:
                    break
            walls.append((time.perf_counter() - wall0) / calls)
            cpus.append((time.process_time() - cpu0) / calls)
    return statistics.median(walls), statistics.median(cpus)


def time_emofuse(bench, name, repetitions, min_seconds):
    result = subprocess.run(
        [bench, f"--benchmark_filter=^{name}$", "--benchmark_format=json",
         f"--benchmark_repetitions={repetitions}", f"--benchmark_min_time={min_seconds}",
         "--benchmark_report_aggregates_only=true"],
        check=True, capture_output=True, text=True, env=ORIGINAL_ENVIRONMENT)
    report = json.loads(result.stdout)
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    for entry in report["benchmarks"]:
        if entry.get("aggregate_name") == "median":
            unit = scale[entry.get("time_unit", "ns")]
            return entry["real_time"] * unit, entry["cpu_time"] * unit
    raise RuntimeError(f"emofuse-bench reported no median for {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", help="path to the emofuse-bench executable")
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.3, help="seconds per repetition")
    parser.add_argument("--only", nargs="*", default=list(TORCH), help="workload names")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    torch.ones(64, 64) @ torch.ones(64, 64)  # loads the BLAS, so the next line can name it
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}; {describe_blas()}")
    header = (f"{'workload':<13} {'emofuse wall':>13} {'torch wall':>12} {'ratio':>6}   "
              f"{'emofuse cpu':>12} {'torch cpu':>11} {'ratio':>6}   {'goal':>5}")
    print(header)
    print("-" * len(header))
    results = {}
    for name in args.only:
        e_wall, e_cpu = time_emofuse(args.bench, name, args.repetitions, args.min_time)
        t_wall, t_cpu = time_torch(TORCH[name](), args.repetitions, args.min_time)
        results[name] = {"emofuse_wall_s": e_wall, "emofuse_cpu_s": e_cpu, "torch_wall_s": t_wall,
                         "torch_cpu_s": t_cpu, "ratio_wall": t_wall / e_wall,
                         "ratio_cpu": t_cpu / e_cpu, "goal": GOALS.get(name)}
        print(f"{name:<13} {e_wall * 1e3:>10.3f} ms {t_wall * 1e3:>9.3f} ms {t_wall / e_wall:>6.2f}   "
              f"{e_cpu * 1e3:>9.3f} ms {t_cpu * 1e3:>8.3f} ms {t_cpu / e_cpu:>6.2f}   "
              f"{GOALS.get(name, float('nan')):>5.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
