"""emofuse from Python: the metrics ``emofuse-eval`` prints and the CMU-SDK-exact alignment,
computed by the same C++ library.

- :mod:`emofuse.metrics` — every emofuse-eval suite and preset, streaming accumulators,
  bootstrap intervals and paired tests.
- :func:`emofuse.align` — interval alignment of SDK-shaped dicts or ``.csd`` files.
- :mod:`emofuse.csd` — ``.csd`` read / write / streamed alignment.
- :mod:`emofuse.fusion` — fusion operators (concatenation, tensor fusion, LMF) on arrays.
- :mod:`emofuse.models` — MMSA checkpoints run by the model zoo (``load_mmsa``).
- :func:`emofuse.set_num_threads` / :func:`emofuse.num_threads` — the threads of the library's
  one pool (default: ``EMOFUSE_NUM_THREADS``, else every core); results do not depend on it.
"""
from __future__ import annotations

from . import _core, csd, fusion, metrics, models
from ._alignment import COLLAPSE_FUNCTIONS, align


def set_num_threads(n: int) -> None:
    """Sets how many threads emofuse uses from now on, 1 to 4096 (0: back to the default,
    ``EMOFUSE_NUM_THREADS``, else every core). Metrics, alignment and model outputs are the
    same at any count; only the time changes."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 4096:
        raise ValueError(f"set_num_threads: expected a whole number from 0 to 4096, got {n!r}")
    _core.set_num_threads(n)


def num_threads() -> int:
    """The thread count emofuse's parallel work uses now."""
    return _core.num_threads()


__all__ = ["metrics", "csd", "fusion", "models", "align", "COLLAPSE_FUNCTIONS", "set_num_threads",
           "num_threads", "__version__"]
__version__ = "0.1.0"
