"""Array handling: strided and foreign arrays, and clear errors naming the argument, the
expected and the given shape / dtype for every kind of bad input."""
import re
import warnings

import numpy as np
import pytest

import emofuse

M = emofuse.metrics
rng = np.random.default_rng(0)
TRUTH = rng.uniform(-3, 3, 100)
PRED = TRUTH + rng.normal(0, 0.5, 100)


def test_wrong_dtype_names_argument_and_dtypes():
    with pytest.raises(TypeError, match=r"pred: expected dtype float32 or float64, got int64"):
        M.mosi(np.arange(100), TRUTH)
    with pytest.raises(TypeError, match=r"truth: expected dtype float32 or float64, got complex128"):
        M.regression(PRED, TRUTH.astype(complex))
    with pytest.raises(TypeError, match=r"truth: expected integer class ids .* got <U1"):
        M.classification(np.array([0, 1]), np.array(["a", "b"]))
    with pytest.raises(TypeError, match=r"pred: expected an array-like"):
        M.mosi(object(), TRUTH)
    with pytest.raises(TypeError, match=r"pred: expected an array, got None"):
        M.mosi(None, TRUTH)


def test_wrong_shape_names_argument_and_shapes():
    with pytest.raises(ValueError, match=re.escape("pred: expected a 1-D array (n,), got shape (10, 10)")):
        M.mosi(PRED.reshape(10, 10), TRUTH)
    with pytest.raises(ValueError, match=r"pred: expected 100 samples \(as truth has\), got 99"):
        M.mosi(PRED[:99], TRUTH)
    with pytest.raises(ValueError, match=re.escape("pred: expected a 2-D array (n, 3), got shape (4, 5)")):
        M.classification(np.zeros((4, 5)), np.zeros(4, dtype=int), num_classes=3, logits=True)
    with pytest.raises(ValueError, match=re.escape("truth: expected a 2-D array (n, 4), got shape (6,)")):
        M.iemocap(np.zeros((6, 4), dtype=int), np.zeros(6, dtype=int), preset="mult")


def test_non_contiguous_inputs_are_read_correctly():
    wide = np.stack([PRED, TRUTH], axis=1)  # columns are strided views
    assert not wide[:, 0].flags.c_contiguous
    assert M.mosi(wide[:, 0], wide[:, 1]) == M.mosi(PRED.copy(), TRUTH.copy())
    reversed_view = PRED[::-1]
    assert M.regression(reversed_view, TRUTH[::-1]) == M.regression(PRED[::-1].copy(),
                                                                    TRUTH[::-1].copy())
    logits = rng.normal(size=(50, 3))
    truth = rng.integers(0, 3, 50)
    fortran = np.asfortranarray(logits)
    assert M.classification(fortran, truth) == M.classification(logits, truth)


def test_nan_raises_under_error_and_is_dropped_under_skip():
    pred = PRED.copy()
    pred[7] = np.nan
    with pytest.raises(ValueError, match=r"pred: non-finite value \(NaN or Inf\) at sample 7"):
        M.mosi(pred, TRUTH)
    skipped = M.mosi(pred, TRUTH, nan="skip")
    keep = np.arange(100) != 7
    assert skipped == M.mosi(PRED[keep], TRUTH[keep])
    assert skipped["n"] == 99
    truth = TRUTH.copy()
    truth[3] = np.inf
    with pytest.raises(ValueError, match=r"truth: non-finite value .* at sample 3"):
        M.regression(PRED, truth)
    with pytest.raises(ValueError, match=r"nan: expected \"error\" or \"skip\", got \"drop\""):
        M.mosi(PRED, TRUTH, nan="drop")
    logits = rng.normal(size=(20, 4))
    logits[5, 2] = np.nan
    labels = rng.integers(0, 4, 20)
    with pytest.raises(ValueError, match=r"pred: non-finite value .* at sample 5"):
        M.classification(logits, labels)
    keep = np.arange(20) != 5
    assert M.classification(logits, labels, nan="skip") == M.classification(logits[keep],
                                                                           labels[keep])
    with pytest.raises(ValueError, match=r"pred: no samples to evaluate"):
        M.regression(np.full(3, np.nan), np.ones(3), nan="skip")


def test_label_errors():
    with pytest.raises(ValueError, match=r"truth: expected a whole-number class id, got 1.5 at index 1"):
        M.classification(np.array([0, 1]), np.array([0.0, 1.5]))
    with pytest.raises(ValueError, match=r"prediction label at index 2: expected a class id in \[0, 7\), got 9"):
        M.meld(np.array([0, 1, 9]), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"truth label at index 0: expected a class id in \[0, 4\), got -1"):
        M.iemocap(np.array([0]), np.array([-1]))
    with pytest.raises(ValueError, match=r"number of classes: expected 4 or 6, got 5"):
        M.iemocap(np.array([0]), np.array([0]), num_classes=5)


def test_option_errors():
    with pytest.raises(ValueError, match=r"preset: suite \"sims\" has presets \"mmsa\"; got \"mult\""):
        M.sims(PRED, TRUTH, preset="mult")
    with pytest.raises(ValueError, match=r"suite: expected one of .*; got \"acc2\""):
        M.evaluate("acc2", PRED, TRUTH)
    with pytest.raises(ValueError, match=r"logits: applies to class suites only"):
        M.mosi(PRED, TRUTH, logits=True)
    with pytest.raises(ValueError, match=r"groups: applies to suite \"ov\" only"):
        M.meld(np.array([0]), np.array([0]), groups={"a": "b"})
    with pytest.raises(ValueError, match=r"confidence: expected a number in \(0, 1\)"):
        M.mosi(PRED, TRUTH, bootstrap=10, confidence=1.5)
    with pytest.raises(ValueError, match=r"truth: expected a 2-D array \(n, 2\) of class and valence.*or pass truth_valence="):
        M.mer2023(np.array([0, 1]), np.array([0, 1]), pred_valence=np.zeros(2))
    with pytest.raises(TypeError, match=r"pred: expected a sequence of word lists"):
        M.ov("happy", ["happy"])


def test_undefined_value_is_nan_with_a_warning():
    with pytest.warns(M.MetricWarning, match=r"Corr is NaN: predictions or truths are constant"):
        r = M.mosi(np.ones(10), TRUTH[:10])
    assert np.isnan(r["metrics"]["Corr"])
    with pytest.warns(M.MetricWarning, match=r"non-zero binary metrics are NaN"):
        r = M.mosi(PRED[:5], np.zeros(5))
    assert np.isnan(r["metrics"]["Non0_acc_2"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        M.mosi(PRED, TRUTH)  # defined everywhere: no warning


def test_paired_bootstrap_and_mcnemar():
    truth = rng.integers(0, 3, 300)
    good = np.where(rng.random(300) < 0.8, truth, (truth + 1) % 3)
    poor = np.where(rng.random(300) < 0.5, truth, (truth + 1) % 3)
    r = M.paired_bootstrap("classification", "accuracy", good, poor, truth, resamples=500, seed=1)
    delta = M.classification(good, truth)["metrics"]["accuracy"] - \
        M.classification(poor, truth)["metrics"]["accuracy"]
    assert r["observed_delta"] == pytest.approx(delta)
    assert r["delta_interval"][0] > 0 and r["p_value"] < 0.01 and r["resamples"] == 500
    assert M.paired_bootstrap("classification", "accuracy", good, poor, truth, resamples=500,
                              seed=1, threads=1) == r  # the same whatever the threads
    reverse = M.paired_bootstrap("classification", "accuracy", poor, good, truth, resamples=500)
    assert reverse["p_value"] > 0.99
    with pytest.raises(ValueError, match=r"metric: suite \"classification\" has keys accuracy"):
        M.paired_bootstrap("classification", "acc", good, poor, truth)

    m = M.mcnemar(truth, good, poor)
    b = int(np.sum((good == truth) & (poor != truth)))
    c = int(np.sum((poor == truth) & (good != truth)))
    assert (m["only_a_correct"], m["only_b_correct"]) == (b, c)
    scipy_stats = pytest.importorskip("scipy.stats")
    assert m["p_value"] == pytest.approx(
        scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue, rel=1e-9)
    chi = M.mcnemar(truth, good, poor, method="chi_square_corrected")
    assert chi["statistic"] == pytest.approx((abs(b - c) - 1) ** 2 / (b + c))
    assert chi["p_value"] == pytest.approx(scipy_stats.chi2.sf(chi["statistic"], 1), rel=1e-9)
