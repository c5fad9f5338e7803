"""Shared fixtures: the emofuse-eval binary and its committed test data, read as it reads them."""
import os
import re
import subprocess
import json

import numpy as np
import pytest


@pytest.fixture(scope="session")
def testdata():
    path = os.environ.get("EMOFUSE_EVAL_TESTDATA")
    if not path:
        path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "eval", "testdata")
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def eval_cli():
    """Runs emofuse-eval with the given arguments and returns its parsed JSON."""
    exe = os.environ.get("EMOFUSE_EVAL")
    if not exe or not os.path.exists(exe):
        pytest.skip("emofuse-eval is not built (EMOFUSE_EVAL unset)")

    def run(*args):
        done = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run


def data_lines(path):
    """The data lines of a file as emofuse-eval reads it (blank and '#' lines skipped)."""
    with open(path, encoding="utf-8") as stream:
        lines = [line.strip() for line in stream]
    return [line for line in lines if line and not line.startswith("#")]


def load_rows(path):
    """Numbers split on commas and/or whitespace, one row per data line (float64)."""
    rows = [[float(v) for v in re.split(r"[,\s]+", line) if v] for line in data_lines(path)]
    array = np.array(rows, dtype=np.float64)
    return array[:, 0] if array.shape[1] == 1 else array
