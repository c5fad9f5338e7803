#!/usr/bin/env python3
"""Writes the committed pickle fixtures of tests/io/data/pkl (run with Debian's /usr/bin/python3,
which has numpy) and the seed corpus of tests/fuzz/corpus/pkl.

- values_p{2,3,4,5}.pkl: one dict pickled by pickle.dump at each protocol, holding every numeric
  dtype emofuse reads (little- and big-endian, C and Fortran order, a strided view, 0-d and
  empty arrays), str ('U') arrays in both byte orders, object arrays of str, NumPy scalars, and
  plain Python values (None, bools, ints, floats, str, bytes, lists, tuples, nested dicts);
  values.expected.npz holds each numeric array as emofuse must return it (C order,
  little-endian) under the same key;
- mmsa_mini_p{2,4,5}.pkl: a miniature MMSA feature file (train/valid/test splits with text,
  text_bert, audio, vision, raw_text, id, the labels and the lengths, as MMSA's loader reads
  them) whose "test" split holds the arrays of tests/models/data/tfn_mosi_regression.inputs.npz;
  the protocol 2 file stores audio big-endian and vision in Fortran order, so emofuse-predict
  must give the same outputs from all three; mmsa_mini.test_labels.txt holds the test split's
  regression labels as text, for emofuse-eval;
- hostile pickles built by hand: os.system by REDUCE, unknown globals, a declared size beyond
  the data, deep nesting, cycles, an object array of non-str.
"""
import os
import pickle
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "pkl")
CORPUS = os.path.join(HERE, "..", "fuzz", "corpus", "pkl")
MODELS = os.path.join(HERE, "..", "models", "data")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def values():
    rng = np.random.default_rng(14)
    numeric = {}
    for code in ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
        array = (rng.standard_normal((2, 3)) * 50).astype(code)
        numeric["le_" + code] = array
        if np.dtype(code).itemsize > 1:
            numeric["be_" + code] = array.astype(np.dtype(code).newbyteorder(">"))
    numeric["bool"] = np.array([[True, False, True], [False, False, True]])
    numeric["fortran_f4"] = np.asfortranarray(np.arange(24, dtype="f4").reshape(2, 3, 4))
    numeric["fortran_be_i8"] = np.asfortranarray(np.arange(6, dtype=">i8").reshape(3, 2))
    numeric["strided_f8"] = np.arange(40, dtype="f8").reshape(5, 8)[::2, 1::3]
    numeric["transposed_i4"] = np.arange(12, dtype="i4").reshape(3, 4).T
    numeric["zero_d"] = np.array(2.5, dtype="f4")
    numeric["empty"] = np.zeros((0, 3), dtype="f4")
    numeric["big"] = rng.standard_normal((3, 50, 7)).astype("f4")
    numeric["scalar_i8"] = np.int64(-7)
    numeric["scalar_f4"] = np.float32(0.1)
    value = dict(numeric)
    value["unicode"] = np.array(["happy", "", "Ünïcödé ☺", "😀x"])
    value["unicode_be"] = np.array(["ab", "c"], dtype=">U2")
    value["unicode_2d"] = np.array([["a", "bb"], ["ccc", "d"]])
    value["object_str"] = np.array(["video_1$_$0", "clip two", "ü"], dtype=object)
    value["plain"] = {
        "none": None,
        "true": True,
        "false": False,
        "int": 42,
        "negative": -123456789012,
        "float": -0.375,
        "str": "text ☺",
        "bytes": b"\x00\x01\xff",
        "list": [1, 2.5, "three", None],
        "tuple": (1, (2, 3)),
        7: "int key",
    }
    value["lengths_list"] = [3, 0, 5]
    value["labels_list"] = [0.5, -1.0, 2.0]
    value["scalars_list"] = [np.int64(1), np.int64(2)]
    expected = {}
    for key, array in numeric.items():
        array = np.array(array, order="C", copy=True)
        expected[key] = array.astype(array.dtype.newbyteorder("<"))
    expected["lengths_list"] = np.array([3, 0, 5], dtype="i8")
    expected["labels_list"] = np.array([0.5, -1.0, 2.0], dtype="f8")
    expected["scalars_list"] = np.array([1, 2], dtype="i8")
    return value, expected


def mmsa_mini(protocol):
    """An MMSA-shaped feature file; big-endian audio and Fortran vision at protocol 2."""
    test = dict(np.load(os.path.join(MODELS, "tfn_mosi_regression.inputs.npz")))
    samples = test["text"].shape[0]
    rng = np.random.default_rng(50)

    def split(count, base):
        return {
            "raw_text": np.array([f"utterance {base + i} ☺" for i in range(count)], dtype=object),
            "id": np.array([f"video{base}$_${i}" for i in range(count)], dtype=object),
            "text_bert": rng.standard_normal((count, 3, 7)).astype("f4"),
            "regression_labels": np.round(rng.uniform(-3, 3, count), 1).astype("f4"),
            "classification_labels": rng.integers(0, 3, count).astype("f4"),
            "regression_labels_T": np.round(rng.uniform(-1, 1, count), 1).astype("f4"),
        }

    splits = {}
    for name, count, base in [("train", 6, 100), ("valid", 3, 200)]:
        part = split(count, base)
        part["text"] = rng.standard_normal((count, 7, 16)).astype("f4")
        part["audio"] = rng.standard_normal((count, 11, 5)).astype("f4")
        part["vision"] = rng.standard_normal((count, 9, 7)).astype("f4")
        part["audio_lengths"] = [int(v) for v in rng.integers(1, 12, count)]
        part["vision_lengths"] = rng.integers(1, 10, count)
        splits[name] = part
    part = split(samples, 300)
    part["text"] = test["text"]
    part["audio"] = test["audio"]
    part["vision"] = test["vision"]
    # MMSA's files hold the lengths as a list or an array: one of each.
    part["audio_lengths"] = [int(v) for v in test["audio_lengths"]]
    part["vision_lengths"] = test["vision_lengths"]
    if protocol == 2:
        part["audio"] = part["audio"].astype(">f4")
        part["vision"] = np.asfortranarray(part["vision"])
    splits["test"] = part
    return splits


def opcodes(*parts):
    return b"".join(parts)


def short_unicode(text):
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def hostile():
    p4 = b"\x80\x04"
    files = {}
    # REDUCE of os.system: the GLOBAL is refused before anything could be called.
    files["os_system.pkl"] = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00lsq\x00\x85R."
    files["builtins_eval.pkl"] = opcodes(p4, short_unicode("builtins"), short_unicode("eval"),
                                         b"\x93", short_unicode("1"), b"\x85R.")
    files["torch_global.pkl"] = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n."
    files["inst.pkl"] = b"\x80\x02(X\x02\x00\x00\x00lsios\nsystem\n."
    # An array whose shape declares far more elements than its data holds.
    good = pickle.dumps(np.arange(4, dtype="f4"), protocol=4)
    shape_at = good.index(b"K\x04\x85")
    files["huge_shape.pkl"] = (good[:shape_at] + b"\x8a\x08" + struct.pack("<q", 2**62) +
                               good[shape_at + 2:])
    # BINBYTES8 declaring more bytes than the file holds.
    files["huge_bytes.pkl"] = p4 + b"\x8e" + struct.pack("<Q", 2**60) + b"abc."
    files["deep_marks.pkl"] = p4 + b"(" * 5000 + b"."
    files["deep_lists.pkl"] = p4 + b"]" * 3000 + b"a" * 2999 + b"."
    files["cycle.pkl"] = p4 + b"]\x94h\x00a."
    files["object_int.pkl"] = pickle.dumps({"id": np.array([1, "x"], dtype=object)}, protocol=4)
    files["complex.pkl"] = pickle.dumps(np.zeros(2, dtype="c8"), protocol=4)
    files["structured.pkl"] = pickle.dumps(np.zeros(2, dtype=[("a", "f4")]), protocol=4)
    files["set.pkl"] = pickle.dumps({1, 2}, protocol=4)
    files["protocol0.pkl"] = pickle.dumps({"a": [1]}, protocol=0)
    return files


def main():
    os.makedirs(DATA, exist_ok=True)
    os.makedirs(CORPUS, exist_ok=True)
    value, expected = values()
    for protocol in (2, 3, 4, 5):
        write(os.path.join(DATA, f"values_p{protocol}.pkl"), pickle.dumps(value, protocol=protocol))
    np.savez(os.path.join(DATA, "values.expected.npz"), **expected)
    for protocol in (2, 4, 5):
        write(os.path.join(DATA, f"mmsa_mini_p{protocol}.pkl"),
              pickle.dumps(mmsa_mini(protocol), protocol=protocol))
    labels = mmsa_mini(4)["test"]["regression_labels"]
    with open(os.path.join(DATA, "mmsa_mini.test_labels.txt"), "w") as f:
        f.writelines(f"{float(v)!r}\n" for v in labels)
    for name, data in hostile().items():
        write(os.path.join(DATA, "hostile_" + name), data)
    # Seeds: small valid pickles of every form, and two hostile ones.
    seeds = {
        "p2_array.pkl": pickle.dumps({"a": np.arange(3, dtype=">i4")}, protocol=2),
        "p3_fortran.pkl": pickle.dumps(np.asfortranarray(np.ones((2, 2), "f8")), protocol=3),
        "p4_strings.pkl": pickle.dumps({"id": np.array(["a", "b"], dtype=object),
                                        "u": np.array(["xy"])}, protocol=4),
        "p5_frombuffer.pkl": pickle.dumps({"t": np.zeros((2, 3), "f4"),
                                           "s": np.float32(1)}, protocol=5),
        "p4_plain.pkl": pickle.dumps({"l": [1, 2.5, None, True, b"b", (1,)]}, protocol=4),
        "mmsa.pkl": pickle.dumps({"test": {"text": np.zeros((1, 2, 2), "f4"),
                                           "audio_lengths": [2]}}, protocol=4),
        "os_system.pkl": hostile()["os_system.pkl"],
    }
    for name, data in seeds.items():
        write(os.path.join(CORPUS, name), data)


if __name__ == "__main__":
    main()
