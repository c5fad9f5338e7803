"""The safetensors writer every fixture generator uses (the Python `safetensors` package is not
installed): 8-byte little-endian header length, JSON header (padded with spaces to 8 bytes),
then the raw little-endian tensor bytes, following the format's specification.

Tensors may be numpy arrays or torch tensors. The JSON key order is part of a file's bytes, so
the two orders the committed fixtures use are both offered: by name (attention, fusion) or by
element size, largest first, then name (io; the reference writer's alignment-friendly order),
with the metadata entry first or last.
"""

import json
import struct

import numpy as np

NUMPY_DTYPES = {
    np.dtype("float16"): "F16", np.dtype("float32"): "F32", np.dtype("float64"): "F64",
    np.dtype("int8"): "I8", np.dtype("int16"): "I16", np.dtype("int32"): "I32",
    np.dtype("int64"): "I64", np.dtype("uint8"): "U8", np.dtype("bool"): "BOOL",
}


def _torch_dtypes():
    import torch
    return {
        torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32",
        torch.float64: "F64", torch.int8: "I8", torch.int16: "I16", torch.int32: "I32",
        torch.int64: "I64", torch.uint8: "U8", torch.bool: "BOOL",
    }


def dtype_name(value):
    """The safetensors dtype name ("F32", "BF16", …) of a numpy array or torch tensor."""
    return _entry(value)[0]


def _entry(value):
    """(dtype name, shape, little-endian bytes, element size) of a numpy array or torch tensor."""
    if hasattr(value, "detach"):
        import torch
        t = value.detach().contiguous().cpu()
        if t.dtype in (torch.float16, torch.bfloat16):
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raw = t.numpy().tobytes()
        return _torch_dtypes()[t.dtype], list(t.shape), raw, t.element_size()
    arr = np.ascontiguousarray(value)
    raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    return NUMPY_DTYPES[arr.dtype], list(arr.shape), raw, arr.dtype.itemsize


def save_safetensors(path, tensors, metadata=None, order="name", metadata_first=False):
    """Writes `tensors` (name -> array or tensor) and optional string `metadata` to `path`.

    order: "name" sorts by name; "size" by element size, largest first, then name.
    metadata_first: where the "__metadata__" entry goes in the JSON header.
    """
    entries = {name: _entry(value) for name, value in tensors.items()}
    if order == "name":
        names = sorted(entries)
    elif order == "size":
        names = sorted(entries, key=lambda n: (-entries[n][3], n))
    else:
        raise ValueError("order must be 'name' or 'size', got %r" % (order,))
    meta = {k: str(v) for k, v in metadata.items()} if metadata else None
    header, blobs, offset = {}, [], 0
    if meta and metadata_first:
        header["__metadata__"] = meta
    for name in names:
        dtype, shape, raw, _ = entries[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if meta and not metadata_first:
        header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
