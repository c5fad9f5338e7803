"""The library's one thread pool from Python: set_num_threads / num_threads, and results that
do not depend on the thread count."""
import numpy as np
import pytest

import emofuse


@pytest.fixture
def restore_threads():
    yield
    emofuse.set_num_threads(0)


def test_set_num_threads_changes_num_threads(restore_threads):
    for n in (1, 2, 3):
        emofuse.set_num_threads(n)
        assert emofuse.num_threads() == n
    emofuse.set_num_threads(0)
    assert emofuse.num_threads() >= 1


@pytest.mark.parametrize("bad", [-1, 4097, 1.5, "2", True, None])
def test_set_num_threads_rejects_what_is_not_a_count(bad, restore_threads):
    with pytest.raises(ValueError, match="set_num_threads: expected a whole number from 0 to 4096"):
        emofuse.set_num_threads(bad)


def test_bootstrap_interval_is_the_same_at_any_thread_count(restore_threads):
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 7, 2610)
    pred = np.where(rng.random(2610) < 0.6, truth, rng.integers(0, 7, 2610))
    results = []
    for n in (1, 2, 3):
        emofuse.set_num_threads(n)
        results.append(emofuse.metrics.evaluate("meld", pred, truth, bootstrap=200, seed=11))
    assert results[0] == results[1] == results[2]
