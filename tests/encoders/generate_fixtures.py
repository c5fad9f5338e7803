#!/usr/bin/python3
"""Parity fixtures for emofuse's encoders, computed by torch.nn itself.

Run with Debian's python3 (python3-torch, python3-numpy):

    /usr/bin/python3 tests/encoders/generate_fixtures.py

Writes tests/encoders/data/<case>.safetensors, one file per case holding
  <module's state_dict() names, with the case's prefix>   float32 parameters (and buffers)
  input, lengths, h0, c0, indices                          the call's arguments
  output, h_n, c_n                                         torch's results, computed in float64
and the module's constructor arguments as string metadata. Parameters and inputs are drawn in
float32 and stored exactly, so the C++ float and double builds see the same numbers; the
references are computed by the same module converted with .double().
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from safetensors_writer import save_safetensors  # noqa: E402
DATA = os.path.join(HERE, "data")
torch.set_num_threads(1)
GEN = torch.Generator().manual_seed(20261205)


def f32(*shape, scale=1.0):
    """float32 normal draws as float64 (exactly representable in float32)."""
    return (torch.randn(*shape, generator=GEN, dtype=torch.float32) * scale).double()


def randomise(module, scale):
    """Float32-representable values for every parameter; the module becomes float64."""
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(f32(*p.shape, scale=scale))
    return module.eval()


def write(case, module, prefix, arrays, metadata):
    tensors = {}
    if module is not None:
        for name, value in module.state_dict().items():
            if value.dtype.is_floating_point:
                tensors[prefix + name] = value.detach().float().numpy()
            else:
                tensors[prefix + name] = value.detach().numpy()
    for name, value in arrays.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().numpy()
        value = np.asarray(value)
        tensors[name] = value.astype(np.int64 if value.dtype.kind in "iu" else np.float64)
    save_safetensors(os.path.join(DATA, case + ".safetensors"), tensors,
                     dict(metadata, prefix=prefix))


# ----------------------------------------------------------------------------- LSTM / GRU
def rnn_case(case, kind, input_size, hidden, layers, bidirectional, batch_first, bias,
             batch, steps, lengths=None, initial=False, prefix="rnn.", nan_padding=False):
    cls = nn.LSTM if kind == "lstm" else nn.GRU
    module = randomise(cls(input_size, hidden, num_layers=layers, bias=bias,
                           batch_first=batch_first, bidirectional=bidirectional,
                           dropout=0.5 if layers > 1 else 0.0), 0.4)
    shape = (batch, steps, input_size) if batch_first else (steps, batch, input_size)
    x = f32(*shape)
    states = layers * (2 if bidirectional else 1)
    hx = None
    arrays = {}
    if initial:
        h0 = f32(states, batch, hidden, scale=0.5)
        arrays["h0"] = h0
        hx = h0
        if kind == "lstm":
            c0 = f32(states, batch, hidden, scale=0.5)
            arrays["c0"] = c0
            hx = (h0, c0)
    with torch.no_grad():
        if lengths is None:
            out, state = module(x, hx)
        else:
            packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                          enforce_sorted=False)
            out, state = module(packed, hx)
            out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=steps)
    stored_x = x.clone()
    if nan_padding:
        # Padded steps are never read: NaN there must not reach any output.
        for b, n in enumerate(lengths):
            if batch_first:
                stored_x[b, n:, :] = float("nan")
            else:
                stored_x[n:, b, :] = float("nan")
    arrays["input"] = stored_x
    arrays["output"] = out
    if kind == "lstm":
        arrays["h_n"], arrays["c_n"] = state
    else:
        arrays["h_n"] = state
    if lengths is not None:
        arrays["lengths"] = np.asarray(lengths, dtype=np.int64)
    write(case, module, prefix, arrays,
          dict(kind=kind, input_size=input_size, hidden_size=hidden, num_layers=layers,
               bidirectional=int(bidirectional), batch_first=int(batch_first), bias=int(bias)))


def rnn_cases():
    for kind in ("lstm", "gru"):
        # One layer over the padded sequence, sequence-first; hidden 6 is a SIMD tail only.
        rnn_case(f"{kind}_uni", kind, 4, 6, 1, False, False, True, 3, 5)
        # Bidirectional without lengths: the reverse direction starts at the last padded step
        # (MMSA's TextSubNet); hidden 20 is one full vector and a tail in float, more in double.
        rnn_case(f"{kind}_bi_padded", kind, 5, 20, 1, True, True, True, 2, 4)
        # Two bidirectional layers with lengths (a length-1 sample, a full one), batch-first.
        rnn_case(f"{kind}_bi2_lengths", kind, 4, 6, 2, True, True, True, 4, 5,
                 lengths=[5, 1, 3, 4], prefix="Model.text_subnet.rnn.")
        # The same shape, sequence-first, every sample full.
        rnn_case(f"{kind}_bi2_full", kind, 4, 6, 2, True, False, True, 3, 5, lengths=[5, 5, 5])
        # Initial state, the longest sample shorter than the padded time (trailing zeros).
        rnn_case(f"{kind}_init", kind, 3, 5, 1, True, False, True, 3, 6, lengths=[4, 2, 3],
                 initial=True, prefix="")
        # Three layers without bias, batch-first, lengths; NaN in every padded step.
        rnn_case(f"{kind}_l3_nobias", kind, 7, 20, 3, False, True, False, 3, 6,
                 lengths=[2, 6, 1], nan_padding=True)
        # Two layers unidirectional with an initial state and no lengths, batch of one.
        rnn_case(f"{kind}_l2_b1_init", kind, 4, 9, 2, False, False, True, 1, 7, initial=True)


# ----------------------------------------------------------------------------- cells
def cell_case(case, kind, input_size, hidden, batch, bias, initial):
    cls = nn.LSTMCell if kind == "lstm" else nn.GRUCell
    module = randomise(cls(input_size, hidden, bias=bias), 0.4)
    x = f32(batch, input_size)
    arrays = {"input": x}
    hx = None
    if initial:
        h0 = f32(batch, hidden, scale=0.5)
        arrays["h0"] = h0
        hx = h0
        if kind == "lstm":
            c0 = f32(batch, hidden, scale=0.5)
            arrays["c0"] = c0
            hx = (h0, c0)
    with torch.no_grad():
        state = module(x, hx)
    if kind == "lstm":
        arrays["h_n"], arrays["c_n"] = state
    else:
        arrays["h_n"] = state
    write(case, module, "cell.", arrays,
          dict(kind=kind, input_size=input_size, hidden_size=hidden, bias=int(bias)))


def cell_cases():
    for kind in ("lstm", "gru"):
        cell_case(f"{kind}_cell", kind, 5, 7, 3, True, True)
        cell_case(f"{kind}_cell_zero_state", kind, 5, 20, 2, True, False)
        cell_case(f"{kind}_cell_nobias", kind, 3, 4, 1, False, True)


# ----------------------------------------------------------------------------- BatchNorm1d
def batch_norm_case(case, channels, shape, affine, eps):
    module = nn.BatchNorm1d(channels, eps=eps, affine=affine).double()
    if affine:
        module = randomise(module, 0.5)
    with torch.no_grad():
        module.running_mean.copy_(f32(channels, scale=0.5))
        module.running_var.copy_((f32(channels, scale=0.5).abs() + 0.25).float().double())
    module.eval()
    x = f32(*shape)
    with torch.no_grad():
        y = module(x)
    write(case, module, "norm.", {"input": x, "output": y},
          dict(channels=channels, eps=repr(eps), affine=int(affine)))


def batch_norm_cases():
    batch_norm_case("batch_norm_nc", 6, (4, 6), True, 1e-5)
    batch_norm_case("batch_norm_ncl", 5, (3, 5, 7), True, 1e-3)
    batch_norm_case("batch_norm_no_affine", 4, (2, 4, 3), False, 1e-5)


# ----------------------------------------------------------------------------- Embedding
def embedding_cases():
    module = randomise(nn.Embedding(11, 6, padding_idx=0), 1.0)
    indices = torch.tensor([[1, 4, 0, 10], [3, 3, 7, 0]])
    with torch.no_grad():
        y = module(indices)
    write("embedding", module, "embed.", {"indices": indices, "output": y},
          dict(num_embeddings=11, embedding_dim=6))


# ----------------------------------------------------------------------------- Conv1d
def conv1d_case(case, cin, cout, kernel, stride, padding, dilation, bias, batch, length):
    module = randomise(nn.Conv1d(cin, cout, kernel, stride=stride, padding=padding,
                                 dilation=dilation, bias=bias), 0.4)
    x = f32(batch, cin, length)
    with torch.no_grad():
        y = module(x)
    write(case, module, "proj.", {"input": x, "output": y},
          dict(in_channels=cin, out_channels=cout, kernel_size=kernel, stride=stride,
               padding=padding, dilation=dilation, bias=int(bias)))


def conv1d_cases():
    # MulT's projection: kernel 1 without bias.
    conv1d_case("conv1d_k1_nobias", 7, 5, 1, 1, 0, 1, False, 2, 6)
    # MMSA's MULT text projection: kernel 5, no padding.
    conv1d_case("conv1d_k5", 6, 4, 5, 1, 0, 1, True, 3, 9)
    # Stride, padding and dilation together.
    conv1d_case("conv1d_strided", 3, 5, 3, 2, 3, 2, True, 2, 10)


def main():
    os.makedirs(DATA, exist_ok=True)
    rnn_cases()
    cell_cases()
    batch_norm_cases()
    embedding_cases()
    conv1d_cases()


if __name__ == "__main__":
    main()
