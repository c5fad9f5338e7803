#!/usr/bin/env python3
"""Side-by-side GEMM timing: emofuse's packed GEMM vs numpy/OpenBLAS sgemm, one thread each.

    /usr/bin/python3 bench/compare_blas.py build/bench/emofuse-bench [--repetitions 5]

For every GEMM shape of bench_kernels.cpp (gemm_512, gemm_nn/*, gemm_nt/*, linear_packed/*:
the nt shapes with the weight packed once beforehand) the script runs
emofuse-bench on that one benchmark (``--benchmark_repetitions=N
--benchmark_report_aggregates_only=true --benchmark_format=json``) and then times the same
product with numpy in a child process, alternating shape by shape so both see the same machine
state; it quotes medians. It also runs ``fma_peak`` and ``triad`` and prints every GEMM as a
fraction of the measured FMA peak and every memory-bound kernel as a fraction of the triad
bandwidth.

The numpy child gets OPENBLAS_NUM_THREADS=1 and has OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
removed together (they may be set on this machine for older OpenBLAS builds and would select
a slower kernel); it reports the core type OpenBLAS then uses, via threadpoolctl if present.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

GEMM_SHAPES = [  # (name in emofuse-bench, M, K, N, B transposed)
    ("gemm_512", 512, 512, 512, False),
]
for _layout, _trans in (("nn", False), ("nt", True)):
    for _m, _k, _n in ((32, 64, 64), (32, 4096, 64), (32, 16384, 64), (32, 140481, 64),
                       (64, 128, 2400), (256, 1024, 1024), (800, 50, 200), (1600, 768, 768),
                       (2048, 2048, 64), (2048, 64, 2048)):
        GEMM_SHAPES.append((f"gemm_{_layout}/M:{_m}/K:{_k}/N:{_n}", _m, _k, _n, _trans))
        if _trans:
            GEMM_SHAPES.append((f"linear_packed/M:{_m}/K:{_k}/N:{_n}", _m, _k, _n, True))

MEMORY_BOUND = ["reduce_sum", "reduce_max", "reduce_sum_squares", "reduce_dot",
                "softmax_rows_large/cols:4096", "softmax_rows_large/cols:500",
                "layer_norm_large/cols:1024", "layer_norm_large/cols:768",
                "exp_large", "gelu_large", "tanh_large", "linear_gemv/K:140481/N:64",
                "linear_gemv/K:4096/N:4096"]


# ------------------------------------------------------------------ numpy child process

def numpy_worker(spec):
    """Runs in the child: times each requested shape, prints one JSON line."""
    import numpy as np
    core = "unknown (threadpoolctl not installed)"
    try:
        from threadpoolctl import threadpool_info
        infos = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
        core = ", ".join(f"{i.get('architecture')} ({i.get('num_threads')} thread)" for i in infos) or \
            "no OpenBLAS found by threadpoolctl"
    except ImportError:
        pass
    rng = np.random.default_rng(1)
    results = {}
    for name, m, k, n, trans, reps, min_time in spec:
        a = rng.uniform(-1, 1, size=(m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, size=(n, k) if trans else (k, n)).astype(np.float32)
        rhs = b.T if trans else b  # a transposed view: sgemm with transb, no copy
        c = np.empty((m, n), dtype=np.float32)
        np.matmul(a, rhs, out=c)
        samples = []
        for _ in range(reps):
            # Process CPU time, like Google Benchmark's rate counters (CPU time unless a
            # benchmark asks for real time): on a shared machine both sides then measure their
            # own work rather than the neighbours' load.
            iters, start = 0, time.process_time()
            while True:
                np.matmul(a, rhs, out=c)
                iters += 1
                elapsed = time.process_time() - start
                if elapsed >= min_time:
                    break
            samples.append(elapsed / iters)
        results[name] = statistics.median(samples)
    print(json.dumps({"core": core, "numpy": np.__version__, "seconds": results}))


def time_numpy(shapes, reps, min_time):
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    env.pop("OPENBLAS_CORETYPE", None)  # removed together: see the module docstring
    env.pop("OPENBLAS_L2_SIZE", None)
    spec = [(s[0], s[1], s[2], s[3], s[4], reps, min_time) for s in shapes]
    out = subprocess.run([sys.executable, __file__, "--numpy-worker", json.dumps(spec)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------------------------ emofuse-bench

def run_benches(binary, names, reps, min_time):
    """Median counters of the named benchmarks (exact names), run in one emofuse-bench call."""
    pattern = "^(" + "|".join(names) + ")$"
    cmd = [binary, f"--benchmark_filter={pattern}", f"--benchmark_repetitions={reps}",
           "--benchmark_report_aggregates_only=true", "--benchmark_format=json",
           f"--benchmark_min_time={min_time}"]
    data = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    found = {entry["run_name"]: entry for entry in data["benchmarks"]
             if entry.get("aggregate_name") == "median"}
    missing = [n for n in names if n not in found]
    if missing:
        raise RuntimeError(f"emofuse-bench reported no median for {missing} "
                           "(is it built with bench_kernels.cpp?)")
    return found


def run_bench(binary, name, reps, min_time):
    """Median counters of one benchmark (exact name)."""
    return run_benches(binary, [name], reps, min_time)[name]


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--numpy-worker":
        numpy_worker(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", help="path to the emofuse-bench executable")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per repetition")
    parser.add_argument("--filter", default="", help="only GEMM shapes whose name contains this")
    parser.add_argument("--memory-only", action="store_true",
                        help="skip the GEMM comparison, run only the memory-bound kernels")
    args = parser.parse_args()

    peak = run_bench(args.bench, "fma_peak", args.repetitions, args.min_time)["FLOP/s"]
    triad = run_bench(args.bench, "triad", args.repetitions, args.min_time)["bytes_per_second"]
    print(f"measured single-core limits: FMA peak {peak / 1e9:.1f} GFLOP/s, "
          f"triad {triad / 1e9:.1f} GB/s (medians of {args.repetitions})")

    rows = []
    core = None
    for shape in GEMM_SHAPES:
        if args.memory_only or (args.filter and args.filter not in shape[0]):
            continue
        ours = run_bench(args.bench, shape[0], args.repetitions, args.min_time)["FLOP/s"]
        theirs = time_numpy([shape], args.repetitions, args.min_time)
        core = theirs["core"]
        flops = 2.0 * shape[1] * shape[2] * shape[3]
        blas = flops / theirs["seconds"][shape[0]]
        rows.append((shape[0], ours, blas))
    if rows:
        print_gemm_table(rows, core, peak)
    if args.filter:
        return
    print_memory_table(args)


def print_gemm_table(rows, core, peak):
    print(f"OpenBLAS via numpy, single thread; core type: {core}")
    header = f"{'shape':<36} {'emofuse GFLOP/s':>16} {'OpenBLAS GFLOP/s':>17} {'ratio':>7} {'emofuse/peak':>13} {'OpenBLAS/peak':>14}"
    print(header)
    print("-" * len(header))
    for name, ours, blas in rows:
        print(f"{name:<36} {ours / 1e9:>16.1f} {blas / 1e9:>17.1f} {ours / blas:>7.2f} "
              f"{ours / peak:>13.0%} {blas / peak:>14.0%}")


def print_memory_table(args):
    print()
    print("memory-bound kernels: each run right after its own triad measurement (one "
          "emofuse-bench call), so both see the same machine load")
    header = f"{'memory-bound kernel':<36} {'GB/s':>8} {'triad GB/s':>11} {'of triad':>9}"
    print(header)
    print("-" * len(header))
    for name in MEMORY_BOUND:
        pair = run_benches(args.bench, ["triad", name], args.repetitions, args.min_time)
        bw, tri = pair[name]["bytes_per_second"], pair["triad"]["bytes_per_second"]
        print(f"{name:<36} {bw / 1e9:>8.1f} {tri / 1e9:>11.1f} {bw / tri:>9.0%}")


if __name__ == "__main__":
    main()
