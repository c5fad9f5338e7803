"""emofuse.models.load_mmsa: every committed MMSA fixture (tests/models/data, outputs computed by
MMSA's own code) reproduced through Python within the tolerances the C++ tests use, torch and
mapping inputs, bad inputs and files, and the stubs."""
import ast
import glob
import json
import os

import numpy as np
import pytest

import emofuse

DATA = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "models", "data"))
ALL_FIXTURES = sorted(os.path.basename(p)[:-len(".config.json")]
                      for p in glob.glob(os.path.join(DATA, "*.config.json")))


def reads_bert_tokens(name):
    with open(os.path.join(DATA, name + ".config.json"), encoding="utf-8") as stream:
        return bool(json.load(stream).get("use_bert"))


# load_mmsa takes the feature-vector models; the BERT-era ones (text_bert rows) are refused.
FIXTURES = [name for name in ALL_FIXTURES if not reads_bert_tokens(name)]
BERT_FIXTURES = [name for name in ALL_FIXTURES if reads_bert_tokens(name)]


def fixture_files(name):
    with open(os.path.join(DATA, name + ".config.json"), encoding="utf-8") as stream:
        config = json.load(stream)
    return {"model": config["model_name"], "dataset": config["dataset_name"],
            "mode": config["train_mode"], "config": os.path.join(DATA, name + ".config.json"),
            "weights": os.path.join(DATA, name + ".safetensors"),
            "inputs": os.path.join(DATA, name + ".inputs.npz"),
            "expected": os.path.join(DATA, name + ".expected.npz")}


def load(name, dtype="float32", weights=None):
    f = fixture_files(name)
    return emofuse.models.load_mmsa(f["model"], f["dataset"], f["config"],
                                    weights or f["weights"], mode=f["mode"], dtype=dtype)


def inputs(name):
    with np.load(fixture_files(name)["inputs"]) as z:
        return {key: z[key] for key in z.files}


def tolerance(name, dtype):
    # tests/models: float |x - e| <= 1e-5 (1 + |e|) against MMSA's float32 outputs; double
    # 1e-10 (1 + |e|) against its float64 ones, 1e-6 for MulT (MMSA casts its positional
    # embedding to float32, test_mult.cpp).
    if dtype == "float32":
        return 1e-5
    return 1e-6 if name.startswith("mult_") else 1e-10


def test_every_fixture_is_listed():
    assert len(FIXTURES) >= 22
    assert {fixture_files(n)["model"] for n in ALL_FIXTURES} == set(emofuse.models.model_names())


@pytest.mark.parametrize("name", BERT_FIXTURES)
def test_bert_era_models_are_refused_with_the_way_to_run_them(name):
    f = fixture_files(name)
    with pytest.raises(ValueError, match="reads BERT token rows.*emofuse-predict"):
        emofuse.models.load_mmsa(f["model"], f["dataset"], f["config"], f["weights"],
                                 mode=f["mode"])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_reproduced(name, dtype):
    model = load(name, dtype)
    x = inputs(name)
    # MMSA's loader works in float32; its float64 reference is its float64 model on those
    # float32 arrays, which is what a float64 model does with float32 inputs.
    got = model(x["text"], x["audio"], x["vision"], audio_lengths=x["audio_lengths"],
                vision_lengths=x["vision_lengths"])
    with np.load(fixture_files(name)["expected"]) as expected:
        heads = {k for k in expected.files if not k.endswith("_f64") and not k.startswith("Feature_")}
        assert set(got) == heads
        assert list(got)[:len(model.output_names)] == list(model.output_names)
        suffix = "" if dtype == "float32" else "_f64"
        for key, values in got.items():
            want = expected[key + suffix].astype(np.float64).reshape(values.shape)
            assert values.dtype == np.dtype(dtype)
            if key in model.output_names:  # MFN's L has its own width
                assert values.shape == (x["text"].shape[0], model.output_dim)
            error = np.max(np.abs(values - want) / (1 + np.abs(want)))
            assert error <= tolerance(name, dtype), (key, error)


def test_properties():
    model = load("mtfn_sims_classification", "float64")
    assert (model.name, model.dataset, model.mode, model.dtype) == (
        "mtfn", "sims", "classification", "float64")
    assert model.needs == ("text", "audio", "vision")
    assert model.output_names == ("M", "T", "A", "V")
    assert model.output_dim == 3
    assert model.feature_dims == (16, 5, 7)
    assert "mtfn" in repr(model)
    single = load("tfn_mosi_regression")
    assert single.output_names == ("M",) and single.output_dim == 1


def test_pth_checkpoint_gives_the_safetensors_results():
    name = "lf_dnn_mosi_regression"
    x = inputs(name)
    from_safetensors = load(name)(x["text"], x["audio"], x["vision"])
    from_pth = load(name, weights=os.path.join(DATA, name + ".pth"))(x["text"], x["audio"],
                                                                     x["vision"])
    np.testing.assert_array_equal(from_pth["M"], from_safetensors["M"])


def test_a_mapping_an_npz_and_float64_arrays():
    name = "mlmf_sims_regression"
    model = load(name)
    x = inputs(name)
    plain = model(x["text"], x["audio"], x["vision"])
    with np.load(fixture_files(name)["inputs"]) as npz:
        for key, values in model(npz).items():
            np.testing.assert_array_equal(values, plain[key])
    # float64 arrays to a float32 model are rounded to float32 first, as MMSA's loader does.
    wide = model(*(x[k].astype(np.float64) for k in ("text", "audio", "vision")))
    np.testing.assert_array_equal(wide["M"], plain["M"])
    # Non-contiguous views are read as their values.
    strided = model(np.asfortranarray(x["text"]), x["audio"][:, ::1], x["vision"].copy())
    np.testing.assert_array_equal(strided["M"], plain["M"])


def test_torch_tensors():
    torch = pytest.importorskip("torch")
    name = "mult_mosi_regression"
    model = load(name)
    x = inputs(name)
    want = model(x["text"], x["audio"], x["vision"])["M"]
    got = model(*(torch.from_numpy(x[k]) for k in ("text", "audio", "vision")),
                audio_lengths=torch.from_numpy(x["audio_lengths"]))["M"]
    np.testing.assert_array_equal(got, want)
    assert torch.from_numpy(got).shape == (4, 1)


def test_each_sample_alone_gives_its_row():
    name = "ef_lstm_mosi_unaligned_regression"
    model = load(name)
    x = inputs(name)
    batch = model(x["text"], x["audio"], x["vision"])["M"]
    for row in range(batch.shape[0]):
        alone = model(*(x[k][row:row + 1] for k in ("text", "audio", "vision")))["M"]
        np.testing.assert_allclose(alone[0], batch[row], rtol=1e-6, atol=1e-7)


@pytest.fixture(scope="module")
def tfn():
    return load("tfn_mosi_regression"), inputs("tfn_mosi_regression")


def test_bad_arrays_name_the_argument(tfn):
    model, x = tfn
    t, a, v = x["text"], x["audio"], x["vision"]
    with pytest.raises(TypeError, match=r"audio: expected dtype float32 or float64, got int64"):
        model(t, np.zeros(a.shape, np.int64), v)
    with pytest.raises(TypeError, match=r"vision: expected an array .*got None"):
        model(t, a, None)
    with pytest.raises(TypeError, match=r"text: expected an array-like of numbers"):
        model(object(), a, v)
    with pytest.raises(ValueError, match=r"text: expected a 3-D array .*got shape \(4, 16\)"):
        model(t[:, 0, :], a, v)
    with pytest.raises(ValueError, match=r"audio: expected shape \(batch, steps, 5\) \(the "
                                         r"configuration's feature_dims\[1\]\).*got shape "
                                         r"\(4, 11, 6\)"):
        model(t, np.zeros((4, 11, 6), np.float32), v)
    with pytest.raises(ValueError, match=r"vision: expected 4 samples \(as text has\), got 3"):
        model(t, a, v[:3])
    with pytest.raises(ValueError, match=r"text: .*got shape \(4, 0, 16\)"):
        model(t[:, :0], a, v)
    with pytest.raises(ValueError, match=r"audio_lengths: expected lengths in \[0, 11\] .*12 at "
                                         r"index 2"):
        model(t, a, v, audio_lengths=np.array([1, 2, 12, 3]))
    with pytest.raises(TypeError, match=r"vision_lengths: expected an integer dtype, got float64"):
        model(t, a, v, vision_lengths=np.ones(4))
    with pytest.raises(ValueError, match=r"vision_lengths: expected 4 samples"):
        model(t, a, v, vision_lengths=np.ones(3, np.int64))


def test_a_model_built_for_other_lengths_says_so():
    # EF_LSTM's BatchNorm1d has one channel per aligned step: MMSA's model cannot run other
    # lengths, and neither can this one.
    name = "ef_lstm_mosi_regression"
    model = load(name)
    x = inputs(name)
    with pytest.raises(ValueError, match=r"models::ef_lstm: text input: expected \(4, 6, 16\)"):
        model(*(np.concatenate([x[k], x[k][:, :1]], axis=1) for k in ("text", "audio", "vision")))


def test_bad_files_and_options_raise_the_library_message():
    f = fixture_files("tfn_mosi_regression")
    with pytest.raises(ValueError, match=r"dtype: expected \"float32\" or \"float64\""):
        emofuse.models.load_mmsa("tfn", "mosi", f["config"], f["weights"], dtype="float16")
    with pytest.raises(ValueError, match=r"mode: expected \"regression\" or \"classification\""):
        emofuse.models.load_mmsa("tfn", "mosi", f["config"], f["weights"], mode="ranking")
    with pytest.raises(OSError, match=r"cannot open .*missing.json"):
        emofuse.models.load_mmsa("tfn", "mosi", os.path.join(DATA, "missing.json"), f["weights"])
    with pytest.raises(OSError, match=r"missing.pth"):
        emofuse.models.load_mmsa("tfn", "mosi", f["config"], os.path.join(DATA, "missing.pth"))
    with pytest.raises(ValueError, match=r"merged configuration is for model 'tfn', not 'lmf'"):
        emofuse.models.load_mmsa("lmf", "mosi", f["config"], f["weights"])
    # MMSA's own configuration file, merged for the dataset: its widths are not the fixture's.
    with pytest.raises(ValueError, match=r"Model\.\w+"):
        emofuse.models.load_mmsa("tfn", "mosi", os.path.join(DATA, "config_regression.json"),
                                 f["weights"])
    # Weights of another model: the loader names the tensors it does not use or misses.
    with pytest.raises(ValueError, match=r"Model\."):
        emofuse.models.load_mmsa("tfn", "mosi", f["config"],
                                 fixture_files("lmf_mosi_regression")["weights"])
    # MMSA's own Graph_MFN checkpoint lacks the vertex networks (test_graph_mfn.cpp).
    g = fixture_files("graph_mfn_mosi_regression")
    with pytest.raises(ValueError, match=r"'Model\.graph_mfn\.networks\.0_1\.0\.weight' \(100, 12\)"):
        emofuse.models.load_mmsa("graph_mfn", "mosi", g["config"],
                                 os.path.join(DATA, "graph_mfn_mosi_regression.pth"))


def test_stub_declares_the_bound_class():
    path = os.path.join(os.path.dirname(emofuse.__file__), "_core.pyi")
    with open(path, encoding="utf-8") as stream:
        tree = ast.parse(stream.read())
    models = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "models")
    declared = {n.name for n in models.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert {"model_names", "MmsaModel"} <= declared
    cls = next(n for n in models.body if isinstance(n, ast.ClassDef) and n.name == "MmsaModel")
    members = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    members |= {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign)}
    bound = {k for k in vars(emofuse._core.models.MmsaModel) if not k.startswith("_")}
    assert bound | {"__init__", "__call__"} == members
