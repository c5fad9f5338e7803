"""examples/python/train_and_align.py runs and reports what it claims."""
import os
import subprocess
import sys

import pytest

import emofuse

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python",
                      "train_and_align.py")


def test_example_script_runs(tmp_path):
    done = subprocess.run([sys.executable, SCRIPT, "--out", str(tmp_path / "aligned")],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert "epoch 2: Has0_acc_2" in done.stdout
    shard_line = next(line for line in done.stdout.splitlines() if "merged from 4 shards" in line)
    streamed, one_shot = shard_line.split("Corr ")[1].split(" (one shot ")
    assert streamed == one_shot.rstrip(")")
    if emofuse.csd.available():
        assert sorted(os.listdir(tmp_path / "aligned")) == ["covarep.csd", "labels.csd", "words.csd"]


def test_benchmark_script_checks_values_on_a_small_run():
    # The benchmark asserts that emofuse equals MMSA's MetricsTop restatement, the numpy SDK
    # alignment and numpy streaming sums before it reports times.
    pytest.importorskip("sklearn")
    script = os.path.join(os.path.dirname(SCRIPT), "benchmark.py")
    done = subprocess.run([sys.executable, script, "--videos", "1", "--repeats", "1",
                           "--samples", "200000"], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout.count("x\n") == 3, done.stdout
