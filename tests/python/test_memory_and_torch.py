"""No leaks under repeated calls (RSS bounded over 10,000 calls), CPU torch tensors in and
aligned arrays out without copies, and the GIL released while computing."""
import gc
import threading
import time

import numpy as np
import pytest

import emofuse


def rss_kib():
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    pytest.skip("no /proc/self/status")


def test_rss_bounded_over_10000_calls():
    rng = np.random.default_rng(0)
    truth = rng.uniform(-3, 3, 2000)
    pred = truth + rng.normal(0, 1, 2000)
    labels = rng.integers(0, 7, 2000)
    seqs = {"a": {f"v{i}": {"intervals": np.array([[0.0, 1.0], [1.0, 2.0]]),
                            "features": rng.normal(size=(2, 8))} for i in range(5)},
            "b": {f"v{i}": {"intervals": np.array([[0.0, 0.5], [0.5, 2.0]]),
                            "features": rng.normal(size=(2, 3)).astype(np.float32)}
                  for i in range(5)}}

    def calls(count):
        for _ in range(count):
            emofuse.metrics.mosi(pred, truth)
            emofuse.metrics.meld(labels, labels)
            acc = emofuse.metrics.Accumulator("regression")
            acc.update(pred, truth)
            acc.compute()
            emofuse.align(seqs, "a", ["mean"])
            try:
                emofuse.metrics.mosi(pred[:5], truth)
            except ValueError:
                pass

    calls(500)  # warm up allocator pools and caches
    gc.collect()
    before = rss_kib()
    calls(10_000)
    gc.collect()
    grown = rss_kib() - before
    # A leak of even one 2000-double array per call would grow by ~150 MiB.
    assert grown < 8 * 1024, f"RSS grew by {grown} KiB over 10,000 calls"


def test_gil_is_released_while_computing():
    rng = np.random.default_rng(1)
    truth = rng.uniform(-3, 3, 3_000_000)
    pred = truth + rng.normal(0, 1, truth.size)
    calls = []

    def work():
        for _ in range(3):
            start = time.perf_counter()
            emofuse.metrics.mosi(pred, truth)
            calls.append(time.perf_counter() - start)

    worker = threading.Thread(target=work)
    ticks = [time.perf_counter()]
    worker.start()
    while worker.is_alive():
        time.sleep(0.001)
        ticks.append(time.perf_counter())
    worker.join()
    longest_pause = max(b - a for a, b in zip(ticks, ticks[1:]))
    # Holding the GIL through a call would stop this thread for at least one whole call.
    assert longest_pause < min(calls) / 2, (longest_pause, calls)


torch = pytest.importorskip("torch")


def test_torch_cpu_tensor_round_trip():
    g = torch.Generator().manual_seed(0)
    truth = torch.empty(500).uniform_(-3, 3, generator=g)
    pred = truth + torch.randn(500, generator=g)
    by_tensor = emofuse.metrics.mosi(pred, truth)
    by_numpy = emofuse.metrics.mosi(pred.numpy(), truth.numpy())
    assert by_tensor == by_numpy
    assert emofuse.metrics.mosi(pred.double(), truth.double()) == \
        emofuse.metrics.mosi(pred.numpy().astype(np.float64), truth.numpy().astype(np.float64))

    logits = torch.randn(300, 4, generator=g)
    labels = torch.randint(0, 4, (300,), generator=g)  # int64
    assert emofuse.metrics.iemocap(logits, labels) == \
        emofuse.metrics.iemocap(logits.numpy(), labels.numpy())
    acc = emofuse.metrics.Accumulator("iemocap")
    for batch in range(3):
        acc.update(logits[batch * 100:(batch + 1) * 100], labels[batch * 100:(batch + 1) * 100])
    assert acc.compute()["metrics"] == emofuse.metrics.iemocap(logits, labels)["metrics"]

    # Aligned arrays come back as NumPy arrays that torch can wrap without a copy.
    seqs = {"a": {"v": {"intervals": torch.tensor([[0.0, 1.0], [1.0, 2.0]], dtype=torch.float64),
                        "features": torch.randn(2, 3, generator=g)}},
            "b": {"v": {"intervals": np.array([[0.0, 0.5], [0.5, 2.0]]),
                        "features": np.ones((2, 2), dtype=np.float32)}}}
    out = emofuse.align(seqs, "a", ["mean"])
    features = out["b"]["v[0]"]["features"]
    shared = torch.from_numpy(features)
    shared[0, 0] = 7.0
    assert features[0, 0] == 7.0

    with pytest.raises(TypeError, match=r"pred: expected dtype float32 or float64, got int64"):
        emofuse.metrics.mosi(labels, truth)
    if hasattr(torch, "float16"):
        with pytest.raises(TypeError, match=r"pred: expected dtype float32 or float64, got float16"):
            emofuse.metrics.mosi(pred.half(), truth)
