#!/usr/bin/python3
"""Writes tests/metrics/data/fixtures.json: reference values for the emofuse metrics.

References: numpy and scikit-learn (Debian python3-numpy / python3-sklearn), scipy.stats for
the McNemar p-values, and a numpy transcription of what MMSA's MetricsTop, MulT's
eval_metrics and MERTools compute. NaN is written as null. Large-N cases are described by a
formula the C++ test regenerates (keeps the file small).

Run: /usr/bin/python3 tests/metrics/generate_fixtures.py
"""
import json
import math
import os
import warnings

import numpy as np
from scipy import stats
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, cohen_kappa_score,
                             confusion_matrix, f1_score, mean_squared_error,
                             precision_recall_fscore_support)

warnings.filterwarnings("ignore")
rng = np.random.default_rng(20240607)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "fixtures.json")


def clean(value):
    value = float(value)
    return None if math.isnan(value) else value


def clean_dict(d):
    return {k: clean(v) for k, v in d.items()}


# ---------------------------------------------------------------- sentiment (MMSA / MulT)
def corr(p, t):
    return np.corrcoef(p, t)[0][1]


def multiclass_acc(p, t):
    return np.sum(np.round(p) == np.round(t)) / float(len(t))


def mosi_mmsa(p, t):
    p7, t7 = np.clip(p, -3.0, 3.0), np.clip(t, -3.0, 3.0)
    p5, t5 = np.clip(p, -2.0, 2.0), np.clip(t, -2.0, 2.0)
    nz = np.array([i for i, e in enumerate(t) if e != 0], dtype=np.int64)
    out = {}
    bt, bp = t >= 0, p >= 0
    out["Has0_acc_2"] = accuracy_score(bp, bt)
    out["Has0_F1_score"] = f1_score(bt, bp, average="weighted")
    if len(nz):
        nt, npred = t[nz] > 0, p[nz] > 0
        out["Non0_acc_2"] = accuracy_score(npred, nt)
        out["Non0_F1_score"] = f1_score(nt, npred, average="weighted")
    else:
        out["Non0_acc_2"] = float("nan")
        out["Non0_F1_score"] = float("nan")
    out["Mult_acc_5"] = multiclass_acc(p5, t5)
    out["Mult_acc_7"] = multiclass_acc(p7, t7)
    out["MAE"] = np.mean(np.absolute(p - t))
    out["Corr"] = corr(p, t)
    return out


def mosi_mult(p, t):
    p7, t7 = np.clip(p, -3.0, 3.0), np.clip(t, -3.0, 3.0)
    p5, t5 = np.clip(p, -2.0, 2.0), np.clip(t, -2.0, 2.0)
    out = {"MAE": np.mean(np.absolute(p - t)), "Corr": corr(p, t),
           "Mult_acc_7": multiclass_acc(p7, t7), "Mult_acc_5": multiclass_acc(p5, t5)}
    nz = np.array([i for i, e in enumerate(t) if e != 0], dtype=np.int64)
    if len(nz):
        out["Acc_2_non0"] = accuracy_score(t[nz] > 0, p[nz] > 0)
        out["F1_non0"] = f1_score(p[nz] > 0, t[nz] > 0, average="weighted")  # MulT's order
    else:
        out["Acc_2_non0"] = out["F1_non0"] = float("nan")
    out["Acc_2_all"] = accuracy_score(t > 0, p > 0)
    out["F1_all"] = f1_score(p > 0, t > 0, average="weighted")
    true_label, predicted = t > 0, p > 0
    tp = float(np.sum(true_label & predicted))
    tn = float(np.sum(~true_label & ~predicted))
    pos = float(np.sum(true_label))
    neg = float(np.sum(~true_label))
    out["Weighted_acc_2"] = (tp * (neg / pos) + tn) / (2 * neg) if pos and neg else float("nan")
    return out


def sims_bins(x, edges):
    y = x.copy()
    for i in range(len(edges) - 1):
        y[np.logical_and(x > edges[i], x <= edges[i + 1])] = i
    return y


def sims_mmsa(p, t):
    p = np.clip(p, -1.0, 1.0)
    t = np.clip(t, -1.0, 1.0)
    e2, e3, e5 = [-1.01, 0.0, 1.01], [-1.01, -0.1, 0.1, 1.01], [-1.01, -0.7, -0.1, 0.1, 0.7, 1.01]
    p2, t2 = sims_bins(p, e2), sims_bins(t, e2)
    p3, t3 = sims_bins(p, e3), sims_bins(t, e3)
    p5, t5 = sims_bins(p, e5), sims_bins(t, e5)
    return {"Mult_acc_2": multiclass_acc(p2, t2), "Mult_acc_3": multiclass_acc(p3, t3),
            "Mult_acc_5": multiclass_acc(p5, t5), "F1_score": f1_score(t2, p2, average="weighted"),
            "MAE": np.mean(np.absolute(p - t)), "Corr": corr(p, t)}


def regression(p, t):
    p64, t64 = p.astype(np.float64), t.astype(np.float64)
    mse = np.mean((p - t) ** 2)
    out = {"mae": np.mean(np.absolute(p - t)), "mse": mse, "rmse": np.sqrt(mse), "pearson": corr(p, t)}
    for ddof in (0, 1):
        if len(p64) - ddof <= 0:
            out[f"ccc_ddof{ddof}"] = float("nan")
            continue
        vx, vy = np.var(p64, ddof=ddof), np.var(t64, ddof=ddof)
        cov = np.sum((p64 - p64.mean()) * (t64 - t64.mean())) / (len(p64) - ddof)
        den = vx + vy + (p64.mean() - t64.mean()) ** 2
        out[f"ccc_ddof{ddof}"] = 2 * cov / den if den > 0 else float("nan")
    return out


def f32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def sentiment_case(name, dataset, truth, pred):
    truth, pred = f32(truth), f32(pred)  # exactly representable in float32
    case = {"name": name, "dataset": dataset, "truth": truth.tolist(), "pred": pred.tolist()}
    fns = {"mmsa": sims_mmsa} if dataset == "sims" else {"mmsa": mosi_mmsa, "mult": mosi_mult}
    case["expected64"] = {k: clean_dict(f(pred, truth)) for k, f in fns.items()}
    case["expected32"] = {k: clean_dict(f(pred.astype(np.float32), truth.astype(np.float32)))
                          for k, f in fns.items()}
    case["regression64"] = clean_dict(regression(pred, truth))
    case["regression32"] = clean_dict(regression(pred.astype(np.float32), truth.astype(np.float32)))
    return case


def mosi_truth(n):
    return rng.integers(-9, 10, n) / 3.0


sentiment = []
n = 400
sentiment.append(sentiment_case("mosi_random", "mosi", mosi_truth(n), rng.normal(0, 1.6, n)))
ties = np.array([-3.5, -2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 3.5, -0.0, 0.5, 2.5, -2.5, 1.0])
sentiment.append(sentiment_case("mosi_ties", "mosei",
                                np.concatenate([ties, rng.permutation(ties)]),
                                np.concatenate([rng.permutation(ties), ties])))
sentiment.append(sentiment_case("mosi_beyond_clip", "mosi", rng.uniform(-6, 6, 60),
                                rng.uniform(-6, 6, 60)))
sentiment.append(sentiment_case("mosi_constant_pred", "mosi", mosi_truth(50), np.full(50, 0.7)))
sentiment.append(sentiment_case("mosi_exact_zeros", "mosi",
                                np.array([0.0, 0.0, 1.0, -1.0, 0.0, 2.0, -2.0, 0.0]),
                                np.array([0.0, 0.3, 0.0, 0.0, -0.1, 2.0, 0.0, 0.0])))
sentiment.append(sentiment_case("mosi_single", "mosi", np.array([1.5]), np.array([0.5])))
sentiment.append(sentiment_case("mosi_all_zero_truth", "mosi", np.zeros(6),
                                np.array([0.1, -0.2, 0.0, 0.3, 0.5, -0.5])))
sims_edges = np.array([-1.0, -0.7, -0.1, 0.0, 0.1, 0.7, 1.0, -1.5, 1.5])
sentiment.append(sentiment_case("sims_random", "sims", rng.integers(-5, 6, 300) / 5.0,
                                rng.uniform(-1.3, 1.3, 300)))
sentiment.append(sentiment_case("sims_edges", "sims",
                                np.concatenate([sims_edges, rng.permutation(sims_edges)]),
                                np.concatenate([rng.permutation(sims_edges), sims_edges])))
sentiment.append(sentiment_case("sims_single", "sims", np.array([0.4]), np.array([0.2])))


# Large N from a formula the C++ test regenerates exactly:
# t_i = (((i * 2654435761) mod 2^32) mod 19 - 9) / 3,
# p_i = 0.75 t_i + ((i * 40503) mod 65536) / 16384 - 2, both then rounded to float32.
def formula(n):
    i = np.arange(n, dtype=np.uint64)
    t = ((((i * np.uint64(2654435761)) % np.uint64(2**32)) % np.uint64(19)).astype(np.float64) - 9.0) / 3.0
    p = 0.75 * t + (((i * np.uint64(40503)) % np.uint64(65536)).astype(np.float64) / 16384.0 - 2.0)
    return f32(t), f32(p)


large_n = 200003
t_large, p_large = formula(large_n)
large = {"name": "mosi_large_formula", "n": large_n,
         "expected64": {"mmsa": clean_dict(mosi_mmsa(p_large, t_large)),
                        "mult": clean_dict(mosi_mult(p_large, t_large))},
         "regression64": clean_dict(regression(p_large, t_large))}


# ---------------------------------------------------------------- classification
def classification_case(name, k, truth, pred):
    truth = np.asarray(truth, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    out = {"accuracy": accuracy_score(truth, pred), "uar": balanced_accuracy_score(truth, pred)}
    for avg in ("macro", "micro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(truth, pred, average=avg, zero_division=0)
        out[f"{avg}_precision"], out[f"{avg}_recall"], out[f"{avg}_f1"] = p, r, f
    out["kappa"] = cohen_kappa_score(truth, pred)
    labels = list(range(k))
    pc = precision_recall_fscore_support(truth, pred, labels=labels, average=None, zero_division=0)
    confusion = {norm or "none": confusion_matrix(truth, pred, labels=labels, normalize=norm).ravel().tolist()
                 for norm in (None, "true", "pred", "all")}
    case = {"name": name, "num_classes": k, "truth": truth.tolist(), "pred": pred.tolist(),
            "expected": clean_dict(out),
            "per_class": {"precision": pc[0].tolist(), "recall": pc[1].tolist(), "f1": pc[2].tolist()},
            "confusion": confusion,
            "f1_weighted_by_prediction": f1_score(pred, truth, average="weighted"),
            "macro_recall_includes_pred_only": clean(
                precision_recall_fscore_support(truth, pred, average="macro", zero_division=0)[1])}
    return case


classification = []
t7 = rng.integers(0, 7, 300)
p7 = np.where(rng.random(300) < 0.55, t7, rng.integers(0, 7, 300))
classification.append(classification_case("random_k7", 7, t7, p7))
t4 = rng.integers(0, 4, 120)
p4 = np.where(rng.random(120) < 0.6, t4, rng.integers(0, 3, 120))  # class 3 rarely predicted
p4[p4 == 3] = 0
classification.append(classification_case("class_missing_from_pred", 4, t4, p4))
t5 = rng.integers(0, 4, 80)
p5 = rng.integers(0, 5, 80)  # class 4 occurs only in predictions
classification.append(classification_case("class_only_in_pred", 5, t5, p5))
t6 = rng.integers(0, 6, 90)
p6 = rng.integers(0, 6, 90)
classification.append(classification_case("random_k6_absent_class", 8, t6, p6))  # classes 6,7 absent
classification.append(classification_case("single_sample", 3, [2], [1]))
classification.append(classification_case("constant_pred", 4, rng.integers(0, 4, 40), np.full(40, 2)))
classification.append(classification_case("both_constant", 3, [1, 1, 1], [1, 1, 1]))
tb = rng.integers(0, 2, 200)
classification.append(classification_case("binary", 2, tb, np.where(rng.random(200) < 0.7, tb, 1 - tb)))

# MER2023 (MERTools): discrete emotions + valence
mer_t = rng.integers(0, 6, 150)
mer_p = np.where(rng.random(150) < 0.5, mer_t, rng.integers(0, 6, 150))
val_t = f32(rng.uniform(-5, 5, 150))
val_p = f32(val_t + rng.normal(0, 1.2, 150))
fscore = f1_score(mer_t, mer_p, average="weighted")
valmse = mean_squared_error(val_t, val_p)
mer2023 = {"truth": mer_t.tolist(), "pred": mer_p.tolist(), "val_truth": val_t.tolist(),
           "val_pred": val_p.tolist(),
           "expected": {"emofscore": fscore, "emoacc": accuracy_score(mer_t, mer_p),
                        "valmse": valmse, "overall": fscore - valmse * 0.25}}

# MulT IEMOCAP: per-emotion binary decisions (argmax over 2 logits per emotion)
logits = rng.normal(0, 1, (60, 4, 2))
labels = rng.integers(0, 2, (60, 4))
iemocap_mult = {"logits": logits.reshape(60, 8).tolist(), "truth": labels.tolist(), "expected": {}}
for e, emo in enumerate(["Neutral", "Happy", "Sad", "Angry"]):
    pred_e = np.argmax(logits[:, e], axis=1)
    iemocap_mult["expected"][f"{emo}_acc"] = accuracy_score(labels[:, e], pred_e)
    iemocap_mult["expected"][f"{emo}_f1"] = f1_score(labels[:, e], pred_e, average="weighted")


# ---------------------------------------------------------------- open vocabulary
def ov_reference(truth_sets, pred_sets, tables):
    out = {"precision": 0.0, "recall": 0.0, "mer_ov_score": 0.0, "f_score": 0.0}
    for table in tables:
        ps, rs = [], []
        for g_words, p_words in zip(truth_sets, pred_sets):
            g = {table.get(w.strip().lower(), w.strip().lower()) for w in g_words if w.strip()}
            p = {table.get(w.strip().lower(), w.strip().lower()) for w in p_words if w.strip()}
            if not g:
                continue
            common = len(g & p)
            ps.append(common / len(p) if p else 0.0)
            rs.append(common / len(g))
        P, R = float(np.mean(ps)), float(np.mean(rs))
        out["precision"] += P / len(tables)
        out["recall"] += R / len(tables)
        out["mer_ov_score"] += (P + R) / 2 / len(tables)
        out["f_score"] += (2 * P * R / (P + R) if P + R > 0 else 0.0) / len(tables)
    return out


ov_tables = [
    {"happy": "joy", "joyful": "joy", "glad": "joy", "angry": "anger", "furious": "anger",
     "sad": "sadness", "upset": "sadness", "worried": "fear", "nervous": "fear"},
    {"happy": "positive", "joyful": "positive", "glad": "positive", "surprised": "positive",
     "angry": "negative", "furious": "negative", "sad": "negative", "upset": "negative",
     "worried": "negative", "nervous": "negative"},
]
ov_truth = [["Happy", "surprised"], ["angry"], ["sad", "worried", "upset"], [], ["calm"],
            ["nervous"], ["glad", "joyful"], ["furious", " Sad "]]
ov_pred = [["joyful"], ["furious", "sad"], [], ["happy"], ["calm", "relaxed"],
           ["worried", "nervous", "angry"], ["happy"], ["angry"]]
ov = {"tables": [[[w, g] for w, g in t.items()] for t in ov_tables], "truth": ov_truth,
      "pred": ov_pred, "expected_first": ov_reference(ov_truth, ov_pred, ov_tables[:1]),
      "expected_both": ov_reference(ov_truth, ov_pred, ov_tables)}


# ---------------------------------------------------------------- McNemar (scipy.stats)
mcnemar = []
for b, c in [(0, 0), (3, 0), (5, 9), (12, 30), (100, 80), (1000, 1100), (7, 7), (1, 2)]:
    k = min(b, c)
    exact = min(1.0, 2 * stats.binom.cdf(k, b + c, 0.5)) if b + c else 1.0
    chi = ((abs(b - c) - 1) ** 2 / (b + c)) if b + c else 0.0
    mcnemar.append({"b": b, "c": c, "exact_statistic": float(k) if b + c else 0.0, "exact_p": exact,
                    "chi2_statistic": chi, "chi2_p": float(stats.chi2.sf(chi, 1)) if b + c else 1.0})


# ---------------------------------------------------------------- bootstrap (same RNG)
MASK = (1 << 64) - 1


class SplitMix:
    def __init__(self, state):
        self.state = state & MASK

    def __call__(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def resample_counts(n, seed, r):
    seeder = SplitMix(seed)
    gen = SplitMix(seeder() ^ ((0xD1B54A32D192ED03 * (r + 1)) & MASK))
    gen()
    w = np.zeros(n, dtype=np.int64)
    for _ in range(n):
        w[(gen() * n) >> 64] += 1
    return w


boot_n, boot_r, boot_seed = 64, 40, 12345
boot_t = rng.integers(0, 4, boot_n)
boot_p = np.where(rng.random(boot_n) < 0.6, boot_t, rng.integers(0, 4, boot_n))
values = []
first_weights = None
for r in range(boot_r):
    w = resample_counts(boot_n, boot_seed, r)
    if first_weights is None:
        first_weights = w.tolist()
    idx = np.repeat(np.arange(boot_n), w)
    values.append(f1_score(boot_t[idx], boot_p[idx], average="weighted"))
bootstrap = {"n": boot_n, "resamples": boot_r, "seed": boot_seed, "confidence": 0.9,
             "truth": boot_t.tolist(), "pred": boot_p.tolist(), "num_classes": 4,
             "first_weights": first_weights,
             "ci": [float(np.percentile(values, 5.0)), float(np.percentile(values, 95.0))]}

fixtures = {"sentiment": sentiment, "sentiment_large": large, "classification": classification,
            "mer2023": mer2023, "iemocap_mult": iemocap_mult, "ov": ov, "mcnemar": mcnemar,
            "bootstrap": bootstrap}
with open(OUT, "w") as f:
    json.dump(fixtures, f, indent=None, separators=(",", ":"))
print(f"wrote {OUT}: {os.path.getsize(OUT)} bytes")
