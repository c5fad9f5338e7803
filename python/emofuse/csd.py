"""CMU computational sequence files (``.csd``, HDF5) — read, write and align them.

Needs an emofuse built with HDF5 (``emofuse.csd.available()``).
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from . import _core
from ._alignment import Collapse, _collapse_name

__all__ = ["available", "read", "write", "align_files"]

Path = Union[str, "os.PathLike[str]"]


def available() -> bool:
    """Whether this build reads and writes ``.csd`` files."""
    return bool(_core.align.has_csd())


def _require() -> None:
    if not available():
        raise RuntimeError("this emofuse build has no .csd support (HDF5 was not found)")


def read(path: Path) -> Dict[str, Any]:
    """Reads a ``.csd`` file: ``{"name", "metadata", "data"}`` where ``data`` is
    ``{video: {"intervals", "features"}}`` (features in the stored precision) and
    ``metadata`` the stored strings as they are (the SDK stores JSON-encoded values)."""
    _require()
    name, metadata, data = _core.align.read_csd(os.fspath(path))
    return {"name": name, "metadata": metadata, "data": data}


def write(path: Path, data: Mapping[str, Mapping[str, Any]], *, name: Optional[str] = None,
          metadata: Optional[Mapping[str, str]] = None, gzip: int = 9) -> None:
    """Writes ``data`` (``{video: {"intervals", "features"}}``) to ``path`` as the SDK does:
    root group ``name`` (default: the file stem), missing metadata keys completed, gzip level
    ``gzip`` (-1: uncompressed). The file appears only when complete."""
    _require()
    root = name if name is not None else os.path.splitext(os.path.basename(os.fspath(path)))[0]
    _core.align.write_csd(os.fspath(path), root, dict(data),
                          {str(k): str(v) for k, v in (metadata or {}).items()}, gzip)


def align_files(inputs: Sequence[Path], out_dir: Path, reference: str,
                collapse_functions: Optional[Sequence[Collapse]] = None, *,
                impute: Optional[str] = None, gzip: int = 9) -> Dict[str, Any]:
    """Aligns ``.csd`` files into ``out_dir`` (each under its own file name), streaming one
    video at a time so memory stays bounded (what ``emofuse-align`` does). ``reference``
    names a sequence or a file stem. Returns the report with ``written`` paths."""
    _require()
    if impute not in (None, "zeros"):
        raise ValueError(f"impute: expected None or \"zeros\", got {impute!r}")
    names = [_collapse_name(f) for f in (collapse_functions or [])]
    os.makedirs(out_dir, exist_ok=True)
    return _core.align.align_files([os.fspath(p) for p in inputs], os.fspath(out_dir), reference,
                                   names, impute == "zeros", gzip)
