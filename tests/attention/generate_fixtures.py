#!/usr/bin/python3
"""Parity fixtures for emofuse's attention module.

Run with Debian's python3 (torch, numpy): /usr/bin/python3 tests/attention/generate_fixtures.py
Writes tests/attention/data/<case>.safetensors. Every case holds its inputs, parameters and the
expected output computed in float64 by PyTorch: torch.nn.MultiheadAttention itself for MHA, and
modules written here from the math (REFERENCE.md "Attention") for scaled dot-product attention,
MulT layers/stacks/model, pooling and connectors. Inputs and parameters are drawn in float32 and
stored exactly, so the C++ float32 and float64 paths see the same numbers.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- safetensors
def save_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer: 8-byte little-endian header size, JSON header, raw bytes."""
    dtypes = {np.dtype("float64"): "F64", np.dtype("float32"): "F32",
              np.dtype("int64"): "I64", np.dtype("uint8"): "U8"}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtypes[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def f32(*shape, gen, scale=1.0):
    """float32 normal draws returned as float64 (exactly representable in float32)."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * scale).double()


def to_np(t):
    return t.detach().cpu().numpy()


def write(case, tensors, metadata=None):
    out = {}
    for k, v in tensors.items():
        if isinstance(v, torch.Tensor):
            v = to_np(v)
        out[k] = np.asarray(v)
    save_safetensors(os.path.join(DATA, case + ".safetensors"), out, metadata)


# ----------------------------------------------------------------------------- masks
def shifted_triangle(tq, tk):
    """MulT's buffered_future_mask: triu(-inf, 1 + |tk - tq|)."""
    return torch.triu(torch.full((tq, tk), float("-inf"), dtype=torch.float64),
                      1 + abs(tk - tq))


def causal_triangle(tq, tk):
    return torch.triu(torch.full((tq, tk), float("-inf"), dtype=torch.float64), 1)


def padding_additive(lengths, tk):
    """(B, 1, tk) additive mask from key lengths."""
    m = torch.zeros(len(lengths), 1, tk, dtype=torch.float64)
    for b, n in enumerate(lengths):
        m[b, 0, n:] = float("-inf")
    return m


def softmax_attention(q, k, v, additive, scale):
    """softmax(q k^T * scale + additive) v; rows with no finite score are zero."""
    s = q @ k.transpose(-1, -2) * scale + additive
    finite = torch.isfinite(s).any(dim=-1, keepdim=True)
    s = torch.where(finite, s, torch.zeros_like(s))
    p = torch.softmax(s, dim=-1)
    p = torch.where(finite, p, torch.zeros_like(p))
    return p @ v


# ----------------------------------------------------------------------------- SDPA
def sdpa_case(case, gen, B, tq, tk, dk, dv, lengths=None, valid=None, future="none",
              additive=False, scale=None):
    q, k, v = f32(B, tq, dk, gen=gen), f32(B, tk, dk, gen=gen), f32(B, tk, dv, gen=gen)
    mask = torch.zeros(B, tq, tk, dtype=torch.float64)
    tensors = {"query": q, "key": k, "value": v}
    if lengths is not None:
        mask = mask + padding_additive(lengths, tk)
        tensors["key_lengths"] = np.array(lengths, dtype=np.int64)
        # Padding frames hold garbage that must never leak into the result.
        for b, n in enumerate(lengths):
            k[b, n:] = float("nan")
            v[b, n:] = float("inf")
    if valid is not None:
        valid_t = torch.tensor(valid, dtype=torch.bool)
        mask = mask.masked_fill(~valid_t[:, None, :], float("-inf"))
        tensors["key_valid"] = np.array(valid, dtype=np.uint8)
    if future == "causal":
        mask = mask + causal_triangle(tq, tk)
    elif future == "shifted":
        mask = mask + shifted_triangle(tq, tk)
    if additive:
        add = f32(B, tq, tk, gen=gen)
        add[torch.rand(B, tq, tk, generator=gen) < 0.2] = float("-inf")
        mask = mask + add
        tensors["additive"] = add
    sc = 1.0 / math.sqrt(dk) if scale is None else scale
    kk = torch.nan_to_num(k, nan=0.0)
    vv = torch.nan_to_num(v, posinf=0.0)
    tensors["expected"] = softmax_attention(q, kk, vv, mask, sc)
    meta = {"future": future}
    if scale is not None:
        meta["scale"] = repr(scale)
    write(case, tensors, meta)


# ----------------------------------------------------------------------------- MHA
def mha_case(case, gen, B, tq, tk, d, heads, batch_first=True, self_attn=False, lengths=None,
             attn_mask=None, bias=True):
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    mha = nn.MultiheadAttention(d, heads, bias=bias, batch_first=batch_first).double().eval()
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(f32(*p.shape, gen=gen, scale=0.3))
    shape_q = (B, tq, d) if batch_first else (tq, B, d)
    shape_k = (B, tk, d) if batch_first else (tk, B, d)
    q = f32(*shape_q, gen=gen)
    if self_attn:
        k = v = q
    else:
        k, v = f32(*shape_k, gen=gen), f32(*shape_k, gen=gen)
    kpm = None
    tensors = {"query": q, "key": k, "value": v, "in_proj_weight": mha.in_proj_weight,
               "out_proj.weight": mha.out_proj.weight}
    if bias:
        tensors["in_proj_bias"] = mha.in_proj_bias
        tensors["out_proj.bias"] = mha.out_proj.bias
    if lengths is not None:
        kpm = torch.zeros(B, tk, dtype=torch.bool)
        for b, n in enumerate(lengths):
            kpm[b, n:] = True
        tensors["key_lengths"] = np.array(lengths, dtype=np.int64)
    if attn_mask is not None:
        tensors["additive"] = attn_mask if attn_mask.dim() == 3 else attn_mask[None]
    with torch.no_grad():
        out, _ = mha(q, k, v, key_padding_mask=kpm, attn_mask=attn_mask, need_weights=False)
    # torch yields NaN for a query that sees no key; emofuse defines the attention vector as
    # zero there, so the output is out_proj.bias.
    fill = mha.out_proj.bias if bias else torch.zeros(d, dtype=torch.float64)
    nan_rows = torch.isnan(out).any(dim=-1)
    out = torch.where(nan_rows[..., None], fill.expand_as(out), out)
    tensors["expected"] = out
    write(case, tensors, {"heads": heads,
                          "layout": "batch_first" if batch_first else "sequence_first",
                          "fully_masked_rows": int(nan_rows.sum())})


def main():
    os.makedirs(DATA, exist_ok=True)
    gen = torch.Generator().manual_seed(20261125)

    sdpa_case("sdpa_plain", gen, B=2, tq=7, tk=19, dk=8, dv=6)
    sdpa_case("sdpa_lengths_valid", gen, B=3, tq=5, tk=23, dk=4, dv=3, lengths=[23, 9, 17],
              valid=[[1] * 23, [1, 0] * 11 + [1], [0] * 5 + [1] * 18])
    sdpa_case("sdpa_causal", gen, B=2, tq=9, tk=9, dk=5, dv=5, future="causal")
    sdpa_case("sdpa_shifted", gen, B=2, tq=6, tk=20, dk=5, dv=5, future="shifted",
              lengths=[20, 11])
    sdpa_case("sdpa_additive", gen, B=2, tq=6, tk=13, dk=3, dv=7, additive=True, scale=0.25)
    sdpa_case("sdpa_fully_masked", gen, B=3, tq=4, tk=6, dk=4, dv=4, lengths=[0, 6, 3],
              valid=[[1] * 6, [0] * 6, [0, 0, 1, 1, 1, 1]])
    sdpa_case("sdpa_long", gen, B=2, tq=40, tk=600, dk=5, dv=5, lengths=[600, 301],
              future="shifted")
    sdpa_case("sdpa_b1", gen, B=1, tq=3, tk=17, dk=16, dv=16)

    mha_case("mha_self_batch_first", gen, B=3, tq=9, tk=9, d=12, heads=3, self_attn=True,
             lengths=[9, 4, 1])
    mha_case("mha_cross_sequence_first", gen, B=2, tq=6, tk=11, d=12, heads=4,
             batch_first=False, lengths=[11, 7],
             attn_mask=torch.where(torch.rand(6, 11, generator=gen) < 0.25,
                                   torch.tensor(float("-inf"), dtype=torch.float64),
                                   f32(6, 11, gen=gen)))
    mha_case("mha_heads1_batch1", gen, B=1, tq=5, tk=8, d=8, heads=1)
    mha_case("mha_many_heads_mask3d", gen, B=2, tq=4, tk=21, d=16, heads=8,
             attn_mask=f32(16, 4, 21, gen=gen))
    mha_case("mha_fully_masked", gen, B=2, tq=4, tk=5, d=6, heads=2, lengths=[0, 5])
    mha_case("mha_no_bias_causal", gen, B=2, tq=7, tk=7, d=8, heads=2, self_attn=True,
             bias=False, attn_mask=causal_triangle(7, 7))


if __name__ == "__main__":
    main()
