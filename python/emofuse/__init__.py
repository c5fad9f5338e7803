"""emofuse from Python: the metrics ``emofuse-eval`` prints and the CMU-SDK-exact alignment,
computed by the same C++ library.

- :mod:`emofuse.metrics` — every emofuse-eval suite and preset, streaming accumulators,
  bootstrap intervals and paired tests.
- :func:`emofuse.align` — interval alignment of SDK-shaped dicts or ``.csd`` files.
- :mod:`emofuse.csd` — ``.csd`` read / write / streamed alignment.
- :mod:`emofuse.fusion` — fusion operators (concatenation, tensor fusion, LMF) on arrays.
- :mod:`emofuse.models` — MMSA checkpoints run by the model zoo (``load_mmsa``).
"""
from __future__ import annotations

from . import _core, csd, fusion, metrics, models
from ._alignment import COLLAPSE_FUNCTIONS, align

__all__ = ["metrics", "csd", "fusion", "models", "align", "COLLAPSE_FUNCTIONS", "__version__"]
__version__ = "0.1.0"
