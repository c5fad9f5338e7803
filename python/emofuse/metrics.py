"""emofuse metric suites: the numbers ``emofuse-eval`` prints, from Python.

Every suite of ``emofuse-eval`` is a function returning a dict with the CLI's JSON keys::

    {"suite": "mosi", "preset": "mmsa", "n": 40,
     "metrics": {"Has0_acc_2": 0.875, ...}, "ci": {"Has0_acc_2": (low, high), ...}}

Options carry the CLI's names in snake case (``preset``, ``num_classes``, ``logits``,
``groups``, ``bootstrap``, ``seed``, ``confidence``, ``threads``, ``nan``). Inputs are NumPy
arrays or anything NumPy can view without copying (buffer protocol, ``__array__``, CPU torch
tensors); float32 and float64 are both computed in their own precision, as the peers do.
An undefined value (a correlation of constant input, an empty class) is ``float('nan')`` and
raises a :class:`MetricWarning`.
"""
from __future__ import annotations

import math
import os
import warnings
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _core

__all__ = [
    "MetricWarning",
    "evaluate",
    "mosi",
    "mosei",
    "sims",
    "regression",
    "classification",
    "iemocap",
    "meld",
    "mer2023",
    "mer2024",
    "ov",
    "paired_bootstrap",
    "mcnemar",
    "Accumulator",
    "SUITES",
]

#: Each suite's presets, the default first (as ``emofuse-eval --help`` lists them; both come
#: from one table, examples/common/metric_suites.hpp).
SUITES: Dict[str, Tuple[str, ...]] = {
    name: tuple(presets) for name, presets, _ in _core.metrics.suite_table()}

GroupTable = Union[Mapping[str, str], str, "os.PathLike[str]"]
Groups = Union[None, GroupTable, Sequence[GroupTable]]


class MetricWarning(UserWarning):
    """A metric is undefined on this input (its value is NaN), or the suite noted something."""


def _warn(result: Dict[str, Any], notes: Iterable[str]) -> Dict[str, Any]:
    """Emits the suite's notes, and one warning for NaN values no note explains."""
    notes = list(notes)
    for note in notes:
        warnings.warn(f"emofuse.metrics.{result['suite']}: {note}", MetricWarning, stacklevel=3)
    undefined = [k for k, v in result["metrics"].items() if isinstance(v, float) and math.isnan(v)]
    unexplained = [k for k in undefined if not any(k in note for note in notes)]
    if unexplained:
        warnings.warn(
            f"emofuse.metrics.{result['suite']}: undefined on this input (NaN): "
            + ", ".join(unexplained),
            MetricWarning,
            stacklevel=3,
        )
    return result


def _read_group_file(path: "os.PathLike[str] | str") -> List[Tuple[str, str]]:
    """Reads a ``word,group`` CSV table as ``emofuse-eval --groups`` does."""
    pairs = []
    with open(path, encoding="utf-8") as stream:
        for number, raw in enumerate(stream, start=1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            word, comma, group = text.partition(",")
            if not comma:
                raise ValueError(f"groups: {os.fspath(path)}:{number}: expected \"word,group\", "
                                 f"got \"{text[:60]}\"")
            pairs.append((word, group))
    return pairs


def _group_tables(groups: Groups) -> List[List[Tuple[str, str]]]:
    if groups is None:
        return []
    if isinstance(groups, (str, os.PathLike, Mapping)):
        groups = [groups]
    tables = []
    for table in groups:
        if isinstance(table, Mapping):
            tables.append([(str(w), str(g)) for w, g in table.items()])
        elif isinstance(table, (str, os.PathLike)):
            tables.append(_read_group_file(table))
        else:
            raise TypeError("groups: expected a mapping word -> group, a CSV path, or a list of "
                            f"them; got {type(table).__name__}")
    return tables


def _split_valence(array: Any, name: str, logits: Optional[bool]) -> Tuple[Any, Any, Optional[bool]]:
    """Splits MER2023 rows ``class valence`` (or ``K logits, valence``) as the CLI reads them."""
    import numpy as np

    rows = np.asarray(array)
    if rows.ndim != 2 or rows.shape[1] < 2:
        raise ValueError(f"{name}: expected a 2-D array (n, 2) of class and valence, or (n, K+1) "
                         f"of K logits and valence (or pass {name}_valence=), got shape "
                         f"{rows.shape}")
    labels = rows[:, :-1]
    if logits is None:
        logits = labels.shape[1] > 1
    return (labels if logits else labels[:, 0]), rows[:, -1], logits


def evaluate(
    suite: str,
    pred: Any,
    truth: Any,
    *,
    preset: Optional[str] = None,
    num_classes: Optional[int] = None,
    logits: Optional[bool] = None,
    groups: Groups = None,
    nan: str = "error",
    pred_valence: Any = None,
    truth_valence: Any = None,
    bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    threads: int = 0,
) -> Dict[str, Any]:
    """Evaluates ``pred`` against ``truth`` with one of emofuse-eval's suites.

    ``suite`` is one of :data:`SUITES`; ``preset`` defaults to the suite's first. Class suites
    take class ids, or ``(n, K)`` logits (``logits=None`` infers them from a 2-D ``pred``;
    the class is the first argmax). ``bootstrap=N`` adds N-resample percentile intervals
    under ``"ci"``. ``nan="skip"`` drops samples with a NaN/Inf value instead of raising.
    Returns the dict emofuse-eval prints as JSON (NaN where the CLI prints null).
    """
    if suite == "mer2023":
        if pred_valence is None:
            pred, pred_valence, logits = _split_valence(pred, "pred", logits)
        if truth_valence is None:
            truth, truth_valence, _ = _split_valence(truth, "truth", False)
    result, notes = _core.metrics.evaluate(
        suite, pred, truth, preset=preset or "", num_classes=num_classes, logits=logits,
        groups=_group_tables(groups), nan=nan, pred_valence=pred_valence,
        truth_valence=truth_valence, bootstrap=bootstrap, seed=seed, confidence=confidence,
        threads=threads)
    return _warn(result, notes)


def _suite_function(name: str, doc: str):
    def run(pred: Any, truth: Any, **options: Any) -> Dict[str, Any]:
        return evaluate(name, pred, truth, **options)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc + "\n\nOptions as :func:`evaluate`; returns its dict."
    return run


mosi = _suite_function("mosi", "CMU-MOSI sentiment scores in [-3, 3]; presets mmsa (MMSA "
                       "MetricsTop) and mult (MulT eval_mosei_senti).")
mosei = _suite_function("mosei", "CMU-MOSEI sentiment scores in [-3, 3]; presets mmsa, mult.")
sims = _suite_function("sims", "CH-SIMS sentiment scores in [-1, 1]; preset mmsa.")
regression = _suite_function("regression", "Continuous targets (mae, mse, rmse, pearson, ccc); "
                             "presets mertools (CCC ddof 0) and torchmetrics (ddof 1).")
classification = _suite_function("classification", "Single-label classification with "
                                 "scikit-learn's definitions; num_classes inferred from the "
                                 "largest id (at least 2) or the logits' columns.")
iemocap = _suite_function("iemocap", "IEMOCAP: preset default (class ids, 4 or 6 classes) or "
                          "mult ((n, 4) per-emotion 0/1 labels; (n, 8) logits, 2 per emotion).")
meld = _suite_function("meld", "MELD class ids: 7 emotions (or num_classes=3 sentiments).")
mer2023 = _suite_function("mer2023", "MER2023 (MERTools): class ids and valence. Pass "
                          "pred_valence= and truth_valence=, or (n, 2) 'class valence' rows "
                          "((n, K+1) 'K logits, valence' for pred) as the CLI's files hold.")
mer2024 = _suite_function("mer2024", "MER2024 (MERTools) class ids, 6 classes.")
ov = _suite_function("ov", "Open-vocabulary emotion word sets (lists of words or comma-separated "
                     "strings); groups= maps words to groups (mapping, CSV path, or a list to "
                     "average over tables).")


def paired_bootstrap(
    suite: str,
    metric: str,
    pred_a: Any,
    pred_b: Any,
    truth: Any,
    *,
    preset: Optional[str] = None,
    num_classes: Optional[int] = None,
    logits: Optional[bool] = None,
    groups: Groups = None,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    threads: int = 0,
) -> Dict[str, Any]:
    """Paired bootstrap of system A against system B on the same samples (Koehn 2004).

    Both are scored with ``suite``'s ``metric`` on the same resamples. Returns
    ``observed_delta`` (A - B on all samples), ``delta_interval`` (percentile CI),
    ``p_value`` (share of resamples where A is not better: small means A's advantage holds)
    and ``resamples``.
    """
    return _core.metrics.paired_bootstrap(
        suite, metric, pred_a, pred_b, truth, preset=preset or "", num_classes=num_classes,
        logits=logits, groups=_group_tables(groups), resamples=resamples, seed=seed,
        confidence=confidence, threads=threads)


def mcnemar(truth: Any, pred_a: Any, pred_b: Any, *, num_classes: Optional[int] = None,
            method: str = "exact") -> Dict[str, Any]:
    """McNemar's test of two classifiers on the same samples.

    ``method="exact"`` (binomial, statsmodels' ``exact=True``) or ``"chi_square_corrected"``.
    Returns ``only_a_correct`` (b), ``only_b_correct`` (c), ``statistic`` and ``p_value``.
    """
    return _core.metrics.mcnemar(truth, pred_a, pred_b, num_classes=num_classes, method=method)


_DEFAULT_CLASSES = {name: k for name, _, k in _core.metrics.suite_table() if k}


class Accumulator:
    """A streaming suite: ``update`` batch by batch, ``merge`` shards, ``compute`` at the end.

    ``compute()`` returns the same dict as the suite's function on all samples seen (with an
    empty ``"ci"``). The state is plain data, so an accumulator pickles and crosses
    ``torch.multiprocessing`` and DDP ranks (gather the pickles, ``merge``, ``compute``).
    ``num_classes`` is required for ``classification`` (it cannot be inferred from a stream)
    and defaults to 4 / 7 / 6 for iemocap / meld / mer2023 and mer2024.
    """

    def __init__(self, suite: str, *, preset: Optional[str] = None,
                 num_classes: Optional[int] = None, groups: Groups = None,
                 nan: str = "error") -> None:
        if suite not in SUITES:
            raise ValueError(f"suite: expected one of {', '.join(SUITES)}; got \"{suite}\"")
        preset = preset or SUITES[suite][0]
        if preset not in SUITES[suite]:
            raise ValueError(f"preset: suite \"{suite}\" has presets "
                             f"{', '.join(SUITES[suite])}; got \"{preset}\"")
        if groups is not None and suite != "ov":
            raise ValueError(f"groups: applies to suite \"ov\" only, got suite \"{suite}\"")
        self._config = {"suite": suite, "preset": preset, "num_classes": num_classes,
                        "groups": _group_tables(groups), "nan": nan}
        self._core = self._make()

    def _make(self) -> Any:
        c = self._config
        suite, preset = c["suite"], c["preset"]
        m = _core.metrics
        if suite in ("mosi", "mosei", "sims"):
            return m.SentimentAccumulator(suite, preset, c["nan"])
        if suite == "regression":
            return m.RegressionAccumulator(preset, c["nan"])
        if suite == "ov":
            return m.OpenVocabularyAccumulator(c["groups"])
        if suite == "iemocap" and preset == "mult":
            return m.BinaryEmotionAccumulator()
        k = c["num_classes"] if c["num_classes"] is not None else _DEFAULT_CLASSES.get(suite)
        if k is None:
            raise ValueError("num_classes: required for a classification accumulator, got None")
        return m.EmotionAccumulator(suite, k, c["nan"])

    @property
    def suite(self) -> str:
        """The suite's name."""
        return self._config["suite"]

    @property
    def preset(self) -> str:
        """The preset in use."""
        return self._config["preset"]

    def update(self, pred: Any, truth: Any, *, pred_valence: Any = None,
               truth_valence: Any = None) -> None:
        """Adds a batch of samples (same array rules as the suite's function)."""
        core = self._core
        if isinstance(core, _core.metrics.EmotionAccumulator):
            if self.suite == "mer2023":
                if pred_valence is None:
                    pred, pred_valence, _ = _split_valence(pred, "pred", None)
                if truth_valence is None:
                    truth, truth_valence, _ = _split_valence(truth, "truth", False)
            core.update(pred, truth, pred_valence, truth_valence)
            return
        if pred_valence is not None or truth_valence is not None:
            raise ValueError("pred_valence / truth_valence: only suite \"mer2023\" has valence "
                             "metrics")
        if isinstance(core, _core.metrics.BinaryEmotionAccumulator):
            core.update(pred, truth, self._config["nan"])
        else:
            core.update(pred, truth)

    def merge(self, other: "Accumulator") -> None:
        """Adds another accumulator's samples (same suite, preset and classes)."""
        if not isinstance(other, Accumulator):
            raise TypeError(f"other: expected an emofuse.metrics.Accumulator, got "
                            f"{type(other).__name__}")
        if other._config != self._config:
            raise ValueError(f"other: expected an accumulator configured as {self._config}, "
                             f"got {other._config}")
        self._core.merge(other._core)

    def compute(self) -> Dict[str, Any]:
        """The suite's dict over every sample seen (ValueError when there is none)."""
        result, notes = self._core.compute()
        return _warn(result, notes)

    def __getstate__(self) -> Dict[str, Any]:
        return {"config": dict(self._config), "state": self._core.state}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self._config = dict(state["config"])
        self._core = self._make()
        self._core.state = state["state"]

    def __repr__(self) -> str:
        return f"emofuse.metrics.Accumulator({self.suite!r}, preset={self.preset!r})"
