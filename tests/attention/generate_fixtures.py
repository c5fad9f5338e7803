#!/usr/bin/python3
"""Parity fixtures for emofuse's attention module.

Run with Debian's python3 (torch, numpy): /usr/bin/python3 tests/attention/generate_fixtures.py
Writes tests/attention/data/<case>.safetensors. Every case holds its inputs, parameters and the
expected output computed in float64 by PyTorch: torch.nn.MultiheadAttention itself for MHA, and
modules written here from the math (docs/reference.md "Attention") for scaled dot-product attention,
MulT layers/stacks/model, pooling and connectors. Inputs and parameters are drawn in float32 and
stored exactly, so the C++ float32 and float64 paths see the same numbers.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from safetensors_writer import save_safetensors as write_safetensors  # noqa: E402

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- safetensors
def save_safetensors(path, tensors, metadata=None):
    """The shared writer with this module's order: names sorted, metadata last."""
    write_safetensors(path, tensors, metadata, order="name", metadata_first=False)


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


# ----------------------------------------------------------------------------- MulT (from the math)
def layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def linear(x, sd, name, bias=True):
    y = x @ sd[name + ".weight"].T
    return y + sd[name + ".bias"] if bias and (name + ".bias") in sd else y


def key_mask(B, tq, tk, lengths=None, future=False):
    """Additive (B, tq, tk) mask: key padding from lengths, MulT's shifted triangle."""
    m = torch.zeros(B, tq, tk, dtype=torch.float64)
    if lengths is not None:
        m = m + padding_additive(lengths, tk)
    if future:
        m = m + shifted_triangle(tq, tk)
    return m


def mha_math(q_in, k_in, v_in, sd, prefix, heads, additive):
    """Multi-head attention from the math: packed in-projection, per-head softmax, out_proj."""
    d = q_in.shape[-1]
    dh = d // heads
    w, b = sd[prefix + "in_proj_weight"], sd[prefix + "in_proj_bias"]
    q = (q_in @ w[:d].T + b[:d]) * dh ** -0.5
    k = k_in @ w[d:2 * d].T + b[d:2 * d]
    v = v_in @ w[2 * d:].T + b[2 * d:]
    B, tq, tk = q.shape[0], q.shape[1], k.shape[1]
    q = q.view(B, tq, heads, dh).transpose(1, 2)
    k = k.view(B, tk, heads, dh).transpose(1, 2)
    v = v.view(B, tk, heads, dh).transpose(1, 2)
    out = softmax_attention(q, k, v, additive[:, None], 1.0)
    out = out.transpose(1, 2).reshape(B, tq, d)
    return out @ sd[prefix + "out_proj.weight"].T + sd[prefix + "out_proj.bias"]


def positions(x_in, zero_padding_frames=False):
    """fairseq SinusoidalPositionalEmbedding with padding_idx 0, positions t + 1."""
    B, T, d = x_in.shape
    half = d // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float64) * -(math.log(10000.0) / (half - 1)))
    pos = torch.arange(1, T + 1, dtype=torch.float64)[:, None] * freq[None]
    table = torch.cat([torch.sin(pos), torch.cos(pos)], dim=1)
    if d % 2 == 1:
        table = torch.cat([table, torch.zeros(T, 1, dtype=torch.float64)], dim=1)
    table = table[None].expand(B, T, d)
    if zero_padding_frames:
        table = torch.where((x_in[..., :1] == 0), torch.zeros_like(table), table)
    return table


def crossmodal_layer_math(x, src, sd, prefix, heads, additive):
    """Pre-LN: x += MHA(LN0(x), LN0(src)); x += fc2(relu(fc1(LN1(x))))."""
    ln0w, ln0b = sd[prefix + "layer_norms.0.weight"], sd[prefix + "layer_norms.0.bias"]
    xn = layer_norm(x, ln0w, ln0b)
    sn = xn if src is None else layer_norm(src, ln0w, ln0b)
    x = x + mha_math(xn, sn, sn, sd, prefix + "self_attn.", heads, additive)
    h = layer_norm(x, sd[prefix + "layer_norms.1.weight"], sd[prefix + "layer_norms.1.bias"])
    return x + linear(torch.relu(linear(h, sd, prefix + "fc1")), sd, prefix + "fc2")


def encoder_math(x_in, src_in, sd, prefix, heads, layers, key_lengths=None, future=False,
                 zero_padding_frames=False):
    d = x_in.shape[-1]
    x = math.sqrt(d) * x_in + positions(x_in, zero_padding_frames)
    src = None
    if src_in is not None:
        src = math.sqrt(d) * src_in + positions(src_in, zero_padding_frames)
    tk = x.shape[1] if src is None else src.shape[1]
    additive = key_mask(x.shape[0], x.shape[1], tk, key_lengths, future)
    for i in range(layers):
        x = crossmodal_layer_math(x, src, sd, prefix + "layers.%d." % i, heads, additive)
    return layer_norm(x, sd[prefix + "layer_norm.weight"], sd[prefix + "layer_norm.bias"])


def make_linear(sd, name, n_out, n_in, gen, bias=True, scale=None):
    scale = scale if scale is not None else 1.0 / math.sqrt(n_in)
    sd[name + ".weight"] = f32(n_out, n_in, gen=gen, scale=scale)
    if bias:
        sd[name + ".bias"] = f32(n_out, gen=gen, scale=0.1)


def make_layer_norm(sd, name, d, gen):
    sd[name + ".weight"] = (1.0 + f32(d, gen=gen, scale=0.1)).float().double()
    sd[name + ".bias"] = f32(d, gen=gen, scale=0.1)


def make_encoder(sd, prefix, d, layers, gen):
    for i in range(layers):
        p = prefix + "layers.%d." % i
        sd[p + "self_attn.in_proj_weight"] = f32(3 * d, d, gen=gen, scale=1.0 / math.sqrt(d))
        sd[p + "self_attn.in_proj_bias"] = f32(3 * d, gen=gen, scale=0.1)
        make_linear(sd, p + "self_attn.out_proj", d, d, gen)
        make_linear(sd, p + "fc1", 4 * d, d, gen)
        make_linear(sd, p + "fc2", d, 4 * d, gen)
        make_layer_norm(sd, p + "layer_norms.0", d, gen)
        make_layer_norm(sd, p + "layer_norms.1", d, gen)
    make_layer_norm(sd, prefix + "layer_norm", d, gen)
    # MulT's TransformerEncoder registers a 'version' buffer; loaders must ignore it.
    sd[prefix + "version"] = torch.tensor([2.0], dtype=torch.float64)


def encoder_case(case, gen, B, tq, tk, d, heads, layers, cross=True, lengths=None,
                 future=False, zero_padding_frames=False):
    sd = {}
    make_encoder(sd, "", d, layers, gen)
    x = f32(B, tq, d, gen=gen)
    src = f32(B, tk, d, gen=gen) if cross else None
    if zero_padding_frames:
        x[0, 1, 0] = 0.0
        if cross:
            src[1, 0, 0] = 0.0
            src[0, 2, 0] = 0.0
    expected = encoder_math(x, src, sd, "", heads, layers, lengths, future, zero_padding_frames)
    tensors = {"input.target": x, "expected": expected}
    if cross:
        tensors["input.source"] = src
    if lengths is not None:
        tensors["key_lengths"] = np.array(lengths, dtype=np.int64)
    tensors.update({"weights." + k: v for k, v in sd.items()})
    write(case, tensors, {"heads": heads, "layers": layers, "future": int(future),
                          "zero_padding_frames": int(zero_padding_frames)})


def mult_math(xl, xa, xv, sd, heads, lengths, future=False):
    """MulT forward (eval) with key padding from lengths and the last valid step."""
    mods = ["l", "a", "v"]
    xs = {"l": xl, "a": xa, "v": xv}
    proj = {m: xs[m] @ sd["proj_%s.weight" % m][:, :, 0].T for m in mods}
    layers = sum(1 for k in sd if k.startswith("trans_l_with_a.layers.") and
                 k.endswith(".self_attn.in_proj_weight"))
    mem_layers = sum(1 for k in sd if k.startswith("trans_l_mem.layers.") and
                     k.endswith(".self_attn.in_proj_weight"))
    last = []
    for m in mods:
        outs = []
        for n in mods:
            if n == m:
                continue
            outs.append(encoder_math(proj[m], proj[n], sd, "trans_%s_with_%s." % (m, n), heads,
                                     layers, lengths[n], future))
        h = torch.cat(outs, dim=-1)
        h = encoder_math(h, None, sd, "trans_%s_mem." % m, heads, mem_layers, lengths[m], future)
        last.append(torch.stack([h[b, lengths[m][b] - 1] for b in range(h.shape[0])]))
    last_hs = torch.cat(last, dim=1)
    hidden = linear(torch.relu(linear(last_hs, sd, "proj1")), sd, "proj2") + last_hs
    return linear(hidden, sd, "out_layer"), last_hs


def mult_case(case, gen, B, times, orig, d, heads, layers, mem_layers, out_dim, lengths=None,
              future=False):
    sd = {}
    mods = ["l", "a", "v"]
    for m in mods:
        sd["proj_%s.weight" % m] = f32(d, orig[m], 1, gen=gen, scale=1.0 / math.sqrt(orig[m]))
    for m in mods:
        for n in mods:
            if n != m:
                make_encoder(sd, "trans_%s_with_%s." % (m, n), d, layers, gen)
    for m in mods:
        make_encoder(sd, "trans_%s_mem." % m, 2 * d, mem_layers, gen)
    make_linear(sd, "proj1", 6 * d, 6 * d, gen)
    make_linear(sd, "proj2", 6 * d, 6 * d, gen)
    make_linear(sd, "out_layer", out_dim, 6 * d, gen)
    x = {m: f32(B, times[m], orig[m], gen=gen) for m in mods}
    full = {m: [times[m]] * B for m in mods}
    lengths = lengths or full
    pred, last_hs = mult_math(x["l"], x["a"], x["v"], sd, heads, lengths, future)
    io = {"expected.prediction": pred, "expected.hidden": last_hs}
    for m in mods:
        xm = x[m].clone()
        for b, n in enumerate(lengths[m]):
            xm[b, n:] = float("nan")  # padding must never leak
        io["input." + m] = xm
        io["lengths." + m] = np.array(lengths[m], dtype=np.int64)
    write(case + "_io", io, {"heads": heads, "future": int(future)})
    # The state dict as a user would export it from MulT: float32, MulT's names.
    save_safetensors(os.path.join(DATA, case + "_state_dict.safetensors"),
                     {k: to_np(v).astype(np.float32) for k, v in sd.items()})


# ----------------------------------------------------------------------------- pooling, connectors
class AttentionPool(nn.Module):
    """softmax_t(w^T tanh(W x_t + b)) over valid frames, then sum_t alpha_t x_t."""

    def __init__(self, d, hidden):
        super().__init__()
        self.proj = nn.Linear(d, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)

    def forward(self, x, valid):
        s = self.score(torch.tanh(self.proj(torch.nan_to_num(x))))[..., 0]
        s = s.masked_fill(~valid, float("-inf"))
        alpha = torch.softmax(s, dim=-1)
        alpha = torch.where(valid.any(dim=-1, keepdim=True), alpha, torch.zeros_like(alpha))
        return (alpha[..., None] * torch.nan_to_num(x)).sum(dim=1), alpha


class ModalityAttention(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.proj = nn.Linear(d, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)

    def forward(self, hs, present):
        h = torch.stack(hs, dim=1)  # (B, M, d)
        s = self.score(torch.tanh(self.proj(h)))[..., 0].masked_fill(~present, float("-inf"))
        alpha = torch.softmax(s, dim=-1)
        alpha = torch.where(present.any(dim=-1, keepdim=True), alpha, torch.zeros_like(alpha))
        return (alpha[..., None] * h).sum(dim=1)


class ResamplerLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.cross_attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, ffn), nn.GELU(), nn.Linear(ffn, d))
        self.norm2 = nn.LayerNorm(d)

    def forward(self, q, x, pad):
        a, _ = self.cross_attn(q, x, x, key_padding_mask=pad, need_weights=False)
        # emofuse defines a query that sees no key as a zero attention vector.
        a = torch.where(torch.isnan(a), self.cross_attn.out_proj.bias.expand_as(a), a)
        q = self.norm1(q + a)
        return self.norm2(q + self.ffn(q))


class Resampler(nn.Module):
    """n_q learned queries cross-attend over a masked sequence, post-LN blocks with FFN."""

    def __init__(self, d_in, d, n_q, heads, ffn, layers):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(n_q, d))
        self.input_proj = nn.Linear(d_in, d) if d_in != d else None
        self.layers = nn.ModuleList([ResamplerLayer(d, heads, ffn) for _ in range(layers)])

    def forward(self, x, lengths):
        B, T, _ = x.shape
        pad = torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]
        x = torch.nan_to_num(x)
        if self.input_proj is not None:
            x = self.input_proj(x)
        q = self.queries[None].expand(B, -1, -1)
        for layer in self.layers:
            q = layer(q, x, pad)
        return q


def randomise(module, gen, scale=0.4):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight"):
                p.copy_((1.0 + f32(*p.shape, gen=gen, scale=0.1)).float().double())
            else:
                p.copy_(f32(*p.shape, gen=gen, scale=scale))


def state_dict_f32(module):
    return {k: to_np(v).astype(np.float32) for k, v in module.state_dict().items()}


def pooling_cases(gen):
    B, T, d, hidden = 3, 7, 6, 5
    pool = AttentionPool(d, hidden).double()
    randomise(pool, gen)
    x = f32(B, T, d, gen=gen)
    lengths = [7, 3, 0]
    frame_mask = torch.ones(B, T, dtype=torch.bool)
    frame_mask[0, 2] = False
    frame_mask[0, 5] = False
    valid = frame_mask & (torch.arange(T)[None] < torch.tensor(lengths)[:, None])
    x = torch.where(valid[..., None], x, torch.tensor(float("nan"), dtype=torch.float64))
    with torch.no_grad():
        pooled, alpha = pool(x, valid)
    tensors = {"input": x, "lengths": np.array(lengths, dtype=np.int64),
               "frame_mask": to_np(frame_mask).astype(np.uint8), "expected": pooled,
               "expected.weights": alpha}
    tensors.update({"weights." + k: v for k, v in state_dict_f32(pool).items()})
    write("attention_pool", tensors)

    M, B2 = 3, 4
    att = ModalityAttention(d, hidden).double()
    randomise(att, gen)
    hs = [f32(B2, d, gen=gen) for _ in range(M)]
    present = torch.ones(B2, M, dtype=torch.bool)
    with torch.no_grad():
        full = att(hs, present)
        present[1, 2] = False
        present[2, 0] = False
        present[2, 1] = False
        present[3, :] = False
        masked = att(hs, present)
    tensors = {"input.%d" % m: hs[m] for m in range(M)}
    tensors.update({"present": to_np(present).astype(np.uint8), "expected": full,
                    "expected.masked": masked})
    tensors.update({"weights." + k: v for k, v in state_dict_f32(att).items()})
    write("modality_attention", tensors)


def connector_cases(gen):
    B, T, d_in, hidden, d_model = 2, 4, 5, 9, 7
    lin = nn.Linear(d_in, d_model).double()
    mlp = nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, d_model)).double()
    randomise(lin, gen)
    randomise(mlp, gen, scale=0.8)
    x = f32(B, T, d_in, gen=gen)
    with torch.no_grad():
        tensors = {"input": x, "expected.linear": lin(x), "expected.mlp": mlp(x)}
    tensors.update({"linear." + k: v for k, v in state_dict_f32(lin).items()})
    tensors.update({"mlp." + k: v for k, v in state_dict_f32(mlp).items()})
    write("projectors", tensors)

    for case, d_in, lengths in (("resampler", 6, [10, 3, 0]), ("resampler_same_dim", 8, [4, 10, 7])):
        res = Resampler(d_in, d=8, n_q=4, heads=2, ffn=16, layers=2).double().eval()
        randomise(res, gen)
        x = f32(3, 10, d_in, gen=gen)
        for b, n in enumerate(lengths):
            x[b, n:] = float("nan")
        with torch.no_grad():
            out = res(x, lengths)
        tensors = {"input": x, "lengths": np.array(lengths, dtype=np.int64), "expected": out}
        tensors.update({"weights." + k: v for k, v in state_dict_f32(res).items()})
        write(case, tensors, {"heads": 2})


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

    encoder_case("encoder_cross", gen, B=2, tq=5, tk=9, d=8, heads=2, layers=2,
                 lengths=[9, 4], zero_padding_frames=True)
    encoder_case("encoder_self_future", gen, B=2, tq=6, tk=6, d=12, heads=3, layers=3,
                 cross=False, lengths=[6, 3], future=True)
    encoder_case("encoder_cross_heads1", gen, B=1, tq=4, tk=7, d=6, heads=1, layers=1)

    orig = {"l": 7, "a": 5, "v": 4}
    mult_case("mult_full", gen, B=2, times={"l": 6, "a": 9, "v": 7}, orig=orig, d=8, heads=2,
              layers=2, mem_layers=3, out_dim=3)
    mult_case("mult_padded", gen, B=3, times={"l": 6, "a": 9, "v": 7}, orig=orig, d=8,
              heads=4, layers=1, mem_layers=3, out_dim=1,
              lengths={"l": [6, 4, 1], "a": [9, 5, 3], "v": [7, 2, 7]}, future=True)

    pooling_cases(gen)
    connector_cases(gen)


if __name__ == "__main__":
    main()
