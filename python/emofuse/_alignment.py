"""Interval alignment with the CMU-MultimodalSDK's semantics, on SDK-shaped data.

A computational sequence is a dict ``{video: {"intervals": (n, 2), "features": (n, d)}}``
(the SDK's ``computational_sequence.data``); a dataset is a dict of them by name (the SDK's
``mmdataset.computational_sequences``). :func:`align` takes such a dataset, or ``.csd`` paths
in place of sequences, and returns the aligned dataset in the same shape.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _core

__all__ = ["align", "COLLAPSE_FUNCTIONS"]

#: Built-in collapse functions by name (outputs of several are concatenated in order).
COLLAPSE_FUNCTIONS = ("mean", "avg", "weighted_mean", "max", "min", "std", "first", "last")

Sequence_ = Union[Mapping[str, Mapping[str, Any]], str, "os.PathLike[str]"]
Collapse = Union[str, Callable[..., Any]]


def _collapse_name(function: Collapse) -> str:
    """A collapse function's built-in name; numpy's mean/max/min/std map to theirs."""
    if isinstance(function, str):
        return function
    import numpy as np

    known = {np.mean: "mean", np.average: "mean", np.max: "max", np.amax: "max", np.min: "min",
             np.amin: "min", np.std: "std", np.nanmean: "mean"}
    for candidate, name in known.items():
        if function is candidate:
            return name
    raise TypeError("collapse_functions: expected names from " + ", ".join(COLLAPSE_FUNCTIONS)
                    + " or numpy.mean / numpy.max / numpy.min / numpy.std, got "
                    + getattr(function, "__name__", type(function).__name__))


def _sequence_input(name: str, value: Any) -> Tuple[str, Dict[str, Any], Dict[str, str]]:
    """(name, data, metadata) from a dict, an SDK computational_sequence, or a .csd path."""
    if isinstance(value, (str, os.PathLike)):
        if not _core.align.has_csd():
            raise RuntimeError("this emofuse build has no .csd support (HDF5 was not found)")
        _, metadata, data = _core.align.read_csd(os.fspath(value))
        return name, data, metadata
    if isinstance(value, Mapping):
        return name, dict(value), {}
    if hasattr(value, "data") and hasattr(value, "metadata"):  # an SDK computational_sequence
        metadata = {str(k): str(v) for k, v in dict(value.metadata).items()}
        return name, dict(value.data), metadata
    raise TypeError(f"sequences['{name}']: expected a dict {{video: {{'intervals', 'features'}}}}"
                    f", a .csd path or an SDK computational_sequence, got {type(value).__name__}")


def align(
    sequences: Mapping[str, Sequence_],
    reference: str,
    collapse_functions: Optional[Sequence[Collapse]] = None,
    *,
    impute: Optional[str] = None,
    report: Optional[Dict[str, Any]] = None,
) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """Aligns every sequence to ``reference``'s intervals, as ``mmdataset.align`` does.

    Each reference interval becomes a key ``video[i]``; every other sequence keeps the frames
    overlapping it, clipped to it, and ``collapse_functions`` (SDK name) reduce them to one row
    (several: concatenated). Videos missing from any sequence are removed everywhere (listed
    in ``report["removed_ids"]``). ``impute="zeros"`` then gives reference keys missing from
    a sequence zero features (the SDK's ``impute(reference, numpy.zeros)``). Features keep
    their dtype (float32 stays float32); the returned arrays own their memory.
    """
    if reference not in sequences:
        raise ValueError(f"reference: expected one of the sequences ({', '.join(sequences)}), "
                         f"got \"{reference}\"")
    if impute not in (None, "zeros"):
        raise ValueError(f"impute: expected None or \"zeros\", got {impute!r}")
    inputs = [_sequence_input(name, value) for name, value in sequences.items()]
    names = [_collapse_name(f) for f in (collapse_functions or [])]
    aligned, done = _core.align.align(inputs, reference, names, impute == "zeros")
    if report is not None:
        report.clear()
        report.update(done)
    return {name: data for name, _, data in aligned}
