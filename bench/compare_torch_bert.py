#!/usr/bin/python3
"""Times emofuse's BERT encoder against PyTorch eager, side by side in one run.

    /usr/bin/python3 bench/compare_torch_bert.py --bench build/bench/bench/emofuse-bench

Workloads (docs/workloads.md), fp32, one thread, bert-base shapes (hidden 768, 12 layers,
12 heads, intermediate 3072, vocabulary 30522, random weights), last_hidden_state of
50-token rows:
  bert_base_b32_t50  batch 32, sample b with 50 − (7b mod 26) real tokens (25..50), the rest
                     padding (attention_mask 0), as a padded MMSA batch holds them
  bert_base_b1_t50   one sample of 50 real tokens

The PyTorch side is the transformers stand-in's BertModel (tests/models/standins/transformers:
Hugging Face's module structure and math; MMSA calls BertModel(input_ids, attention_mask,
token_type_ids) the same way) under torch.no_grad(), torch.set_num_threads(1). Its BLAS
should be OpenBLAS with the machine's best kernels: the OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
pins the environment may set for old OpenBLAS builds are lifted for this process only (the
emofuse-bench child gets the environment as it was), and the script says which BLAS torch
loaded. Debian's torch takes libblas.so.3, which is the reference BLAS unless
libopenblas0-pthread is installed; --blas-dir DIR puts an OpenBLAS libblas.so.3 (e.g. the
package's files unpacked with dpkg-deb -x) first on LD_LIBRARY_PATH for this process.

The two sides run alternately for several rounds (--rounds) so that both see the same load
on a shared machine; medians over rounds of CPU time (wall time in brackets) and medians of
the per-round ratios are printed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ORIGINAL_ENVIRONMENT = dict(os.environ)
HERE = Path(__file__).resolve().parent
WORKLOADS = ["bert_base_b32_t50", "bert_base_b1_t50"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", default="build/bench/bench/emofuse-bench",
                        help="path to the emofuse-bench executable (Release, -march=native)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds of PyTorch and emofuse timings (default 3)")
    parser.add_argument("--blas-dir", help="directory holding an OpenBLAS libblas.so.3 to put "
                        "first on LD_LIBRARY_PATH for the PyTorch side")
    return parser.parse_args()


ARGS = parse_args()
if ARGS.blas_dir and os.environ.get("EMOFUSE_COMPARE_BLAS_DIR") != ARGS.blas_dir:
    # The loader reads LD_LIBRARY_PATH at start-up only: run again with it set.
    env = dict(os.environ, EMOFUSE_COMPARE_BLAS_DIR=ARGS.blas_dir,
               EMOFUSE_COMPARE_ORIGINAL_LD_PATH=os.environ.get("LD_LIBRARY_PATH", ""),
               LD_LIBRARY_PATH=os.pathsep.join(
                   p for p in [ARGS.blas_dir, os.environ.get("LD_LIBRARY_PATH", "")] if p))
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
if "EMOFUSE_COMPARE_BLAS_DIR" in os.environ:
    ORIGINAL_ENVIRONMENT["LD_LIBRARY_PATH"] = os.environ["EMOFUSE_COMPARE_ORIGINAL_LD_PATH"]
    for key in ("EMOFUSE_COMPARE_BLAS_DIR", "EMOFUSE_COMPARE_ORIGINAL_LD_PATH"):
        ORIGINAL_ENVIRONMENT.pop(key, None)
    if not ORIGINAL_ENVIRONMENT["LD_LIBRARY_PATH"]:
        del ORIGINAL_ENVIRONMENT["LD_LIBRARY_PATH"]

# This process is PyTorch's (the anchor's): OpenBLAS's best kernels for the machine.
os.environ.pop("OPENBLAS_CORETYPE", None)
os.environ.pop("OPENBLAS_L2_SIZE", None)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402

sys.path.insert(0, str(HERE.parent / "tests" / "models" / "standins"))
import transformers  # noqa: E402  the stand-in

torch.set_num_threads(1)
torch.set_grad_enabled(False)


def blas_description():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl missing)"
    found = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    if not found:
        return "unknown"
    info = found[0]
    text = "%s %s (%s)" % (info.get("internal_api"), info.get("version") or "",
                           info.get("filepath"))
    if info.get("architecture"):
        text += ", core type " + info["architecture"]
    return text


def time_call(fn, repetitions):
    """Median (wall, CPU) seconds per call over `repetitions` calls after one warm-up."""
    fn()
    wall, cpu = [], []
    for _ in range(repetitions):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def tokens(batch, t, padded, generator):
    ids = torch.randint(1000, 30000, (batch, t), generator=generator)
    mask = torch.ones(batch, t, dtype=torch.long)
    if padded:
        for b in range(batch):
            length = t - (b * 7) % (t // 2 + 1)
            mask[b, length:] = 0
            ids[b, length:] = 0
    return ids, mask, torch.zeros(batch, t, dtype=torch.long)


def torch_times(model):
    generator = torch.Generator().manual_seed(0)
    times = {}
    for name, batch, padded, repetitions in [("bert_base_b32_t50", 32, True, 3),
                                             ("bert_base_b1_t50", 1, False, 15)]:
        ids, mask, types = tokens(batch, 50, padded, generator)
        times[name] = time_call(
            lambda: model(input_ids=ids, attention_mask=mask, token_type_ids=types),
            repetitions)
    return times


def emofuse_times(bench, repetitions):
    cmd = [bench, "--benchmark_filter=^(%s)$" % "|".join(WORKLOADS),
           "--benchmark_repetitions=%d" % repetitions, "--benchmark_report_aggregates_only=true",
           "--benchmark_format=json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=ORIGINAL_ENVIRONMENT).stdout
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    result = {}
    for entry in json.loads(out)["benchmarks"]:
        if entry.get("aggregate_name") == "median":
            scale = unit[entry["time_unit"]]
            result[entry["run_name"]] = (entry["real_time"] * scale, entry["cpu_time"] * scale)
    return result


def main():
    if not os.path.exists(ARGS.bench):
        sys.exit("emofuse-bench not found at %s (configure with --preset bench and build "
                 "emofuse-bench)" % ARGS.bench)
    model = transformers.BertModel(transformers.BertConfig()).eval()
    blas = blas_description()
    rounds = []
    for _ in range(ARGS.rounds):
        rounds.append((torch_times(model), emofuse_times(ARGS.bench, repetitions=3)))
    print("torch %s, threads %d, BLAS: %s; %d alternating rounds" %
          (torch.__version__, torch.get_num_threads(), blas, ARGS.rounds))
    if "openblas" not in blas.lower():
        print("WARNING: torch is not using OpenBLAS; the anchor is not the one the goals name")
    print("medians; CPU time (wall time in brackets)")
    print("%-18s %26s %26s %9s %8s" % ("workload", "emofuse", "torch (stand-in BertModel)",
                                        "speed-up", "[wall]"))
    for name in WORKLOADS:
        median = lambda pick: statistics.median(pick(r) for r in rounds)  # noqa: E731
        print("%-18s %10.1f ms [%8.1f ms] %10.1f ms [%8.1f ms] %8.2fx %7.2fx" % (
            name, median(lambda r: r[1][name][1]) * 1e3, median(lambda r: r[1][name][0]) * 1e3,
            median(lambda r: r[0][name][1]) * 1e3, median(lambda r: r[0][name][0]) * 1e3,
            median(lambda r: r[0][name][1] / r[1][name][1]),
            median(lambda r: r[0][name][0] / r[1][name][0])))


if __name__ == "__main__":
    main()
