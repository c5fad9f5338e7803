"""Fusion operators on utterance-level arrays: one ``(n, d_m)`` array per modality, in the
order the operator visits them (the library's batch order)."""
from __future__ import annotations

from typing import Any, Sequence

from . import _core

__all__ = ["concat", "tensor_fusion", "low_rank_fusion"]


def concat(modalities: Sequence[Any]) -> Any:
    """Concatenates 1 to 3 ``(n, d_m)`` arrays along features: ``(n, Σ d_m)``."""
    return _core.fusion.concat(list(modalities))


def tensor_fusion(modalities: Sequence[Any], *, prepend_one: bool = True) -> Any:
    """TFN's per-sample outer product ``vec([1, h_0] ⊗ [1, h_1] ⊗ ...)`` of 1 to 3 modalities
    (MMSA / MultiBench); ``prepend_one=False`` drops the appended 1s: ``(n, Π(d_m + 1))``."""
    return _core.fusion.tensor_fusion(list(modalities), prepend_one)


def low_rank_fusion(modalities: Sequence[Any], factors: Sequence[Any], rank_weights: Any,
                    bias: Any) -> Any:
    """LMF (Liu et al. 2018, MMSA's layout): ``factors[m]`` is ``(rank, d_m + 1, H)``,
    ``rank_weights`` ``(1, rank)``, ``bias`` ``(1, H)``; returns ``(n, H)``:
    ``rank_weights · Π_m([1, h_m] · factors[m]) + bias``."""
    return _core.fusion.low_rank_fusion(list(modalities), list(factors), rank_weights, bias)
