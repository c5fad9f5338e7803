"""emofuse.align against the SDK-exact restatement's fixture (tests/align/data), .csd read /
write round trips, and emofuse.csd.align_files on a folder."""
import json
import os

import numpy as np
import pytest

import emofuse

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
FIXTURE = os.path.join(ROOT, "tests", "align", "data", "interval_align.json")
CSD_DIR = os.path.join(ROOT, "tests", "align", "data")

with open(FIXTURE, encoding="utf-8") as stream:
    DATA = json.load(stream)


def dataset():
    """The fixture's sequences as an SDK-shaped dict, in their stored precision."""
    out = {}
    for s in DATA["sequences"]:
        out[s["name"]] = {
            key: {"intervals": np.array(e["intervals"], dtype=np.float64).reshape(-1, 2),
                  "features": np.array(e["features"], dtype=s["dtype"]).reshape(-1, s["feature_size"])}
            for key, e in s["entries"].items()}
    return out


def assert_aligned(result, expected, dtypes):
    assert list(result) == [e["name"] for e in expected]
    for e in expected:
        got = result[e["name"]]
        assert sorted(got) == sorted(e["entries"]), e["name"]
        for key, want in e["entries"].items():
            assert got[key]["features"].dtype == dtypes[e["name"]]
            np.testing.assert_allclose(got[key]["intervals"], np.array(want["intervals"]).reshape(-1, 2),
                                       rtol=0, atol=1e-12)
            np.testing.assert_allclose(got[key]["features"],
                                       np.array(want["features"]).reshape(got[key]["features"].shape),
                                       rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: f"{c['reference']}-{'+'.join(c['collapse']) or 'raw'}-{c['impute']}")
def test_align_matches_sdk_restatement(case):
    seqs = dataset()
    dtypes = {s["name"]: np.dtype(s["dtype"]) for s in DATA["sequences"]}
    report = {}
    result = emofuse.align(seqs, case["reference"], case["collapse"],
                           impute="zeros" if case["impute"] else None, report=report)
    assert report["removed_ids"] == case["removed"]
    assert_aligned(result, case["expected"], dtypes)


def test_numpy_functions_name_collapse_and_inputs_are_not_modified():
    seqs = dataset()
    before = {n: {k: (v["intervals"].copy(), v["features"].copy()) for k, v in s.items()}
              for n, s in seqs.items()}
    by_name = emofuse.align(seqs, "words", ["mean", "max"])
    by_numpy = emofuse.align(seqs, "words", [np.mean, np.max])
    for name in by_name:
        for key in by_name[name]:
            np.testing.assert_array_equal(by_name[name][key]["features"],
                                          by_numpy[name][key]["features"])
    for n, s in seqs.items():
        for k, v in s.items():
            np.testing.assert_array_equal(v["features"], before[n][k][1])
    with pytest.raises(TypeError, match=r"collapse_functions: expected names .* got median"):
        emofuse.align(seqs, "words", [np.median])


def test_align_errors_name_the_entry():
    seqs = dataset()
    with pytest.raises(ValueError, match=r"reference: expected one of the sequences .* got \"text\""):
        emofuse.align(seqs, "text")
    bad = dataset()
    key = next(iter(bad["audio"]))
    bad["audio"][key]["intervals"] = bad["audio"][key]["intervals"][:, :1]
    with pytest.raises(ValueError, match=r"sequences\['audio'\]\['%s'\]\['intervals'\]: expected a 2-D array \(n, 2\)" % key.replace("[", r"\[")):
        emofuse.align(bad, "words")
    bad = dataset()
    bad["audio"][key]["intervals"] = bad["audio"][key]["intervals"][::-1, ::-1].copy()
    with pytest.raises(ValueError, match=r"expected end >= start"):
        emofuse.align(bad, "words")
    bad = dataset()
    bad["audio"][key]["features"] = bad["audio"][key]["features"].astype(np.int32)
    with pytest.raises(TypeError, match=r"\['features'\]: expected dtype float32 or float64, got int32"):
        emofuse.align(bad, "words")
    with pytest.raises(TypeError, match=r"sequences\['x'\]: expected a dict"):
        emofuse.align({"x": 3, "words": seqs["words"]}, "words")
    with pytest.raises(ValueError, match=r"function name: expected one of mean"):
        emofuse.align(seqs, "words", ["median"])


csd = pytest.mark.skipif(not emofuse.csd.available(), reason="built without HDF5")


@csd
def test_csd_round_trip(tmp_path):
    seqs = dataset()
    path = tmp_path / "audio.csd"
    emofuse.csd.write(path, seqs["audio"], metadata={"dataset name": '"fixture"'})
    back = emofuse.csd.read(path)
    assert back["name"] == "audio"
    assert back["metadata"]["dataset name"] == '"fixture"'
    assert back["metadata"]["root name"] == '"audio"'  # completed as the SDK requires
    assert sorted(back["data"]) == sorted(seqs["audio"])
    for key, entry in seqs["audio"].items():
        assert back["data"][key]["features"].dtype == np.float32
        np.testing.assert_array_equal(back["data"][key]["features"], entry["features"])
        np.testing.assert_array_equal(back["data"][key]["intervals"], entry["intervals"])
    with pytest.raises(OSError, match=r"does_not_exist\.csd"):
        emofuse.csd.read(tmp_path / "does_not_exist.csd")
    with pytest.raises(ValueError, match=r"gzip: expected -1"):
        emofuse.csd.write(tmp_path / "x.csd", seqs["audio"], gzip=12)


@csd
def test_align_on_csd_files_equals_in_memory(tmp_path):
    seqs = dataset()
    paths = {}
    for name, data in seqs.items():
        paths[name] = tmp_path / f"{name}.csd"
        emofuse.csd.write(paths[name], data)
    in_memory = emofuse.align(seqs, "words", ["mean"], impute="zeros")
    from_files = emofuse.align(paths, "words", ["mean"], impute="zeros")
    out_dir = tmp_path / "aligned"
    report = emofuse.csd.align_files(list(paths.values()), out_dir, "words", ["mean"],
                                     impute="zeros", gzip=-1)
    assert sorted(os.path.basename(p) for p in report["written"]) == sorted(f"{n}.csd" for n in seqs)
    for name in seqs:
        written = emofuse.csd.read(out_dir / f"{name}.csd")["data"]
        assert sorted(written) == sorted(in_memory[name]) == sorted(from_files[name])
        for key in in_memory[name]:
            for field in ("intervals", "features"):
                np.testing.assert_array_equal(from_files[name][key][field], in_memory[name][key][field])
                np.testing.assert_array_equal(written[key][field], in_memory[name][key][field])


@csd
def test_committed_csd_files_align():
    files = {n: os.path.join(CSD_DIR, f"{n}.csd") for n in ("words", "audio", "visual", "labels")}
    result = emofuse.align(files, "words", ["mean"])
    assert set(result) == set(files) and all(result.values())
