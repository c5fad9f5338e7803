#!/usr/bin/env python3
"""Writes the committed .pth fixtures of tests/io/data/pth (run with Debian's /usr/bin/python3,
which has torch 1.13 and numpy) and the seed corpus of tests/fuzz/corpus/pth.

- checkpoints written by torch.save itself: every storage dtype, views of shared storages with
  offsets, a transposed (non-contiguous) and an expanded (stride-0) tensor, 0-d and empty
  tensors, tied weights, an nn.Module state dict with `_metadata`, a nested checkpoint
  ({'epoch', 'state_dict', 'optimizer'}), a complex tensor, and the legacy (pre-1.6) format;
  each readable one comes with an .npz of the values emofuse must produce (bfloat16 as its
  uint16 bit patterns, since numpy has no bfloat16);
- re-packed variants: big-endian storages with a `byteorder` member, DEFLATE-compressed
  members, ZIP64 local headers, the "archive/" prefix newer torch versions use;
- hostile files built by hand: pickles naming `os system` or `builtins eval`, forbidden
  opcodes, deep and cyclic structures, views past their storage, lying storage sizes, and ZIP
  archives whose headers lie (sizes beyond the file, overlapping members, local and central
  headers that disagree, duplicate names, bad CRC, unknown compression, encryption).
"""
import io
import os
import pickletools
import shutil
import struct
import zipfile
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "pth")
CORPUS = os.path.join(HERE, "..", "fuzz", "corpus", "pth")


def expected_arrays(state):
    """The arrays emofuse must read: C-order copies, bfloat16 as uint16 bits."""
    arrays = {}
    for name, tensor in state.items():
        tensor = tensor.detach().contiguous()
        if tensor.dtype == torch.bfloat16:
            arrays[name] = tensor.view(torch.int16).numpy().view(np.uint16).copy()
        else:
            arrays[name] = tensor.numpy().copy()
    return arrays


def flatten(value, prefix=""):
    """Tensors of nested dicts/lists with '.' joins, as io::load_pth flattens them."""
    out = {}
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, torch.Tensor):
            out[name] = item
        elif isinstance(item, (dict, list, tuple)):
            out.update(flatten(item, name))
    return out


def save_with_expected(name, state, expected=None):
    path = os.path.join(DATA, name + ".pth")
    torch.save(state, path)
    np.savez(os.path.join(DATA, name + ".npz"), **expected_arrays(expected or state))
    return path


def torch_members(path):
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def repack(source, target, rename=None, transform=None, extra=(), compression=zipfile.ZIP_STORED,
           force_zip64=False):
    """Writes the members of a torch.save file again with Python's zipfile."""
    with zipfile.ZipFile(target, "w", compression) as out:
        for name, data in torch_members(source):
            if rename:
                name = rename(name)
            if transform:
                data = transform(name, data)
            with out.open(zipfile.ZipInfo(name), "w", force_zip64=force_zip64) as member:
                member.write(data)
        for name, data in extra:
            out.writestr(zipfile.ZipInfo(name), data)  # fixed date: reproducible bytes


# --- hand-made pickles --------------------------------------------------------------------

def text(value):
    raw = value.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def integer(value):
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if -2**31 <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    raw = value.to_bytes(9, "little", signed=True).rstrip(b"\x00") or b"\x00"
    if raw[-1] & 0x80:
        raw += b"\x00"
    return b"\x8a" + bytes([len(raw)]) + raw


def int_tuple(values):
    return b"(" + b"".join(integer(v) for v in values) + b"t"


EMPTY_ORDERED_DICT = b"ccollections\nOrderedDict\n)R"


def tensor(key, numel, size, stride, offset=0, storage="FloatStorage"):
    persistent_id = (b"(" + text("storage") + b"ctorch\n" + storage.encode() + b"\n" + text(key) +
                     text("cpu") + integer(numel) + b"t")
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" + persistent_id + b"Q" + integer(offset) +
            int_tuple(size) + int_tuple(stride) + b"\x89" + EMPTY_ORDERED_DICT + b"tR")


def state_pickle(*pairs):
    return b"\x80\x02}(" + b"".join(text(k) + v for k, v in pairs) + b"u."


def write_checkpoint(name, pickle, storages=(), prefix="archive/"):
    """A stored zip laid out as torch.save lays it out."""
    with zipfile.ZipFile(os.path.join(DATA, name), "w") as out:
        out.writestr(zipfile.ZipInfo(f"{prefix}data.pkl"), pickle)
        for key, data in storages:
            out.writestr(zipfile.ZipInfo(f"{prefix}data/{key}"), data)
        out.writestr(zipfile.ZipInfo(f"{prefix}version"), b"3\n")


FOUR_FLOATS = np.arange(4, dtype="<f4").tobytes()


def hostile_pickles():
    evil = b"\x80\x02cos\nsystem\n" + text("echo pwned") + b"\x85R."
    write_checkpoint("evil_os_system.pth", evil)
    write_checkpoint("evil_builtins_eval.pth",
                     b"\x80\x02}" + text("a") + b"cbuiltins\neval\n" + text("1+1") + b"\x85Rs.")
    write_checkpoint("evil_inst.pth", b"\x80\x02(" + text("ls") + b"ios\nsystem\n.")
    write_checkpoint("evil_newobj.pth", b"\x80\x02" + EMPTY_ORDERED_DICT[:-2] + b")\x81.")
    write_checkpoint("evil_ext1.pth", b"\x80\x02\x82\x01.")
    write_checkpoint("unknown_opcode.pth", b"\x80\x02\xff.")
    write_checkpoint("storage_call.pth", b"\x80\x02ctorch\nFloatStorage\n)R.")
    write_checkpoint("deep_marks.pth", b"\x80\x02" + b"(" * 2000 + b"t" * 2000 + b".")
    # {'a': [[[...]]]}: 2000 nested lists, each appended to its parent.
    write_checkpoint("deep_lists.pth",
                     b"\x80\x02}" + text("a") + b"]" * 2000 + b"a" * 1999 + b"s.")
    # {'a': L} with L.append(L).
    write_checkpoint("cyclic.pth", b"\x80\x02}" + text("a") + b"]q\x01h\x01as.")
    write_checkpoint("memo_missing.pth", b"\x80\x02}" + text("a") + b"h\x05s.")
    good = state_pickle(("w", tensor("0", 4, [2, 2], [2, 1])))
    write_checkpoint("truncated_pickle.pth", good[:len(good) // 2], [("0", FOUR_FLOATS)])
    write_checkpoint("duplicate_names.pth",
                     state_pickle(("w", tensor("0", 4, [4], [1])), ("w", tensor("0", 4, [4], [1]))),
                     [("0", FOUR_FLOATS)])
    write_checkpoint("view_past_storage.pth",
                     state_pickle(("w", tensor("0", 4, [3], [1], offset=2))), [("0", FOUR_FLOATS)])
    write_checkpoint("huge_numel.pth",
                     state_pickle(("w", tensor("0", 4, [2**40, 2**20], [1, 1]))),
                     [("0", FOUR_FLOATS)])
    write_checkpoint("huge_expand.pth",
                     state_pickle(("w", tensor("0", 4, [2**31, 2**10], [0, 0]))),
                     [("0", FOUR_FLOATS)])
    write_checkpoint("numel_lies.pth", state_pickle(("w", tensor("0", 1000, [4], [1]))),
                     [("0", FOUR_FLOATS)])
    write_checkpoint("missing_storage.pth", state_pickle(("w", tensor("7", 4, [4], [1]))),
                     [("0", FOUR_FLOATS)])
    # A storage used as float and as int64 under one key.
    write_checkpoint("storage_retyped.pth",
                     state_pickle(("a", tensor("0", 4, [4], [1])),
                                  ("b", tensor("0", 2, [2], [1], storage="LongStorage"))),
                     [("0", FOUR_FLOATS)])
    write_checkpoint("not_a_dict.pth", b"\x80\x02].")
    write_checkpoint("no_prefix.pth", state_pickle(), prefix="")


# --- hand-made ZIP archives ---------------------------------------------------------------

def raw_zip(members):
    """Stored ZIP from dicts with name/data and optional lies: local_name, local_size,
    central_size, central_offset, crc, method, flags."""
    out, central = bytearray(), bytearray()
    for member in members:
        data, name = member["data"], member["name"].encode()
        crc = member.get("crc", zlib.crc32(data))
        method, flags = member.get("method", 0), member.get("flags", 0)
        local_name = member.get("local_name", member["name"]).encode()
        local_size = member.get("local_size", len(data))
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21, crc,
                           local_size, local_size, len(local_name), 0) + local_name + data
        size = member.get("central_size", len(data))
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0x21,
                               crc, size, size, len(name), 0, 0, 0, 0, 0,
                               member.get("central_offset", offset)) + name
    directory_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                       directory_offset, 0)
    return bytes(out)


def hostile_zips():
    pickle = state_pickle(("w", tensor("0", 4, [4], [1])))

    def members(**lies):
        base = [{"name": "archive/data.pkl", "data": pickle},
                {"name": "archive/data/0", "data": FOUR_FLOATS},
                {"name": "archive/version", "data": b"3\n"}]
        base[1].update(lies)
        return base

    cases = {
        "zip_valid.pth": members(),
        "zip_size_beyond_file.pth": members(central_size=10**9, local_size=10**9),
        "zip_local_name.pth": members(local_name="archive/data/9"),
        "zip_local_size.pth": members(local_size=8),
        "zip_bad_crc.pth": members(crc=0x12345678),
        "zip_method.pth": members(method=12),
        "zip_encrypted.pth": members(flags=1),
        "zip_duplicate.pth": members() + [{"name": "archive/data/0", "data": FOUR_FLOATS}],
    }
    # The pickle member claims 40 more bytes, running into the storage's local header.
    cases["zip_overlap.pth"] = members()
    for name, member_list in cases.items():
        data = raw_zip(member_list)
        if name == "zip_overlap.pth":
            data = bytearray(data)
            # Patch the pickle's sizes (local at 18/22, central after the data) by +40.
            size = len(pickle)
            data[18:26] = struct.pack("<II", size + 40, size + 40)
            central = data.index(b"PK\x01\x02")
            data[central + 20:central + 28] = struct.pack("<II", size + 40, size + 40)
            data = bytes(data)
        with open(os.path.join(DATA, name), "wb") as f:
            f.write(data)


def main():
    shutil.rmtree(DATA, ignore_errors=True)
    os.makedirs(DATA)
    torch.manual_seed(15)

    dtypes = {
        "float32": torch.randn(2, 3),
        "float64": torch.randn(3, dtype=torch.float64),
        "float16": torch.randn(2, 2).half(),
        "bfloat16": torch.randn(5).bfloat16(),
        "int64": torch.tensor([-(2**40), 0, 2**40 + 7]),
        "int32": torch.tensor([[-7, 8], [2**31 - 1, -(2**31)]], dtype=torch.int32),
        "int16": torch.tensor([-300, 301], dtype=torch.int16),
        "int8": torch.tensor([-128, 5, 127], dtype=torch.int8),
        "uint8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
    }
    dtypes_path = save_with_expected("dtypes", dtypes)

    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    tied = torch.randn(2, 3)
    views = {
        "base": base,
        "row": base[1],                       # offset 4 into the shared storage
        "column": base[:, 2],                 # stride 4
        "transposed": base.t(),               # non-contiguous
        "window": base.view(-1)[5:9],         # offset 5, contiguous
        "block": base[1:, 1:3],               # offset 5, strides (4, 1)
        "expanded": torch.tensor([1.0, 2.0, 3.0]).expand(2, 3),  # stride 0
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "tied_a": tied,
        "tied_b": tied,                       # the same tensor object: a memo reference
        "long_view": torch.arange(10)[2::3],  # int64, offset 2, stride 3
    }
    views_path = save_with_expected("views", views)

    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                                 torch.nn.LSTM(3, 2, batch_first=True))
    module[1].running_mean.normal_()
    save_with_expected("module", module.state_dict())

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    nested = {"epoch": 7, "state_dict": model.state_dict(), "optimizer": optimizer.state_dict()}
    save_with_expected("nested", nested, flatten(nested))

    torch.save({"z": torch.ones(2, dtype=torch.complex64)}, os.path.join(DATA, "complex.pth"))
    torch.save({"w": torch.ones(2)}, os.path.join(DATA, "legacy.pth"),
               _use_new_zipfile_serialization=False)

    # Big-endian storages (what torch >= 2.1 writes on a big-endian host).
    # Storage key -> storage type, from the pickle (each dtype has its own storage type here,
    # so every type appears as a GLOBAL right before its key).
    keys = {}
    with zipfile.ZipFile(dtypes_path) as archive:
        for opcode, arg, _ in pickletools.genops(archive.read("dtypes/data.pkl")):
            if opcode.name == "GLOBAL" and arg.endswith("Storage"):
                pending_type = arg.split()[1]
            elif opcode.name == "BINUNICODE" and arg.isdigit():
                keys[arg] = pending_type
    item_size = {"FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
                 "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
                 "ByteStorage": 1, "BoolStorage": 1}

    def to_big_endian(name, data):
        key = name.rsplit("/", 1)[-1]
        if "/data/" not in name:
            return data
        size = item_size[keys[key]]
        return b"".join(data[i:i + size][::-1] for i in range(0, len(data), size))

    repack(dtypes_path, os.path.join(DATA, "big_endian.pth"), transform=to_big_endian,
           extra=[("dtypes/byteorder", b"big")])
    repack(dtypes_path, os.path.join(DATA, "little_endian.pth"),
           extra=[("dtypes/byteorder", b"little")])
    repack(dtypes_path, os.path.join(DATA, "bad_byteorder.pth"),
           extra=[("dtypes/byteorder", b"middle")])
    repack(views_path, os.path.join(DATA, "deflated.pth"), compression=zipfile.ZIP_DEFLATED)
    repack(views_path, os.path.join(DATA, "zip64.pth"), force_zip64=True)
    repack(views_path, os.path.join(DATA, "archive_prefix.pth"),
           rename=lambda name: "archive/" + name.split("/", 1)[1])

    hostile_pickles()
    hostile_zips()

    # Sanity: torch reads the re-packed archives like the originals.
    for name in ("deflated", "zip64", "archive_prefix"):
        loaded = torch.load(os.path.join(DATA, name + ".pth"))
        assert all(torch.equal(loaded[k], views[k]) for k in views), name
    assert torch.load(os.path.join(DATA, "zip_valid.pth"))["w"].tolist() == [0, 1, 2, 3]

    shutil.rmtree(CORPUS, ignore_errors=True)
    os.makedirs(CORPUS)
    for name in ("dtypes.pth", "views.pth", "module.pth", "nested.pth", "big_endian.pth",
                 "deflated.pth", "zip64.pth", "evil_os_system.pth", "cyclic.pth",
                 "duplicate_names.pth", "zip_overlap.pth", "legacy.pth"):
        shutil.copy(os.path.join(DATA, name), os.path.join(CORPUS, name))
    # Bare pickles: fuzz_pth also decodes each input as data.pkl on its own.
    for name in ("dtypes", "views", "module", "nested"):
        with zipfile.ZipFile(os.path.join(DATA, name + ".pth")) as archive:
            with open(os.path.join(CORPUS, name + ".pkl"), "wb") as f:
                f.write(archive.read(name + "/data.pkl"))

    total = sum(os.path.getsize(os.path.join(DATA, f)) for f in os.listdir(DATA))
    print(f"wrote {len(os.listdir(DATA))} files, {total} bytes, to {DATA}")


if __name__ == "__main__":
    main()
