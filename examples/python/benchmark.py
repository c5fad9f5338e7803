#!/usr/bin/env python3
"""emofuse from Python against the Python way of computing the same numbers, in one run:

  1. metrics: emofuse.metrics.mosi vs a restatement of MMSA's MetricsTop (numpy + scikit-learn,
     as MMSA computes MOSI's metrics) on 4,659 samples (the CMU-MOSEI test split's size),
     call overhead included;
  2. alignment: emofuse.align vs the straightforward numpy restatement of the SDK's
     mmdataset.align (each word scans its video's frames, vectorised per word, as the SDK's
     __intersect_and_copy does) on words + 100 Hz audio + 30 Hz video, mean collapse;
  3. streaming: Accumulator("regression").update over 1e7 samples in batches vs a
     torchmetrics-style numpy update (running sums of the same co-moments per batch).

Each check compares the values too. Times are medians of --repeats runs, both sides in this
one process. OpenBLAS's pinned kernels (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) are lifted before
numpy loads, so the numpy side gets this machine's best kernels (emofuse uses no BLAS).

usage: PYTHONPATH=build/<preset>/python /usr/bin/python3 examples/python/benchmark.py
       [--videos 20] [--repeats 5] [--samples 10000000]
"""
import argparse
import os
import statistics
import time

os.environ.pop("OPENBLAS_CORETYPE", None)  # before numpy loads OpenBLAS: its best kernels
os.environ.pop("OPENBLAS_L2_SIZE", None)
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # one thread, as emofuse

import numpy as np  # noqa: E402

import emofuse  # noqa: E402


def median_of(repeats, function):
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


# ------------------------------------------------------------------ 1. MOSI metrics
def mmsa_mosi(pred, truth):
    """MMSA MetricsTop.__eval_mosei_regression restated: numpy + sklearn on the whole arrays."""
    from sklearn.metrics import accuracy_score, f1_score

    def multiclass_acc(y_pred, y_true):
        return np.sum(np.round(y_pred) == np.round(y_true)) / float(len(y_true))

    test_preds, test_truth = pred.reshape(-1), truth.reshape(-1)
    a7_pred, a7_truth = np.clip(test_preds, -3.0, 3.0), np.clip(test_truth, -3.0, 3.0)
    a5_pred, a5_truth = np.clip(test_preds, -2.0, 2.0), np.clip(test_truth, -2.0, 2.0)
    mae = np.mean(np.absolute(test_preds - test_truth)).astype(np.float64)
    corr = np.corrcoef(test_preds, test_truth)[0][1]
    acc7 = multiclass_acc(a7_pred, a7_truth)
    acc5 = multiclass_acc(a5_pred, a5_truth)
    non_zeros = np.array([i for i, e in enumerate(test_truth) if e != 0])
    non_zeros_binary_truth = test_truth[non_zeros] > 0
    non_zeros_binary_preds = test_preds[non_zeros] > 0
    non0_acc2 = accuracy_score(non_zeros_binary_preds, non_zeros_binary_truth)
    non0_f1 = f1_score(non_zeros_binary_truth, non_zeros_binary_preds, average="weighted")
    binary_truth, binary_preds = test_truth >= 0, test_preds >= 0
    acc2 = accuracy_score(binary_preds, binary_truth)
    f1 = f1_score(binary_truth, binary_preds, average="weighted")
    return {"Has0_acc_2": acc2, "Has0_F1_score": f1, "Non0_acc_2": non0_acc2,
            "Non0_F1_score": non0_f1, "Mult_acc_5": acc5, "Mult_acc_7": acc7, "MAE": mae,
            "Corr": corr}


def bench_metrics(repeats):
    rng = np.random.default_rng(0)
    truth = np.round(rng.uniform(-3, 3, 4659) * 3) / 3  # MOSI-style thirds, some exact zeros
    pred = (truth + rng.normal(0, 0.8, truth.size)).astype(np.float32).astype(np.float64)
    t_peer, peer = median_of(repeats, lambda: mmsa_mosi(pred, truth))
    t_ours, ours = median_of(repeats * 20, lambda: emofuse.metrics.mosi(pred, truth))
    for key, value in peer.items():
        assert abs(ours["metrics"][key] - value) < 1e-12, (key, ours["metrics"][key], value)
    return t_peer, t_ours


# ------------------------------------------------------------------ 2. alignment
def make_dataset(videos, seed=1):
    rng = np.random.default_rng(seed)
    words, audio, video = {}, {}, {}
    for v in range(videos):
        duration = 85.0 + 10.0 * rng.random()
        n = 120
        slot = duration / n
        start = np.arange(n) * slot + 0.1 * slot * rng.random(n)
        vid = "video%03d" % v
        words[vid] = {"intervals": np.stack([start, start + slot * (0.4 + 0.5 * rng.random(n))], 1),
                      "features": rng.normal(size=(n, 300)).astype(np.float32)}
        for table, rate, dim in ((audio, 100.0, 74), (video, 30.0, 35)):
            k = np.arange(int(duration * rate))
            table[vid] = {"intervals": np.stack([k / rate, (k + 1) / rate], 1),
                          "features": rng.normal(size=(k.size, dim)).astype(np.float32)}
    return {"words": words, "covarep": audio, "facet": video}


def align_numpy(seqs, reference, eps=1e-5):
    """The SDK's semantics with mean collapse: each reference row scans its video's frames."""
    out = {name: {} for name in seqs}
    ref = seqs[reference]
    valid = set.intersection(*[set(k.split("[")[0] for k in s) for s in seqs.values()])
    for key in sorted(ref):
        if key not in valid:
            continue
        riv, rft = ref[key]["intervals"], ref[key]["features"]
        for i in range(riv.shape[0]):
            r = riv[i]
            if abs(r[0] - r[1]) < eps:
                continue
            seg = "%s[%d]" % (key, i)
            for name, s in seqs.items():
                if name == reference:
                    out[name][seg] = rft[i][None, :].astype(np.float64).mean(axis=0)[None, :]
                    continue
                iv, ft = s[key]["intervals"], s[key]["features"]
                hit = (r[1] - iv[:, 0] > -eps) & (iv[:, 1] - r[0] > -eps)
                clipped = np.stack([np.maximum(iv[hit, 0], r[0]), np.minimum(iv[hit, 1], r[1])], 1)
                keep = np.abs(clipped[:, 0] - clipped[:, 1]) > eps
                if keep.any():
                    out[name][seg] = ft[hit][keep].astype(np.float64).mean(axis=0)[None, :]
    return out


def bench_align(videos, repeats):
    seqs = make_dataset(videos)
    t_peer, peer = median_of(max(1, repeats // 2), lambda: align_numpy(seqs, "words"))
    t_ours, ours = median_of(repeats, lambda: emofuse.align(seqs, "words", ["mean"]))
    for name in seqs:
        assert sorted(ours[name]) == sorted(peer[name]), name
        for key, features in peer[name].items():
            np.testing.assert_allclose(ours[name][key]["features"], features, rtol=1e-5, atol=1e-6)
    return t_peer, t_ours


# ------------------------------------------------------------------ 3. streaming update
class NumpyRegression:
    """torchmetrics-style: per-batch sums into running state (float64)."""

    def __init__(self):
        self.n = self.sx = self.sy = self.sxx = self.syy = self.sxy = self.abs = self.sq = 0.0

    def update(self, pred, truth):
        p, t = pred.astype(np.float64), truth.astype(np.float64)
        d = p - t
        self.n += p.size
        self.sx += p.sum()
        self.sy += t.sum()
        self.sxx += (p * p).sum()
        self.syy += (t * t).sum()
        self.sxy += (p * t).sum()
        self.abs += np.abs(d).sum()
        self.sq += (d * d).sum()

    def compute(self):
        cov = self.sxy / self.n - (self.sx / self.n) * (self.sy / self.n)
        vx = self.sxx / self.n - (self.sx / self.n) ** 2
        vy = self.syy / self.n - (self.sy / self.n) ** 2
        return {"mae": self.abs / self.n, "pearson": cov / np.sqrt(vx * vy)}


def bench_stream(samples, repeats, batch=65536):
    rng = np.random.default_rng(2)
    truth = rng.normal(size=samples).astype(np.float32)
    pred = (truth + rng.normal(size=samples)).astype(np.float32)
    batches = [(pred[i:i + batch], truth[i:i + batch]) for i in range(0, samples, batch)]

    def run(make):
        acc = make()
        for p, t in batches:
            acc.update(p, t)
        return acc

    t_peer, peer = median_of(repeats, lambda: run(NumpyRegression))
    t_ours, ours = median_of(repeats, lambda: run(lambda: emofuse.metrics.Accumulator("regression")))
    got, want = ours.compute()["metrics"], peer.compute()
    assert abs(got["mae"] - want["mae"]) < 1e-9 and abs(got["pearson"] - want["pearson"]) < 1e-6
    return t_peer, t_ours


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=10_000_000)
    args = parser.parse_args()
    rows = [("metrics: mosi, 4,659 samples (vs MMSA MetricsTop restated)",
             bench_metrics(args.repeats)),
            (f"align: {args.videos} videos words+audio+video, mean (vs numpy SDK restatement)",
             bench_align(args.videos, args.repeats)),
            (f"stream: regression update, {args.samples:,} samples (vs numpy sums)",
             bench_stream(args.samples, args.repeats))]
    print(f"{'check':78} {'python':>10} {'emofuse':>10} {'speed-up':>9}")
    for name, (peer, ours) in rows:
        print(f"{name:78} {peer * 1e3:8.2f}ms {ours * 1e3:8.2f}ms {peer / ours:8.1f}x")


if __name__ == "__main__":
    main()
