"""emofuse.metrics returns exactly what emofuse-eval prints, key for key and value for value,
on the CLI's committed test files (bootstrap intervals included)."""
import math
import os

import numpy as np
import pytest

import emofuse
from conftest import data_lines, load_rows


def same_number(cli, py):
    if cli is None:  # the CLI writes NaN as null
        return isinstance(py, float) and math.isnan(py)
    return cli == py


def assert_same(cli, py):
    assert list(py) == ["suite", "preset", "n", "metrics", "ci"]
    assert (py["suite"], py["preset"], py["n"]) == (cli["suite"], cli["preset"], cli["n"])
    assert list(py["metrics"]) == list(cli["metrics"])  # same keys, same order
    for key, value in cli["metrics"].items():
        assert same_number(value, py["metrics"][key]), (key, value, py["metrics"][key])
    assert list(py["ci"]) == list(cli["ci"])
    for key, (low, high) in cli["ci"].items():
        assert same_number(low, py["ci"][key][0]) and same_number(high, py["ci"][key][1]), key


def cli_args(suite, pred, truth, **options):
    args = ["--suite", suite, "--pred", pred, "--truth", truth]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        args += [flag] if value is True else [flag, value]
    return args


SCORE_CASES = [
    ("mosi", "mosi_pred.txt", "mosi_truth.txt", {}),
    ("mosi", "mosi_pred.txt", "mosi_truth.txt", {"preset": "mult"}),
    ("mosei", "mosi_pred.txt", "mosi_truth.txt", {"bootstrap": 200, "seed": 5}),
    ("mosei", "mosi_pred.txt", "mosi_truth.txt", {"preset": "mult", "bootstrap": 50,
                                                  "confidence": 0.8}),
    ("sims", "three_scores.txt", "three_scores.txt", {}),
    ("regression", "mosi_pred.txt", "mosi_truth.txt", {"bootstrap": 100, "seed": 9}),
    ("regression", "mosi_pred.txt", "mosi_truth.txt", {"preset": "torchmetrics"}),
    ("regression", "with_nan.txt", "three_scores.txt", {"nan": "skip"}),
]


@pytest.mark.parametrize("suite,pred,truth,options", SCORE_CASES)
def test_score_suites_match_cli(eval_cli, testdata, suite, pred, truth, options):
    p, t = os.path.join(testdata, pred), os.path.join(testdata, truth)
    cli = eval_cli(*cli_args(suite, p, t, **options))
    assert_same(cli, emofuse.metrics.evaluate(suite, load_rows(p), load_rows(t), **options))


LABEL_CASES = [
    ("classification", "labels_pred.txt", "labels_truth.txt", {}),
    ("classification", "logits_pred.txt", "labels_truth.txt",
     {"logits": True, "bootstrap": 200, "seed": 7, "confidence": 0.9}),
    ("classification", "labels_pred.txt", "labels_truth.txt", {"num_classes": 9}),
    ("meld", "labels_pred.txt", "labels_truth.txt", {"bootstrap": 100, "seed": 3, "threads": 2}),
    ("meld", "logits_pred.txt", "labels_truth.txt", {"logits": True}),
    ("iemocap", "two_labels.txt", "two_labels.txt", {}),
    ("iemocap", "two_labels.txt", "two_labels.txt", {"num_classes": 6}),
    ("mer2024", "two_labels.txt", "two_labels.txt", {}),
    ("iemocap", "iemocap_mult_logits.txt", "iemocap_mult_truth.txt",
     {"preset": "mult", "logits": True, "bootstrap": 100}),
    ("iemocap", "iemocap_mult_truth.txt", "iemocap_mult_truth.txt", {"preset": "mult"}),
]


@pytest.mark.parametrize("suite,pred,truth,options", LABEL_CASES)
def test_class_suites_match_cli(eval_cli, testdata, suite, pred, truth, options):
    p, t = os.path.join(testdata, pred), os.path.join(testdata, truth)
    cli = eval_cli(*cli_args(suite, p, t, **options))
    pred_rows = load_rows(p)
    truth_rows = load_rows(t).astype(np.int64)
    if not options.get("logits"):
        pred_rows = pred_rows.astype(np.int64)
    assert_same(cli, emofuse.metrics.evaluate(suite, pred_rows, truth_rows, **options))


def test_mer2023_matches_cli(eval_cli, testdata):
    p, t = (os.path.join(testdata, f) for f in ("mer2023_pred.txt", "mer2023_truth.txt"))
    cli = eval_cli("--suite", "mer2023", "--logits", "--pred", p, "--truth", t,
                   "--bootstrap", "100", "--seed", "4")
    # The rows as the CLI reads them: K logits then valence / class then valence.
    assert_same(cli, emofuse.metrics.mer2023(load_rows(p), load_rows(t), logits=True,
                                             bootstrap=100, seed=4))
    # The same with separate arrays.
    pred, truth = load_rows(p), load_rows(t)
    split = emofuse.metrics.mer2023(pred[:, :-1], truth[:, 0].astype(int), pred_valence=pred[:, -1],
                                    truth_valence=truth[:, 1], bootstrap=100, seed=4)
    assert_same(cli, split)


def test_open_vocabulary_matches_cli(eval_cli, testdata):
    p, t, g = (os.path.join(testdata, f) for f in ("ov_pred.txt", "ov_truth.txt", "ov_groups.csv"))
    cli = eval_cli("--suite", "ov", "--pred", p, "--truth", t, "--groups", g, "--groups", g)
    sets = lambda path: [[] if line == "-" else line for line in data_lines(path)]
    assert_same(cli, emofuse.metrics.ov(sets(p), sets(t), groups=[g, g]))
    # groups as a mapping, samples as word lists
    table = dict(line.split(",", 1) for line in data_lines(g))
    words = lambda path: [[w for w in line.split(",") if w.strip()] if line != "-" else []
                          for line in data_lines(path)]
    assert_same(cli, emofuse.metrics.ov(words(p), words(t), groups=table))
    plain = eval_cli("--suite", "ov", "--pred", p, "--truth", t)
    assert_same(plain, emofuse.metrics.ov(sets(p), sets(t)))


def test_every_suite_and_preset_is_covered():
    covered = {(s, o.get("preset", emofuse.metrics.SUITES[s][0]))
               for s, _, _, o in SCORE_CASES + LABEL_CASES}
    covered |= {("mer2023", "mertools"), ("ov", "default")}
    every = {(s, p) for s, presets in emofuse.metrics.SUITES.items() for p in presets}
    assert covered == every
