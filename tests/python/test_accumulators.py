"""Streaming accumulators: batches, merged shards and pickled states give the one-shot result."""
import multiprocessing
import pickle

import numpy as np
import pytest

import emofuse

M = emofuse.metrics
rng = np.random.default_rng(11)


def cases():
    t = rng.uniform(-3, 3, 600)
    p = t + rng.normal(0, 1, 600)
    labels = rng.integers(0, 6, 600)
    guess = np.where(rng.random(600) < 0.6, labels, rng.integers(0, 6, 600))
    binary = rng.integers(0, 2, (600, 4))
    yield "mosi", {}, p, t, {}
    yield "mosei", {"preset": "mult"}, p.astype(np.float32), t.astype(np.float32), {}
    yield "sims", {}, np.clip(p / 3, -1, 1), np.clip(t / 3, -1, 1), {}
    yield "regression", {"preset": "torchmetrics"}, p, t, {}
    yield "classification", {"num_classes": 6}, guess, labels, {}
    yield "classification", {"num_classes": 6}, rng.normal(size=(600, 6)), labels, {}
    yield "meld", {"num_classes": 7}, guess, labels, {}
    yield "mer2024", {}, guess, labels, {}
    yield "iemocap", {"num_classes": 6}, guess, labels, {}
    yield "iemocap", {"preset": "mult"}, rng.normal(size=(600, 8)), binary, {}
    yield "mer2023", {}, guess, labels, {"pred_valence": p, "truth_valence": t}
    words = ["happy", "sad", "angry", "calm"]
    sets = [[words[i % 4], words[(i * 7) % 4]] for i in range(600)]
    other = [[words[(i * 3) % 4]] for i in range(600)]
    yield "ov", {"groups": {"happy": "joy", "calm": "joy"}}, other, sets, {}


CASES = list(cases())


def split(value, parts):
    if isinstance(value, list):
        size = len(value) // parts
        return [value[i * size:(i + 1) * size] for i in range(parts)]
    return np.array_split(value, parts)


@pytest.mark.parametrize("suite,config,pred,truth,extra", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_batches_shards_and_pickles_equal_one_shot(suite, config, pred, truth, extra):
    one_shot = M.evaluate(suite, pred, truth, **config, **extra)
    acc = M.Accumulator(suite, **config)
    extras = {k: split(v, 3) for k, v in extra.items()}
    for i, (p, t) in enumerate(zip(split(pred, 3), split(truth, 3))):
        acc.update(p, t, **{k: v[i] for k, v in extras.items()})
    streamed = acc.compute()
    for key, value in one_shot["metrics"].items():
        assert streamed["metrics"][key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
    assert streamed["n"] == one_shot["n"]

    # Two shards merged (as DDP ranks would), one of them through pickle.
    first, second = M.Accumulator(suite, **config), M.Accumulator(suite, **config)
    halves = split(pred, 2), split(truth, 2), {k: split(v, 2) for k, v in extra.items()}
    first.update(halves[0][0], halves[1][0], **{k: v[0] for k, v in halves[2].items()})
    second.update(halves[0][1], halves[1][1], **{k: v[1] for k, v in halves[2].items()})
    restored = pickle.loads(pickle.dumps(second))
    first.merge(restored)
    merged = first.compute()
    for key, value in one_shot["metrics"].items():
        assert merged["metrics"][key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def _shard_state(args):
    pred, truth = args
    acc = M.Accumulator("mosi")
    acc.update(pred, truth)
    return pickle.dumps(acc)


def test_accumulators_cross_processes():
    t = rng.uniform(-3, 3, 1000)
    p = t + rng.normal(0, 1, 1000)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        shards = pool.map(_shard_state, list(zip(np.array_split(p, 4), np.array_split(t, 4))))
    total = M.Accumulator("mosi")
    for blob in shards:
        total.merge(pickle.loads(blob))
    expected = M.mosi(p, t)["metrics"]
    for key, value in expected.items():
        assert total.compute()["metrics"][key] == pytest.approx(value, rel=1e-12)


def test_accumulator_errors():
    with pytest.raises(ValueError, match=r"num_classes: required"):
        M.Accumulator("classification")
    with pytest.raises(ValueError, match=r"preset: suite \"mosi\" has presets mmsa, mult"):
        M.Accumulator("mosi", preset="sklearn")
    acc = M.Accumulator("mosi")
    with pytest.raises(ValueError, match=r"no samples"):
        acc.compute()
    with pytest.raises(ValueError, match=r"other: expected an accumulator configured as"):
        acc.merge(M.Accumulator("mosi", preset="mult"))
    labels = M.Accumulator("meld")
    labels.update(np.array([0, 1]), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"expected a class id in \[0, 7\), got 8"):
        labels.update(np.array([0, 8]), np.array([0, 1]))
    assert labels.compute()["n"] == 2  # the failed update counted nothing
    with pytest.raises(ValueError, match=r"state: binary_all: expected 4 values, got 2"):
        acc._core.state = ([1, 2], [0] * 4, [0] * 3, 0, (0.0,) * 8)


def test_update_kernel_level_is_one_the_cpu_supports():
    level = emofuse._core.metrics.update_kernel_level()
    assert level in ("x86-64-v4", "x86-64-v3", "baseline")
    if level == "baseline":
        return
    with open("/proc/cpuinfo", encoding="utf-8") as stream:
        flags = set(next(line for line in stream if line.startswith("flags")).split())
    needed = {"x86-64-v3": {"avx2", "fma", "bmi2"},
              "x86-64-v4": {"avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"}}
    assert needed[level] <= flags


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("suite", ["regression", "mosi"])
def test_the_cpu_specific_update_kernel_gives_the_one_shot_bits(suite, dtype):
    # The accumulators' kernel runs the CPU's AVX2/AVX-512 build; the one-shot functions run
    # the baseline build. One batch over several blocks must give the same doubles.
    t = rng.uniform(-3, 3, 5000).astype(dtype)
    p = (t + rng.normal(0, 1, 5000)).astype(dtype)
    acc = M.Accumulator(suite)
    acc.update(p, t)
    assert acc.compute()["metrics"] == M.evaluate(suite, p, t)["metrics"]
