"""examples/python/train_and_align.py runs and reports what it claims."""
import os
import subprocess
import sys

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
