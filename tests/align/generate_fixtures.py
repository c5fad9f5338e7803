#!/usr/bin/env python3
"""Independent reference for emofuse's alignment module; writes tests/align/data/.

The interval alignment below is written directly from the CMU-MultimodalSDK semantics
(docs/reference.md, "Alignment"), the straightforward O(words x frames) way: every reference row
scans every frame of the video. It is deliberately naive so that it can serve as a check.

Run with Debian's python3 (numpy + h5py):  /usr/bin/python3 tests/align/generate_fixtures.py
"""
import json
import math
import os

import h5py
import numpy as np

EPS = 1e-5
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

# The SDK's metadata keys, including the literal produced by a missing comma in its list.
METADATA_KEYS = [
    "root name", "computational sequence description", "computational sequence version",
    "alignment compatible", "dataset name", "dataset version", "creator", "contact",
    "featureset bib citation", "dataset bib citation", "dimension names",
    "dimension namescomputational sequence version",
]


# ----------------------------------------------------------------------------- reference
def video_id(key):
    return key.split("[")[0]


def intersect(ref, intervals):
    """Indices (sorted order) and clipped intervals of frames kept for reference row ref."""
    kept, clipped = [], []
    for j in range(intervals.shape[0]):
        s0, s1 = intervals[j]
        if ref[1] - s0 > -EPS and s1 - ref[0] > -EPS:
            c0, c1 = max(s0, ref[0]), min(s1, ref[1])
            if abs(c0 - c1) > EPS:
                kept.append(j)
                clipped.append([c0, c1])
    return kept, np.array(clipped, dtype=np.float64).reshape(-1, 2)


def collapse_one(name, clipped, feats):
    f = feats.astype(np.float64)
    if name == "mean":
        return f.mean(axis=0)
    if name == "weighted_mean":
        return np.average(f, axis=0, weights=clipped[:, 1] - clipped[:, 0])
    if name == "max":
        return f.max(axis=0)
    if name == "min":
        return f.min(axis=0)
    if name == "std":
        return f.std(axis=0)
    if name == "first":
        return f[0]
    if name == "last":
        return f[-1]
    raise ValueError(name)


def make_entry(clipped, feats, collapse, dtype):
    if not collapse:
        return clipped.copy(), feats.astype(dtype)
    interval = np.array([[clipped.min(), clipped.max()]])
    out = np.concatenate([collapse_one(c, clipped, feats) for c in collapse])
    return interval, out[None, :].astype(dtype)


def align(seqs, reference, collapse, impute):
    """seqs: list of dict(name, dtype, dim, entries={key: (intervals, features)})."""
    ids = [set(video_id(k) for k in s["entries"]) for s in seqs]
    valid = set.intersection(*ids)
    removed = sorted(set.union(*ids) - valid)
    out = [dict(name=s["name"], entries={}) for s in seqs]
    ref_i = [s["name"] for s in seqs].index(reference)
    ref = seqs[ref_i]
    # Other sequences: concatenate keys of one id in byte-wise key order, stable sort by start.
    grouped = []
    for s in seqs:
        g = {}
        for key in sorted(s["entries"], key=lambda k: k.encode()):
            vid = video_id(key)
            if vid not in valid:
                continue
            iv, ft = s["entries"][key]
            g.setdefault(vid, ([], []))
            g[vid][0].append(iv)
            g[vid][1].append(ft)
        for vid in g:
            iv = np.concatenate(g[vid][0], axis=0)
            ft = np.concatenate(g[vid][1], axis=0)
            order = sorted(range(iv.shape[0]), key=lambda x: iv[x, 0])
            g[vid] = (iv[order], ft[order])
        grouped.append(g)
    for ref_key in sorted(ref["entries"], key=lambda k: k.encode()):
        if video_id(ref_key) not in valid:
            continue
        riv, rft = ref["entries"][ref_key]
        for i in range(riv.shape[0]):
            r = riv[i]
            if abs(r[0] - r[1]) < EPS:
                continue
            key = "%s[%d]" % (ref_key, i)
            for s_i, s in enumerate(seqs):
                if s_i == ref_i:
                    clipped, feats = riv[i][None, :], rft[i][None, :]
                else:
                    iv, ft = grouped[s_i][video_id(ref_key)]
                    kept, clipped = intersect(r, iv)
                    if not kept:
                        continue
                    feats = ft[kept]
                out[s_i]["entries"][key] = make_entry(clipped, feats, collapse, s["dtype"])
    if impute:
        for s_i, s in enumerate(seqs):
            if s_i == ref_i:
                continue
            width = s["dim"] * (len(collapse) if collapse else 1)
            for key, (iv, _) in out[ref_i]["entries"].items():
                if key not in out[s_i]["entries"]:
                    out[s_i]["entries"][key] = (iv.copy(), np.zeros((iv.shape[0], width), s["dtype"]))
    return out, removed


def segment_key(key):
    prefix, _, tail = key.rpartition("[")
    return (prefix.encode(), int(tail[:-1]))


def get_tensors(aligned, seq_len, right):
    keys = [k for k in aligned[0]["entries"] if all(k in a["entries"] for a in aligned)]
    keys.sort(key=segment_key)
    out = []
    for a in aligned:
        rows = []
        for k in keys:
            f = a["entries"][k][1].astype(np.float64)
            z = np.zeros([seq_len] + list(f.shape[1:]))
            rows.append(np.concatenate([f, z])[:seq_len] if right else np.concatenate([z, f])[-seq_len:])
        out.append(np.array(rows))
    return keys, out


# ----------------------------------------------------------------------------- data
def f32(x):
    return np.asarray(x, dtype=np.float32)


def build_dataset(rng):
    """Edge cases: unsorted stored rows, zero-length and sub-epsilon reference rows, frames
    touching a boundary exactly, frames spanning several words, ids with '[', a video
    missing from one modality, a word with no overlapping frame."""
    words, audio, visual, labels = {}, {}, {}, {}
    # vidA: words stored out of order, one zero-length word, one sub-epsilon word.
    w_iv = np.array([[0.5, 1.0], [0.0, 0.5], [1.0, 1.0], [1.0, 1.000004], [1.0, 1.73],
                     [2.2, 3.0], [1.9, 2.2], [3.0, 3.0000201]])
    words["vidA"] = (w_iv, rng.standard_normal((w_iv.shape[0], 3)))
    # audio: 10 ms frames, stored unsorted (shuffled) - ends touch word boundaries exactly.
    starts = np.round(np.arange(0.0, 3.2, 0.1), 10)
    a_iv = np.stack([starts, starts + 0.1], axis=1)
    perm = rng.permutation(a_iv.shape[0])
    audio["vidA"] = (a_iv[perm], f32(rng.standard_normal((a_iv.shape[0], 4)))[perm])
    # visual: long overlapping frames spanning several words, plus a zero-length frame.
    v_iv = np.array([[0.0, 1.2], [0.9, 2.5], [2.5, 2.5], [2.4, 3.1], [0.3, 0.35]])
    visual["vidA"] = (v_iv, rng.standard_normal((v_iv.shape[0], 2)))
    labels["vidA"] = (np.array([[0.0, 1.5], [1.5, 3.1]]), f32([[0.5], [-1.25]]))

    # vidB: other sequences split into keys 'vidB[0]', 'vidB[1]', 'vidB[10]', concatenated
    # in byte-wise key order and then stable-sorted by start (three rows start at 0.5).
    # The labels' reference key 'vidB[0]' itself holds a '[' (aligned as 'vidB[0][0]').
    w_iv = np.array([[0.0, 0.4], [0.4, 0.8], [0.8, 1.6], [1.6, 2.0]])
    words["vidB"] = (w_iv, rng.standard_normal((4, 3)))
    audio["vidB[0]"] = (np.array([[0.0, 0.5], [0.5, 1.0]]), f32(rng.standard_normal((2, 4))))
    audio["vidB[1]"] = (np.array([[1.0, 1.5], [0.5, 0.9]]), f32(rng.standard_normal((2, 4))))
    audio["vidB[10]"] = (np.array([[0.5, 0.7], [1.5, 2.0]]), f32(rng.standard_normal((2, 4))))
    visual["vidB"] = (np.array([[0.0, 2.0]]), rng.standard_normal((1, 2)))
    labels["vidB[0]"] = (np.array([[0.0, 2.0]]), f32([[2.0]]))

    # vidC: missing from visual -> removed everywhere (and 'vidC2' must survive: exact ids).
    words["vidC"] = (np.array([[0.0, 1.0]]), rng.standard_normal((1, 3)))
    audio["vidC"] = (np.array([[0.0, 1.0]]), f32(rng.standard_normal((1, 4))))
    labels["vidC"] = (np.array([[0.0, 1.0]]), f32([[1.0]]))
    for seq, d, f in ((words, 3, np.float64), (audio, 4, np.float32), (visual, 2, np.float64),
                      (labels, 1, np.float32)):
        seq["vidC2"] = (np.array([[0.0, 1.0], [1.0, 2.0]]), rng.standard_normal((2, d)).astype(f))

    # vidD: a word with no visual frame (empty overlap) and one that only touches a frame.
    words["vidD"] = (np.array([[0.0, 1.0], [5.0, 6.0], [2.0, 3.0]]), rng.standard_normal((3, 3)))
    audio["vidD"] = (np.array([[0.0, 3.0]]), f32(rng.standard_normal((1, 4))))
    visual["vidD"] = (np.array([[0.0, 1.0], [3.0, 4.0], [6.0, 7.0]]), rng.standard_normal((3, 2)))
    labels["vidD"] = (np.array([[0.0, 7.0]]), f32([[0.0]]))

    # vidR: random frames on a 0.05 grid (many exact touches, duplicates, equal starts).
    n = 40
    s = np.round(rng.integers(0, 60, n) * 0.05, 10)
    ln = np.round(rng.integers(0, 8, n) * 0.05, 10)
    audio["vidR"] = (np.stack([s, s + ln], 1), f32(rng.standard_normal((n, 4))))
    s = np.round(rng.integers(0, 60, 12) * 0.05, 10)
    ln = np.round(rng.integers(1, 20, 12) * 0.05, 10)
    visual["vidR"] = (np.stack([s, s + ln], 1), rng.standard_normal((12, 2)))
    s = np.round(np.sort(rng.integers(0, 60, 15)) * 0.05, 10)
    ln = np.round(rng.integers(0, 6, 15) * 0.05, 10)
    words["vidR"] = (np.stack([s, s + ln], 1), rng.standard_normal((15, 3)))
    labels["vidR"] = (np.array([[0.0, 1.5], [1.5, 3.5]]), f32([[0.25], [0.75]]))

    def seq(name, entries, dtype, dim):
        return dict(name=name, dtype=dtype, dim=dim,
                    entries={k: (np.asarray(iv, np.float64), np.asarray(f, dtype)) for k, (iv, f) in entries.items()})

    return [seq("words", words, np.float64, 3), seq("audio", audio, np.float32, 4),
            seq("visual", visual, np.float64, 2), seq("labels", labels, np.float32, 1)]


# ----------------------------------------------------------------------------- output
def num(x):
    return float(x)


def entries_json(entries):
    return {k: {"intervals": [[num(v) for v in row] for row in iv],
                "features": [[num(v) for v in row] for row in ft]} for k, (iv, ft) in entries.items()}


def seq_json(s):
    return {"name": s["name"], "dtype": np.dtype(s["dtype"]).name, "feature_size": s["dim"],
            "entries": entries_json(s["entries"])}


def write_csd(path, s, compress):
    with h5py.File(path, "w") as f:
        root = f.create_group(s["name"])
        data = root.create_group("data")
        for key, (iv, ft) in s["entries"].items():
            g = data.create_group(key)
            kw = dict(compression="gzip", compression_opts=9) if compress else {}
            g.create_dataset("features", data=ft, **kw)
            g.create_dataset("intervals", data=iv, **kw)
        meta = root.create_group("metadata")
        for k in METADATA_KEYS:
            value = s["name"] if k == "root name" else "test fixture " + k
            ds = meta.create_dataset(k, (1,), dtype=h5py.special_dtype(vlen=str))
            ds[0] = json.dumps(value)


def main():
    os.makedirs(DATA, exist_ok=True)
    rng = np.random.default_rng(20240607)
    seqs = build_dataset(rng)
    cases = []
    specs = [
        ("words", [], False),
        ("words", ["mean"], False),
        ("words", ["mean", "weighted_mean", "max", "min", "std", "first", "last"], True),
        ("labels", ["mean"], True),
        ("visual", [], True),
        ("audio", ["mean", "std"], False),
    ]
    for reference, collapse, impute in specs:
        aligned, removed = align(seqs, reference, collapse, impute)
        case = {"reference": reference, "collapse": collapse, "impute": impute,
                "removed": removed,
                "expected": [{"name": a["name"], "entries": entries_json(a["entries"])} for a in aligned]}
        if collapse:
            for right in (False, True):
                keys, tensors = get_tensors(aligned, 3, right)
                case["tensors_" + ("right" if right else "left")] = {
                    "seq_len": 3, "keys": keys,
                    "values": [[[[num(v) for v in step] for step in sample] for sample in t] for t in tensors]}
        cases.append(case)
    with open(os.path.join(DATA, "interval_align.json"), "w") as out:
        json.dump({"sequences": [seq_json(s) for s in seqs], "cases": cases}, out)
    # The same sequences as .csd files (audio and labels gzip-compressed, the rest not).
    for s in seqs:
        write_csd(os.path.join(DATA, s["name"] + ".csd"), s, compress=s["name"] in ("audio", "labels"))
    write_bad_files(seqs)
    write_ops(np.random.default_rng(7))


# ----------------------------------------------------------------------------- other ops
def pool_mmsa(x, L):
    """MMSA AlignSubNet avg_pool, transcribed with numpy."""
    T = x.shape[1]
    if T == L:
        return x
    if T % L == 0:
        pad, pool = 0, T // L
    else:
        pad, pool = L - T % L, T // L + 1
    padded = np.concatenate([x, np.repeat(x[:, -1:, :], pad, axis=1)], axis=1)
    return padded.reshape(x.shape[0], pool, L, x.shape[2]).mean(axis=1)


def pool_mertools(x, L):
    T = x.shape[1]
    pool = -(-T // L)
    front = np.zeros((x.shape[0], pool * L - T, x.shape[2]))
    padded = np.concatenate([front, x], axis=1)
    return padded.reshape(x.shape[0], L, pool, x.shape[2]).mean(axis=2)


def resample_one(x, m, method):
    n = x.shape[0]
    out = np.zeros((m, x.shape[1]))
    scale = n / m
    for i in range(m):
        if method == "nearest":
            out[i] = x[min(n - 1, int(math.floor(i * scale)))]
        else:
            pos = max(0.0, (i + 0.5) * scale - 0.5)
            i0 = min(n - 1, int(pos))
            i1 = min(n - 1, i0 + 1)
            w1 = pos - i0
            out[i] = (1 - w1) * x[i0] + w1 * x[i1]
    return out


def resample(x, lengths, targets, method):
    M = max(targets)
    out = np.zeros((x.shape[0], M, x.shape[2]))
    lens = []
    for b, (n, m) in enumerate(zip(lengths, targets)):
        if n == 0:
            lens.append(0)
            continue
        out[b, :m] = resample_one(x[b, :n], m, method)
        lens.append(m)
    return out, lens


def dtw_reference(a, b, dist, band):
    n, m = len(a), len(b)

    def allowed(i, j):
        if band is None:
            return True
        if n <= m:
            return i - band <= j <= i + (m - n + band)
        return i - (n - m + band) <= j <= i + band

    def d(x, y):
        if dist == "euclidean":
            return float(np.sqrt(((x - y) ** 2).sum()))
        if dist == "sqeuclidean":
            return float(((x - y) ** 2).sum())
        nx, ny = np.linalg.norm(x), np.linalg.norm(y)
        return 1.0 if nx == 0 or ny == 0 else float(1 - x @ y / (nx * ny))

    D = np.full((n, m), np.inf)
    for i in range(n):
        for j in range(m):
            if not allowed(i, j):
                continue
            prev = 0.0 if i == 0 and j == 0 else min(
                D[i - 1, j - 1] if i and j else np.inf, D[i - 1, j] if i else np.inf,
                D[i, j - 1] if j else np.inf)
            D[i, j] = d(a[i], b[j]) + prev
    i, j = n - 1, m - 1
    path = [(i, j)]
    while i or j:
        cands = []
        if i and j:
            cands.append((D[i - 1, j - 1], i - 1, j - 1))
        if i:
            cands.append((D[i - 1, j], i - 1, j))
        if j:
            cands.append((D[i, j - 1], i, j - 1))
        best = cands[0]
        for c in cands[1:]:
            if c[0] < best[0]:
                best = c
        i, j = best[1], best[2]
        path.append((i, j))
    return float(D[-1, -1]), path[::-1]


def contrastive_reference(a, b, tau):
    import torch
    import torch.nn.functional as F
    ta, tb = torch.tensor(a), torch.tensor(b)
    sim = F.normalize(ta, dim=1) @ F.normalize(tb, dim=1).T
    target = torch.arange(len(a))
    nce = F.cross_entropy(sim / tau, target).item()
    clip = 0.5 * (F.cross_entropy(sim / tau, target) + F.cross_entropy(sim.T / tau, target)).item()
    return sim.numpy(), nce, clip


def arr(x):
    return np.asarray(x, dtype=np.float64).tolist()


def write_ops(rng):
    ops = {}
    pools = []
    for T, L in ((7, 3), (7, 7), (7, 10), (7, 2), (6, 3), (1, 4)):
        x = rng.standard_normal((2, T, 3))
        pools.append({"x": arr(x), "target": L, "mmsa": arr(pool_mmsa(x, L)),
                      "mertools": arr(pool_mertools(x, L))})
    ops["length_pool"] = pools

    import torch
    import torch.nn.functional as F
    res = []
    x = rng.standard_normal((3, 8, 2))
    lengths = [8, 5, 0]
    for method in ("nearest", "linear"):
        for target in (4, 11, 8):
            out, lens = resample(x, lengths, [target] * 3, method)
            # Cross-check with torch.nn.functional.interpolate on each non-empty sample.
            for b, n in enumerate(lengths):
                if n:
                    t = torch.tensor(x[b, :n].T[None])
                    kw = {} if method == "nearest" else {"align_corners": False}
                    want = F.interpolate(t, size=target, mode=method, **kw)[0].numpy().T
                    assert np.allclose(want, out[b, :target], atol=1e-12), (method, target, b)
            res.append({"mode": "length", "method": method, "target": target,
                        "values": arr(out), "lengths": lens})
        for rate_in, rate_out in ((100.0, 30.0), (30.0, 100.0)):
            targets = [0 if n == 0 else max(1, int(math.floor(n * rate_out / rate_in))) for n in lengths]
            out, lens = resample(x, lengths, targets, method)
            res.append({"mode": "rate", "method": method, "rate_in": rate_in, "rate_out": rate_out,
                        "values": arr(out), "lengths": lens})
    ops["resample"] = {"x": arr(x), "lengths": lengths, "cases": res}

    w = rng.random((4, 6))
    wb = rng.random((2, 4, 6))
    xs = rng.standard_normal((2, 6, 3))
    ops["soft_align"] = {"weights": arr(w), "batched_weights": arr(wb), "x": arr(xs),
                         "shared": arr(np.einsum("ij,bjd->bid", w, xs)),
                         "per_sample": arr(np.einsum("bij,bjd->bid", wb, xs))}

    a = rng.standard_normal((7, 5))
    b = rng.standard_normal((5, 5))
    b[2] = 0.0  # a zero frame (cosine distance 1)
    cases = []
    for first, second in ((a, b), (b, a), (a, a[::-1].copy())):
        for dist in ("euclidean", "sqeuclidean", "cosine"):
            for band in (None, 0, 1, 3):
                cost, path = dtw_reference(first, second, dist, band)
                cases.append({"a": arr(first), "b": arr(second), "distance": dist, "band": band,
                              "cost": cost, "path": path})
    ops["dtw"] = cases

    ca = rng.standard_normal((5, 4))
    cb = ca + 0.5 * rng.standard_normal((5, 4))
    sim, nce, clip = contrastive_reference(ca, cb, 0.07)
    za = ca.copy()
    za[1] = 0.0
    zsim, _, _ = contrastive_reference(za, cb, 0.07)
    ops["contrastive"] = {"a": arr(ca), "b": arr(cb), "temperature": 0.07, "similarity": arr(sim),
                          "info_nce": nce, "clip": clip, "a_zero_row": arr(za), "similarity_zero_row": arr(zsim)}

    lengths = [5, 3, 0, 7]
    np.random.seed(1111)
    u = np.random.uniform(size=(4, 7))
    input_mask = (np.arange(7)[None, :] < np.array(lengths)[:, None]).astype(np.uint8)
    frame = (u > 0.3) * input_mask
    ends = frame.copy()
    for i, n in enumerate(lengths):
        if n:
            ends[i, 0] = ends[i, n - 1] = 1
    np.random.seed(7)
    modality = (np.random.uniform(size=(6, 3)) > 0.5).astype(np.uint8)
    np.random.seed(0)
    first0 = np.random.uniform(size=5)
    np.random.seed(2 ** 32 - 1)
    first_max = np.random.uniform(size=5)
    ops["missing"] = {"lengths": lengths, "time": 7, "rate": 0.3, "seed": 1111,
                      "frame_mask": frame.tolist(), "frame_mask_keep_ends": ends.tolist(),
                      "modality_mask": modality.tolist(), "uniform_seed0": first0.tolist(),
                      "uniform_seed_max": first_max.tolist()}
    with open(os.path.join(DATA, "ops.json"), "w") as out:
        json.dump(ops, out)


def write_last_video_bad(bad, seqs):
    """visual.csd whose last video's first interval ends before it starts: a run over
    words/audio/visual fails only where that video is aligned (emofuse-mpi-align's
    failing-rank test: it lands in the last rank's shard)."""
    visual = next(s for s in seqs if s["name"] == "visual")
    entries = dict(visual["entries"])
    last = sorted(entries)[-1]
    iv, ft = entries[last]
    iv = np.array(iv, copy=True)
    iv[0, 1] = iv[0, 0] - 1.0
    entries[last] = (iv, ft)
    write_csd(os.path.join(bad, "last_video_end_before_start.csd"), dict(visual, entries=entries),
              compress=True)


def write_bad_files(seqs):
    """Malformed .csd files for the reader's error tests; also the fuzzer's seed corpus."""
    bad = os.path.join(DATA, "bad")
    os.makedirs(bad, exist_ok=True)

    def sequence(entries):
        return dict(name="audio", dtype=np.float64, dim=2, entries=entries)

    ok_iv, ok_ft = np.array([[0.0, 1.0], [1.0, 2.0]]), np.ones((2, 2))
    write_csd(os.path.join(bad, "tiny_valid.csd"), sequence({"v": (ok_iv, ok_ft)}), compress=True)
    write_csd(os.path.join(bad, "end_before_start.csd"),
              sequence({"v": (np.array([[0.0, 1.0], [2.0, 1.0]]), ok_ft)}), compress=False)
    write_csd(os.path.join(bad, "nan_time.csd"),
              sequence({"v": (np.array([[0.0, 1.0], [np.nan, 1.0]]), ok_ft)}), compress=True)
    write_csd(os.path.join(bad, "row_mismatch.csd"),
              sequence({"v": (ok_iv, np.ones((3, 2)))}), compress=False)
    write_csd(os.path.join(bad, "interval_columns.csd"),
              sequence({"v": (np.ones((2, 3)), ok_ft)}), compress=False)
    with h5py.File(os.path.join(bad, "rank1_intervals.csd"), "w") as f:
        g = f.create_group("audio/data/v")
        g.create_dataset("intervals", data=np.arange(4.0))
        g.create_dataset("features", data=ok_ft)
    with h5py.File(os.path.join(bad, "missing_data.csd"), "w") as f:
        f.create_group("audio/metadata")
    with h5py.File(os.path.join(bad, "missing_features.csd"), "w") as f:
        f.create_group("audio/data/v").create_dataset("intervals", data=ok_iv)
    with h5py.File(os.path.join(bad, "string_features.csd"), "w") as f:
        g = f.create_group("words/data/v")
        g.create_dataset("intervals", data=ok_iv)
        g.create_dataset("features", data=np.array([[b"hello"], [b"world"]]))
    with h5py.File(os.path.join(bad, "no_root.csd"), "w"):
        pass
    write_last_video_bad(bad, seqs)
    with open(os.path.join(DATA, "words.csd"), "rb") as src:
        whole = src.read()
    with open(os.path.join(bad, "truncated.csd"), "wb") as out:
        out.write(whole[: len(whole) // 2])
    with open(os.path.join(bad, "not_hdf5.csd"), "w") as out:
        out.write("this is not an HDF5 file\n")


if __name__ == "__main__":
    main()
