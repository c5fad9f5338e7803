#!/usr/bin/python3
"""Thread scaling of emofuse's workloads: the same benchmarks at --threads=1 and --threads=N,
side by side in one run.

    /usr/bin/python3 bench/compare_threads.py --bench build/bench/bench/emofuse-bench \
        [--threads 2] [--repeats 5] [--filter REGEX] [--align-cli emofuse-align --align-data DIR]

For every benchmark the filter selects (default: the issue-12 set — tfn_mmsa, tfn_mmsa_b1,
metrics_stream_1e7, bootstrap_f1_meld and every zoo_* model at batch 32 and 1), the script
runs emofuse-bench once per thread count per repeat, alternating 1, N, 1, N, … so that a
change in the machine's load hits both columns alike, and prints the median wall-clock time
of each column (real time: with N threads the CPU time of the timing thread says nothing),
speed-up = t1 / tN and parallel efficiency = speed-up / N.

With --align-cli and --align-data (a folder of .csd files, e.g. the one bench/compare_align.py
writes with --keep), it also times `emofuse-align --collapse mean --threads 1` and `--threads N` end to end on
those files (reference: the file whose name holds "words", else the first) the same way.

The thread counts are emofuse's own pool (emofuse-bench --threads=N, emofuse-align --threads N);
nothing here uses OpenBLAS, so the environment's OpenBLAS pins are left as they are.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DEFAULT_FILTER = (
    r"^(tfn_mmsa|tfn_mmsa_b1|metrics_stream_1e7|bootstrap_f1_meld|zoo_[a-z_]+_b(32|1))$"
)


def bench_times(bench, threads, name_filter, min_time):
    """One emofuse-bench run: {benchmark name: real time in ms}."""
    output = subprocess.run(
        [bench, f"--threads={threads}", f"--benchmark_filter={name_filter}",
         f"--benchmark_min_time={min_time}", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    report = json.loads(output)
    if report["context"].get("emofuse_threads") != str(threads):
        sys.exit(f"emofuse-bench ran with {report['context'].get('emofuse_threads')} threads, "
                 f"expected {threads}")
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
    return {run["name"]: run["real_time"] * scale[run["time_unit"]]
            for run in report["benchmarks"] if run.get("run_type", "iteration") == "iteration"}


def align_time(cli, data, threads):
    """Wall-clock seconds of one `emofuse-align` run over every .csd file in `data`."""
    files = sorted(str(p) for p in pathlib.Path(data).glob("*.csd"))
    if not files:
        sys.exit(f"--align-data {data}: no .csd files")
    reference = next((f for f in files if "words" in pathlib.Path(f).name), files[0])
    reference_name = pathlib.Path(reference).stem
    out = tempfile.mkdtemp(prefix="emofuse-scaling-")
    try:
        start = time.perf_counter()
        subprocess.run([cli, "--quiet", "--threads", str(threads), "--reference", reference_name,
                        "--collapse", "mean", "--out", out, *files], check=True)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, help="path to emofuse-bench")
    parser.add_argument("--threads", type=int, default=2, help="the N compared with 1")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--filter", default=DEFAULT_FILTER)
    parser.add_argument("--min-time", default="0.3", help="--benchmark_min_time per run")
    parser.add_argument("--align-cli", help="path to emofuse-align (end-to-end row)")
    parser.add_argument("--align-data", help="folder of .csd files for the end-to-end row")
    args = parser.parse_args()
    if args.threads < 2:
        parser.error("--threads: expected 2 or more")
    if bool(args.align_cli) != bool(args.align_data):
        parser.error("--align-cli and --align-data go together")

    samples = {1: {}, args.threads: {}}
    for _ in range(args.repeats):
        for threads in (1, args.threads):
            for name, ms in bench_times(args.bench, threads, args.filter, args.min_time).items():
                samples[threads].setdefault(name, []).append(ms)
            if args.align_cli:
                seconds = align_time(args.align_cli, args.align_data, threads)
                samples[threads].setdefault("emofuse-align (end to end)", []).append(seconds * 1e3)

    cpu = "unknown CPU"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        cpu = re.search(r"Model name:\s*(.+)", lscpu).group(1).strip()
    except (OSError, AttributeError):
        pass
    n = args.threads
    print(f"{cpu}, {os.cpu_count()} CPUs; medians of {args.repeats} alternating runs, wall clock")
    print(f"| workload | 1 thread | {n} threads | speed-up | efficiency |")
    print("|---|---|---|---|---|")
    for name in samples[1]:
        if name not in samples[n]:
            continue
        one = statistics.median(samples[1][name])
        many = statistics.median(samples[n][name])
        print(f"| `{name}` | {one:.3f} ms | {many:.3f} ms | {one / many:.2f}× | "
              f"{one / many / n:.0%} |")


if __name__ == "__main__":
    main()
