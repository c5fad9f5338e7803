"""Classification metrics against scikit-learn on random data, both precisions and label
dtypes, labels and logits."""
import numpy as np
import pytest

import emofuse

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.uint8, np.float64])
@pytest.mark.parametrize("k", [2, 4, 7])
def test_classification_matches_sklearn(label_dtype, k):
    rng = np.random.default_rng(k)
    truth = rng.integers(0, k, 500)
    pred = np.where(rng.random(500) < 0.6, truth, rng.integers(0, k, 500))
    r = emofuse.metrics.classification(pred.astype(label_dtype), truth.astype(label_dtype),
                                       num_classes=k)["metrics"]
    m = sklearn_metrics
    assert r["accuracy"] == pytest.approx(m.accuracy_score(truth, pred), abs=1e-15)
    assert r["uar"] == pytest.approx(m.balanced_accuracy_score(truth, pred), abs=1e-15)
    for average in ("macro", "micro", "weighted"):
        assert r[f"{average}_precision"] == pytest.approx(
            m.precision_score(truth, pred, average=average, zero_division=0), abs=1e-14)
        assert r[f"{average}_recall"] == pytest.approx(
            m.recall_score(truth, pred, average=average, zero_division=0), abs=1e-14)
        assert r[f"{average}_f1"] == pytest.approx(
            m.f1_score(truth, pred, average=average, zero_division=0), abs=1e-14)
    assert r["kappa"] == pytest.approx(m.cohen_kappa_score(truth, pred), abs=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logits_are_argmaxed(dtype):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(300, 5)).astype(dtype)
    truth = rng.integers(0, 5, 300)
    by_logits = emofuse.metrics.classification(logits, truth)
    by_labels = emofuse.metrics.classification(logits.argmax(axis=1), truth, num_classes=5)
    assert by_logits["metrics"] == by_labels["metrics"]
    assert by_logits["metrics"]["macro_f1"] == pytest.approx(
        sklearn_metrics.f1_score(truth, logits.argmax(axis=1), average="macro"), abs=1e-14)


def test_meld_and_iemocap_match_sklearn():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, 200)
    pred = np.where(rng.random(200) < 0.5, truth, rng.integers(0, 4, 200))
    iemocap = emofuse.metrics.iemocap(pred, truth)["metrics"]
    assert iemocap["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(truth, pred))
    assert iemocap["UA"] == pytest.approx(sklearn_metrics.balanced_accuracy_score(truth, pred))
    meld = emofuse.metrics.meld(pred, truth)["metrics"]
    assert meld["weighted_f1"] == pytest.approx(
        sklearn_metrics.f1_score(truth, pred, average="weighted"), abs=1e-14)


def test_mosi_binary_f1_matches_sklearn():
    # MMSA's Has0_F1_score is f1_score(truth >= 0, pred >= 0, average="weighted").
    rng = np.random.default_rng(4)
    truth = rng.uniform(-3, 3, 400)
    pred = truth + rng.normal(0, 1, 400)
    r = emofuse.metrics.mosi(pred, truth)["metrics"]
    assert r["Has0_F1_score"] == pytest.approx(
        sklearn_metrics.f1_score(truth >= 0, pred >= 0, average="weighted"), abs=1e-14)
    assert r["MAE"] == pytest.approx(np.abs(pred - truth).mean(), rel=1e-12)
    assert r["Corr"] == pytest.approx(np.corrcoef(pred, truth)[0, 1], rel=1e-12)


def test_float32_is_computed_in_float32():
    # 0.50000001 is 0.5 in float32, which rounds half to even to 0, while in float64 it rounds
    # to 1: MMSA on float32 tensors sees the float32 values, and so must emofuse.
    truth = np.array([0.50000001, 1.2, -2.5, 2.4], dtype=np.float64)
    pred = np.array([1.0, 1.0, -2.0, 2.0], dtype=np.float64)
    numpy_acc7 = lambda t, p: np.mean(np.round(np.clip(t, -3, 3)) == np.round(np.clip(p, -3, 3)))
    r64 = emofuse.metrics.mosi(pred, truth)["metrics"]
    r32 = emofuse.metrics.mosi(pred.astype(np.float32), truth.astype(np.float32))["metrics"]
    assert r64["Mult_acc_7"] == numpy_acc7(truth, pred) == 1.0
    assert r32["Mult_acc_7"] == numpy_acc7(truth.astype(np.float32), pred.astype(np.float32))
    assert r32["Mult_acc_7"] == 0.75
    # Mixed precisions are promoted to float64, as numpy promotes.
    assert emofuse.metrics.mosi(pred.astype(np.float32), truth)["metrics"] == r64
