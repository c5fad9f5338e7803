#!/usr/bin/env python3
"""Writes the committed fixtures of tests/io (run with Debian's /usr/bin/python3).

- *.npy files written by numpy itself (np.save / np.lib.format.write_array), covering every
  dtype emofuse reads, big-endian data, Fortran order, format versions 1.0/2.0/3.0, a scalar
  and an empty array;
- *.safetensors files written from torch tensors by tests/support/safetensors_writer.py (the
  Python `safetensors` package is not installed), following the format's reference writer: 8-byte
  little-endian header length, JSON header padded with spaces to a multiple of 8, tensors
  ordered by element size (largest first) then name;
- expected.json: for every tensor, dtype, shape and the values as numbers (NaN/Inf spelled as
  strings) plus, for float tensors, the exact float32/float64 bit patterns emofuse must produce.
"""
import json
import math
import os
import sys
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from safetensors_writer import dtype_name, save_safetensors  # noqa: E402

def write_safetensors(path, tensors, metadata=None):
    """The shared writer with this module's order: element size (largest first) then name,
    metadata first."""
    save_safetensors(path, tensors, metadata, order="size", metadata_first=True)


def write_zip64_npz(path, arrays):
    """A stored .npz whose central directory and end record use the ZIP64 forms (every size
    and offset saturated and given in ZIP64 extra fields), which numpy writes only for
    archives over 4 GiB. Checked below by reading it back with zipfile and numpy."""
    import io as _io
    import zlib
    out, central = bytearray(), bytearray()
    for name, array in arrays.items():
        buffer = _io.BytesIO()
        np.save(buffer, array)
        data, member = buffer.getvalue(), (name + ".npy").encode()
        crc, offset = zlib.crc32(data), len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(member), 20)
        out += member + struct.pack("<HHQQ", 1, 16, len(data), len(data)) + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(member), 28, 0, 0, 0, 0, 0xFFFFFFFF)
        central += member + struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
    directory_offset = len(out)
    out += central
    end64_offset = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(arrays), len(arrays),
                       len(central), directory_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, end64_offset, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(out)
    with np.load(path) as loaded:
        for name, array in arrays.items():
            assert np.array_equal(loaded[name], array)


def number(x):
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
    return x


def describe(t):
    """Expected content of a torch tensor as emofuse must read it."""
    entry = {"dtype": dtype_name(t), "shape": list(t.shape)}
    flat = t.reshape(-1)
    if t.dtype.is_floating_point:
        as32 = flat.float()
        entry["values"] = [number(v) for v in as32.double().tolist()]
        entry["f32_bits"] = as32.view(torch.int32).tolist()
        entry["f32_bits"] = [b & 0xFFFFFFFF for b in entry["f32_bits"]]
        if t.dtype == torch.float64:
            entry["values"] = [number(v) for v in flat.tolist()]
            entry["f64_bits"] = [b & 0xFFFFFFFFFFFFFFFF for b in flat.view(torch.int64).tolist()]
    else:
        entry["values"] = [int(v) for v in flat.tolist()]
    return entry


NUMPY_DTYPE = {"f2": "F16", "f4": "F32", "f8": "F64", "i1": "I8", "i2": "I16", "i4": "I32",
               "i8": "I64", "u1": "U8", "u2": "U16", "u4": "U32", "u8": "U64", "b1": "BOOL"}


def describe_numpy(a):
    """Expected content of a numpy array (any byte order / memory order) in C order."""
    flat = np.ascontiguousarray(a).reshape(-1)
    entry = {"dtype": NUMPY_DTYPE[a.dtype.kind + str(a.dtype.itemsize)], "shape": list(a.shape)}
    if a.dtype.kind == "f":
        as32 = flat.astype(np.float32)
        entry["values"] = [number(float(v)) for v in as32]
        entry["f32_bits"] = [int(b) for b in as32.view(np.uint32)]
        if a.dtype.itemsize == 8:
            entry["values"] = [number(float(v)) for v in flat]
            entry["f64_bits"] = [int(b) for b in flat.astype("<f8").view(np.uint64)]
    else:
        entry["values"] = [int(v) for v in flat]
    return entry


def special_floats():
    # ±0, subnormals (smallest, largest), smallest normal, 1, max, ±inf, nan, and values
    # that round (so the stored bits matter).
    return torch.tensor([0.0, -0.0, 5.960464477539063e-08, 6.097555160522461e-05,
                         6.103515625e-05, 1.0, -2.5, 65504.0, float("inf"), float("-inf"),
                         float("nan"), 0.1, 1.0 / 3.0, -1e-6, 3.0e38, 1e-40],
                        dtype=torch.float32)


def main():
    os.makedirs(DATA, exist_ok=True)
    expected = {"npy": {}, "safetensors": {}}
    rng = np.random.default_rng(20261125)

    # ---- .npy written by numpy ----
    npy = {
        "f4_2x3": rng.standard_normal((2, 3)).astype("<f4"),
        "f8_5": rng.standard_normal(5).astype("<f8"),
        "f2_special": special_floats().half().numpy().astype("<f2"),
        "i1": np.array([-128, -1, 0, 1, 127], dtype="i1"),
        "i2": np.array([[-32768, 7], [0, 32767]], dtype="<i2"),
        "i4": np.array([-2147483648, 0, 2147483647], dtype="<i4"),
        "i8": np.array([-(2 ** 63), -1, 2 ** 53 + 1, 2 ** 63 - 1], dtype="<i8"),
        "u1": np.array([0, 1, 200, 255], dtype="u1"),
        "u2": np.array([0, 65535], dtype="<u2"),
        "u4": np.array([0, 4294967295], dtype="<u4"),
        "u8": np.array([0, 2 ** 64 - 1], dtype="<u8"),
        "b1": np.array([[True, False, True], [False, False, True]]),
        "be_f4": rng.standard_normal((3, 2)).astype(">f4"),
        "be_i8": np.array([1, -2, 2 ** 40 + 3], dtype=">i8"),
        "be_f2": special_floats().half().numpy().astype(">f2"),
        "fortran_f4_2x3x4": np.asfortranarray(np.arange(24, dtype="<f4").reshape(2, 3, 4) * 0.5),
        "fortran_i2_3x2": np.asfortranarray(np.arange(6, dtype="<i2").reshape(3, 2) - 3),
        "scalar_f8": np.array(3.25, dtype="<f8"),
        "empty_f4_0x3": np.zeros((0, 3), dtype="<f4"),
    }
    for name, array in npy.items():
        np.save(os.path.join(DATA, name + ".npy"), array)
        expected["npy"][name] = describe_numpy(array)
    for version in [(2, 0), (3, 0)]:
        name = "v%d_f4_2x2" % version[0]
        array = np.array([[1.5, -2.0], [0.25, 8.0]], dtype="<f4")
        with open(os.path.join(DATA, name + ".npy"), "wb") as f:
            np.lib.format.write_array(f, array, version=version)
        expected["npy"][name] = describe_numpy(array)

    # ---- .npz archives written by numpy ----
    archive = {"layer.0.weight": npy["f4_2x3"], "counts": npy["i8"], "halves": npy["f2_special"],
               "fortran": npy["fortran_i2_3x2"], "flag": np.array(True)}
    np.savez(os.path.join(DATA, "savez.npz"), **archive)
    expected["npz"] = {"savez": {k: describe_numpy(v) for k, v in archive.items()}}
    np.savez(os.path.join(DATA, "savez_empty.npz"))
    compressed = {"a": npy["f4_2x3"], "zeros": np.zeros((100, 50), dtype="<f4"),
                  "ramp": np.arange(3000, dtype="<i4") % 97,
                  "noise": rng.standard_normal(500).astype("<f8")}
    np.savez_compressed(os.path.join(DATA, "savez_compressed.npz"), **compressed)
    expected["npz"]["savez_compressed"] = {k: describe_numpy(v) for k, v in compressed.items()}

    # ---- raw DEFLATE streams (zlib) over one input, one per block kind ----
    import zlib
    text = b"".join(b"fusion layer %d weight %d; " % (i % 7, i % 13) for i in range(800))
    raw = (rng.integers(0, 256, size=8000, dtype=np.uint8).tobytes() + text +
           bytes(5000) + bytes(range(256)) * 10)
    with open(os.path.join(DATA, "deflate_input.bin"), "wb") as f:
        f.write(raw)
    for name, level, strategy in [("stored", 0, zlib.Z_DEFAULT_STRATEGY),
                                  ("fixed", 6, zlib.Z_FIXED),
                                  ("huffman_only", 6, zlib.Z_HUFFMAN_ONLY),
                                  ("rle", 6, zlib.Z_RLE),
                                  ("best", 9, zlib.Z_DEFAULT_STRATEGY)]:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
        stream = packer.compress(raw) + packer.flush()
        assert zlib.decompress(stream, -15) == raw
        with open(os.path.join(DATA, "deflate_%s.bin" % name), "wb") as f:
            f.write(stream)
    write_zip64_npz(os.path.join(DATA, "zip64.npz"), {"a": npy["f8_5"], "b": npy["b1"]})
    expected["npz"]["zip64"] = {"a": describe_numpy(npy["f8_5"]), "b": describe_numpy(npy["b1"])}
    # A stored archive with a non-.npy member (skipped by the reader) and a comment.
    import io as _io
    import zipfile
    with zipfile.ZipFile(os.path.join(DATA, "mixed_members.npz"), "w", zipfile.ZIP_STORED) as z:
        buffer = _io.BytesIO()
        np.save(buffer, npy["u1"])
        fixed_date = (1980, 1, 1, 0, 0, 0)  # reproducible bytes
        z.writestr(zipfile.ZipInfo("bytes.npy", date_time=fixed_date), buffer.getvalue())
        z.writestr(zipfile.ZipInfo("notes.txt", date_time=fixed_date), "not an array")
        z.comment = b"archive comment"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(os.path.join(DATA, "duplicate.npz"), "w", zipfile.ZIP_STORED) as z:
            for value in (npy["i1"], npy["u1"]):
                buffer = _io.BytesIO()
                np.save(buffer, value)
                z.writestr(zipfile.ZipInfo("x.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                           buffer.getvalue())

    # ---- .safetensors written from torch tensors ----
    torch.manual_seed(20261125)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3), torch.nn.Linear(3, 2))
    state = {k: v.detach() for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(DATA, "model.safetensors"), state, {"format": "pt"})
    expected["safetensors"]["model"] = {k: describe(v) for k, v in state.items()}
    # The same parameters one .npy per state-dict entry, for load_npy_directory.
    npy_dir = os.path.join(DATA, "model_npy")
    os.makedirs(npy_dir, exist_ok=True)
    for name, value in state.items():
        np.save(os.path.join(npy_dir, name + ".npy"), value.numpy())
    with open(os.path.join(npy_dir, "README.txt"), "w") as f:
        f.write("Parameters of model.safetensors, one .npy per state-dict entry.\n")

    specials = special_floats()
    mixed = {
        "half.special": specials.half(),
        "bfloat.special": specials.bfloat16(),
        "half.matrix": torch.randn(3, 5).half(),
        "bfloat.matrix": torch.randn(2, 3, 2).bfloat16(),
        "double.vector": torch.randn(4, dtype=torch.float64),
        "float.scalar": torch.tensor(-7.5),
        "float.empty": torch.zeros(0, 4),
        "int64.counts": torch.tensor([0, -5, 2 ** 62], dtype=torch.int64),
        "int32.ids": torch.tensor([[1, -2], [3, 2 ** 31 - 1]], dtype=torch.int32),
        "int16.small": torch.tensor([-300, 300], dtype=torch.int16),
        "int8.small": torch.tensor([-128, 5, 127], dtype=torch.int8),
        "uint8.bytes": torch.tensor([0, 17, 255], dtype=torch.uint8),
        "bool.mask": torch.tensor([[True, False], [False, True], [True, True]]),
    }
    write_safetensors(os.path.join(DATA, "mixed.safetensors"), mixed,
                      {"producer": "tests/io/generate_fixtures.py", "note": "all dtypes"})
    expected["safetensors"]["mixed"] = {k: describe(v) for k, v in mixed.items()}
    write_safetensors(os.path.join(DATA, "empty.safetensors"), {})
    expected["safetensors"]["empty"] = {}

    # ---- 16-bit float conversion tables (numpy for binary16, torch for bfloat16) ----
    # Every binary16 pattern widened to float32 by numpy: the exhaustive reference for
    # half_to_float.
    all_half = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    np.save(os.path.join(DATA, "half_to_float_bits.npy"),
            all_half.view(np.float16).astype(np.float32).view(np.uint32))
    # float32 inputs for the narrowing conversions: random bit patterns (every exponent,
    # NaNs included), exact halfway cases between neighbouring halves and bfloats, and the
    # overflow/underflow boundaries.
    random_bits = rng.integers(0, 2 ** 32, size=6000, dtype=np.uint64).astype(np.uint32)
    moderate = (rng.standard_normal(3000) * np.exp2(rng.integers(-30, 20, size=3000))).astype(np.float32)
    halves = rng.integers(0, 0x7C00, size=2000).astype(np.uint16).view(np.float16).astype(np.float32)
    half_ulp = np.spacing(halves.astype(np.float16)).astype(np.float32) / 2
    bfloats = (rng.integers(0, 0x7F80, size=2000).astype(np.uint32) << 16).view(np.float32)
    halfway_bf = ((bfloats.view(np.uint32)) | 0x8000).view(np.float32)
    edges = np.array([65504.0, 65519.996, 65520.0, 65536.0, 2.0 ** -24, 2.0 ** -25,
                      2.0 ** -25 * 1.0000001, 2.0 ** -14, 2.0 ** -14 * (1 - 2.0 ** -11),
                      3.4028235e38, 1e-45, 0.0, -0.0], dtype=np.float32)
    inputs = np.concatenate([random_bits.view(np.float32), moderate, halves + half_ulp,
                             -(halves - half_ulp), halfway_bf, -halfway_bf, edges, -edges])
    with np.errstate(over="ignore", invalid="ignore"):
        to_half = inputs.astype(np.float16).view(np.uint16)
    to_bfloat = torch.from_numpy(inputs.copy()).bfloat16().view(torch.int16).numpy().view(np.uint16)
    np.save(os.path.join(DATA, "narrowing_inputs_f32_bits.npy"), inputs.view(np.uint32))
    np.save(os.path.join(DATA, "narrowing_half_bits.npy"), to_half)
    np.save(os.path.join(DATA, "narrowing_bfloat16_bits.npy"), to_bfloat)

    with open(os.path.join(DATA, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
