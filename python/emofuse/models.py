"""MMSA checkpoints run by emofuse's model zoo: ``load_mmsa`` reads MMSA's configuration and a
trained checkpoint and returns a callable on NumPy arrays (or CPU torch tensors) shaped as
MMSA's processed feature files hold them."""
from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from typing import Any, Dict, Tuple, Union

from . import _core

__all__ = ["load_mmsa", "MmsaModel", "model_names"]

Path = Union[str, "PathLike[str]"]


def model_names() -> Tuple[str, ...]:
    """MMSA's names of the models ``load_mmsa`` builds (``"tfn"``, ``"lmf"``, ...)."""
    return tuple(_core.models.model_names())


class MmsaModel:
    """A loaded MMSA model. Call it on ``text`` ``(batch, T_t, D_t)``, ``audio``
    ``(batch, T_a, D_a)`` and ``vision`` ``(batch, T_v, D_v)`` (float32 or float64, padded as
    MMSA's feature files pad them), or on one mapping holding those keys (an MMSA batch, an
    ``np.load``-ed ``.npz``). It returns ``{"M": (batch, output_dim), ...}``: ``"T"``, ``"A"``,
    ``"V"`` too for the multi-task models, ``"L"`` for MFN, as MMSA's forward names them.

    Each call applies MMSA's data-loader steps (``-inf`` audio to 0, ``need_normalized``
    averaging) and AMIO's alignment to the arrays, then runs the forward without the GIL. The
    loader steps run in float32 as MMSA's loader does, unless the model is float64 and all three
    arrays are float64; the alignment (part of AMIO's model) runs in the model's dtype. ``audio_lengths`` / ``vision_lengths`` (one integer per sample, as the
    feature files give them) are checked but not used: no model of the zoo reads them, as in
    MMSA (``needs`` lists what a model reads).
    """

    def __init__(self, core: Any) -> None:
        self._core = core

    @property
    def name(self) -> str:
        """MMSA's model key (``"tfn"``, ``"mult"``, ...)."""
        return self._core.name

    @property
    def dataset(self) -> str:
        """The dataset the configuration was merged for."""
        return self._core.dataset

    @property
    def mode(self) -> str:
        """``"regression"`` or ``"classification"`` (MMSA's ``train_mode``)."""
        return self._core.mode

    @property
    def dtype(self) -> str:
        """``"float32"`` or ``"float64"``: the precision the model computes in."""
        return self._core.dtype

    @property
    def needs(self) -> Tuple[str, ...]:
        """The inputs the model reads: ``("text", "audio", "vision")`` for every zoo model."""
        return ("text", "audio", "vision")

    @property
    def output_names(self) -> Tuple[str, ...]:
        """``("M",)``, or ``("M", "T", "A", "V")`` for the multi-task models."""
        return tuple(self._core.output_names)

    @property
    def output_dim(self) -> int:
        """Columns of each output: 1 in regression, ``num_classes`` in classification."""
        return self._core.output_dim

    @property
    def feature_dims(self) -> Tuple[int, int, int]:
        """(text, audio, vision) feature widths the model was built for."""
        return tuple(self._core.feature_dims)

    def __call__(self, text: Any = None, audio: Any = None, vision: Any = None, *,
                 audio_lengths: Any = None, vision_lengths: Any = None) -> Dict[str, Any]:
        """Runs the model on one batch; see the class documentation."""
        if isinstance(text, Mapping) and audio is None and vision is None:
            batch = text
            text, audio, vision = (batch.get(key) for key in ("text", "audio", "vision"))
            audio_lengths = batch.get("audio_lengths") if audio_lengths is None else audio_lengths
            vision_lengths = (batch.get("vision_lengths") if vision_lengths is None
                              else vision_lengths)
        return self._core(text, audio, vision, audio_lengths, vision_lengths)

    def __repr__(self) -> str:
        return (f"emofuse.models.MmsaModel({self.name!r}, dataset={self.dataset!r}, "
                f"mode={self.mode!r}, dtype={self.dtype!r})")


def load_mmsa(model: str, dataset: str, config: Path, weights: Path, *,
              mode: str = "regression", dtype: str = "float32") -> MmsaModel:
    """Loads an MMSA checkpoint into emofuse's zoo.

    ``config`` is MMSA's ``config_regression.json`` (merged for ``model`` and ``dataset`` as
    MMSA's ``get_config_regression`` merges it) or a flat JSON of the merged arguments;
    ``weights`` the checkpoint MMSA saved (``.pth``, or the same tensors as ``.safetensors`` /
    ``.npz``). ``mode`` is the ``train_mode`` it was trained in, ``dtype`` ``"float32"`` (as
    MMSA runs) or ``"float64"``. The model is built once from the configuration's
    ``feature_dims`` and ``seq_lens``; errors in either file (an unknown model, a missing or
    mis-shaped tensor) raise ``ValueError`` / ``OSError`` with the library's message.
    """
    return MmsaModel(_core.models.MmsaModel(model, dataset, config, weights, mode, dtype))
