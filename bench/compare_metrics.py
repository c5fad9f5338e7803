#!/usr/bin/python3
"""Times emofuse's metric workloads against numpy + scikit-learn, side by side in one run.

    /usr/bin/python3 bench/compare_metrics.py --bench build/release/bench/emofuse-bench [--threads N]

Workloads (docs/workloads.md):
  metrics_mosi_suite   MMSA's MetricsTop MOSI regression suite (8 keys), N = 4659, float32
  metrics_stream_1e7   accuracy + weighted F1 (7 classes) + MAE + Pearson over 10^7 samples
  bootstrap_f1_meld    1000-resample percentile CI of weighted F1, N = 2610, 7 classes

The Python side is written the way MMSA (thuiar/MMSA, utils/metricsTop.py) and typical
research code write it: numpy clip/round/mean/corrcoef and sklearn accuracy_score/f1_score,
and a bootstrap that indexes the arrays with resampled indices and calls f1_score per
resample. The script then runs emofuse-bench for the same names (and `triad`, the measured
memory bandwidth, when it exists), and prints medians, ratios, and the streaming pass as a
fraction of the triad bandwidth. At --threads 1 (the default) the ratios are of CPU time; at
--threads N > 1 emofuse-bench runs with --threads=N and its wall-clock time is compared (the
anchor stays single-threaded, as the code it transcribes).

The fair anchor: this machine's environment pins OpenBLAS to older kernels
(OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE). They are removed from this process before numpy is
imported, so the anchor gets OpenBLAS's best kernels for the CPU, and emofuse-bench is run
with the environment the script was started with.
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

BENCH_ENVIRONMENT = lift_openblas_pins()  # emofuse-bench's, pins included; see the docstring
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402


def cpu_median(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def mmsa_mosi_suite(y_pred, y_true):
    """MMSA's __eval_mosei_regression (its own code, transcribed)."""
    test_preds, test_truth = y_pred, y_true
    test_preds_a7 = np.clip(test_preds, a_min=-3.0, a_max=3.0)
    test_truth_a7 = np.clip(test_truth, a_min=-3.0, a_max=3.0)
    test_preds_a5 = np.clip(test_preds, a_min=-2.0, a_max=2.0)
    test_truth_a5 = np.clip(test_truth, a_min=-2.0, a_max=2.0)
    mae = np.mean(np.absolute(test_preds - test_truth))
    corr = np.corrcoef(test_preds, test_truth)[0][1]
    mult_a7 = np.sum(np.round(test_preds_a7) == np.round(test_truth_a7)) / float(len(test_truth_a7))
    mult_a5 = np.sum(np.round(test_preds_a5) == np.round(test_truth_a5)) / float(len(test_truth_a5))
    non_zeros = np.array([i for i, e in enumerate(test_truth) if e != 0])
    non_zeros_binary_truth = test_truth[non_zeros] > 0
    non_zeros_binary_preds = test_preds[non_zeros] > 0
    non_zeros_acc2 = accuracy_score(non_zeros_binary_preds, non_zeros_binary_truth)
    non_zeros_f1 = f1_score(non_zeros_binary_truth, non_zeros_binary_preds, average="weighted")
    binary_truth = test_truth >= 0
    binary_preds = test_preds >= 0
    acc2 = accuracy_score(binary_preds, binary_truth)
    f_score = f1_score(binary_truth, binary_preds, average="weighted")
    return {"Has0_acc_2": acc2, "Has0_F1_score": f_score, "Non0_acc_2": non_zeros_acc2,
            "Non0_F1_score": non_zeros_f1, "Mult_acc_5": mult_a5, "Mult_acc_7": mult_a7,
            "MAE": mae, "Corr": corr}


def stream(t_label, p_label, truth, pred):
    acc = accuracy_score(t_label, p_label)
    wf1 = f1_score(t_label, p_label, average="weighted")
    mae = np.mean(np.absolute(pred - truth))
    corr = np.corrcoef(pred, truth)[0][1]
    return acc, wf1, mae, corr


def bootstrap_f1(truth, pred, resamples, seed):
    rng = np.random.default_rng(seed)
    values = []
    n = len(truth)
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        values.append(f1_score(truth[idx], pred[idx], average="weighted"))
    return np.percentile(values, [2.5, 97.5])


def run_bench(path, names, threads):
    pattern = "^(" + "|".join(names) + ")$"
    out = subprocess.run([path, f"--threads={threads}", f"--benchmark_filter={pattern}",
                          "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true",
                          "--benchmark_format=json"],
                         check=True, capture_output=True, text=True, env=BENCH_ENVIRONMENT).stdout
    results = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
            results[b["run_name"]] = {"cpu": b["cpu_time"] * scale, "real": b["real_time"] * scale,
                                      "bytes_per_second": b.get("bytes_per_second")}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default="build/release/bench/emofuse-bench")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="emofuse-bench --threads=N (the anchor is single-threaded)")
    args = parser.parse_args()

    rng = np.random.default_rng(42)
    n = 4659
    truth = (rng.integers(-9, 10, n) / 3.0).astype(np.float32)
    pred = (0.7 * truth + rng.normal(0, 1, n)).astype(np.float32)
    py = {"metrics_mosi_suite": cpu_median(lambda: mmsa_mosi_suite(pred, truth), max(args.repeats, 20))}

    big = 10_000_000
    t_label = rng.integers(0, 7, big).astype(np.int32)
    p_label = np.where(rng.random(big) < 0.6, t_label, rng.integers(0, 7, big)).astype(np.int32)
    s_truth = (rng.integers(-9, 10, big) / 3.0).astype(np.float32)
    s_pred = (0.7 * s_truth + rng.normal(0, 1, big)).astype(np.float32)
    py["metrics_stream_1e7"] = cpu_median(lambda: stream(t_label, p_label, s_truth, s_pred), 3)

    m_truth = rng.integers(0, 7, 2610)
    m_pred = np.where(rng.random(2610) < 0.6, m_truth, rng.integers(0, 7, 2610))
    py["bootstrap_f1_meld"] = cpu_median(lambda: bootstrap_f1(m_truth, m_pred, 1000, 2024), 1)

    names = ["metrics_mosi_suite", "metrics_stream_1e7", "bootstrap_f1_meld", "triad"]
    cpp = run_bench(args.bench, names, args.threads)
    clock = "cpu" if args.threads == 1 else "real"
    print(f"numpy {np.__version__}; {describe_blas()}")
    print(f"{'workload':<22}{'numpy/sklearn':>16}{'emofuse':>14}{'ratio':>10}")
    for name in names[:3]:
        if name not in cpp:
            print(f"{name:<22}{py[name] * 1e3:>13.3f} ms{'(missing)':>14}")
            continue
        e = cpp[name][clock]
        print(f"{name:<22}{py[name] * 1e3:>13.3f} ms{e * 1e3:>11.3f} ms{py[name] / e:>9.1f}x")
    if "triad" in cpp and "metrics_stream_1e7" in cpp:
        stream_bw = cpp["metrics_stream_1e7"]["bytes_per_second"]
        triad_bw = cpp["triad"]["bytes_per_second"]
        print(f"metrics_stream_1e7 reads {stream_bw / 1e9:.1f} GB/s = "
              f"{100 * stream_bw / triad_bw:.0f}% of the measured triad bandwidth "
              f"({triad_bw / 1e9:.1f} GB/s)")
    print(f"(medians; numpy/sklearn: CPU time, single-threaded, OPENBLAS_CORETYPE and "
          f"OPENBLAS_L2_SIZE removed; emofuse: {clock} time at --threads={args.threads})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
