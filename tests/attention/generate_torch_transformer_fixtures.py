#!/usr/bin/python3
"""Parity fixtures for attention::torch_encoder / torch_encoder_layer against torch.nn itself.

Run with Debian's python3 (torch 1.13, numpy):
    /usr/bin/python3 tests/attention/generate_torch_transformer_fixtures.py
Writes tests/attention/data/torch_<case>.safetensors: the input (in the module's own layout),
src_key_padding_mask (U8, 1 = padded) and the additive mask when the case has them, the
module's float32 state dict under "weights.", and float64 outputs:
  expected       — torch's standard path (run with grad enabled, which rules the fast path out);
  expected_fast  — the same module under torch.no_grad(), when torch 1.13 takes its nested-tensor
                   "fast path" there (eval, batch_first, post-LN, padding mask, even nhead) and
                   so returns 0 (or the final norm's bias) at padded positions.
Parameters and inputs are drawn in float32 and the modules run in float64.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from safetensors_writer import save_safetensors  # noqa: E402

torch.set_num_threads(1)


def f32(*shape, gen, scale=1.0):
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * scale).double()


def randomise(module, gen):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                value = f32(*p.shape, gen=gen, scale=0.1)
            elif p.dim() == 1:  # LayerNorm weight
                value = 1.0 + f32(*p.shape, gen=gen, scale=0.1)
            else:
                value = f32(*p.shape, gen=gen, scale=p.shape[1] ** -0.5)
            p.copy_(value.float().double())  # exactly what the float32 state dict stores


def case(name, gen, batch, time, d, nhead, ffn, layers=2, norm_first=False, activation="relu",
         batch_first=True, lengths=None, causal=False, additive=False, final_norm=False,
         eps=1e-5, single_layer=False):
    layer = nn.TransformerEncoderLayer(d, nhead, dim_feedforward=ffn, dropout=0.1,
                                       activation=activation, layer_norm_eps=eps,
                                       batch_first=batch_first, norm_first=norm_first)
    if single_layer:
        module = layer
    else:
        norm = nn.LayerNorm(d) if final_norm else None
        module = nn.TransformerEncoder(layer, layers, norm=norm)
    module = module.double().eval()
    randomise(module, gen)
    shape = (batch, time, d) if batch_first else (time, batch, d)
    x = f32(*shape, gen=gen)
    tensors = {"input": x.numpy()}
    kwargs = {}
    if lengths is not None:
        padded = torch.zeros(batch, time, dtype=torch.bool)
        for b, n in enumerate(lengths):
            padded[b, n:] = True
        kwargs["src_key_padding_mask"] = padded
        tensors["src_key_padding_mask"] = padded.numpy().astype(np.uint8)
    mask = None
    if causal:
        mask = nn.Transformer.generate_square_subsequent_mask(time).double()
    if additive:
        mask = f32(time, time, gen=gen)
        mask[torch.rand(time, time, generator=gen) < 0.2] = float("-inf")
        mask.fill_diagonal_(0.0)  # every query keeps a key
        tensors["additive"] = mask[None].numpy()
    if mask is not None:
        kwargs["src_mask" if single_layer else "mask"] = mask
    slow = module(x.requires_grad_(True), **kwargs).detach()  # grad enabled: standard path
    with torch.no_grad():
        fast = module(x.detach(), **kwargs)
    tensors["expected"] = slow.numpy()
    meta = {"heads": str(nhead), "norm_first": str(int(norm_first)), "activation": activation,
            "batch_first": str(int(batch_first)), "causal": str(int(causal)), "eps": repr(eps),
            "layers": str(1 if single_layer else layers), "final_norm": str(int(final_norm)),
            "single_layer": str(int(single_layer))}
    took_fast_path = not torch.allclose(fast, slow, rtol=0, atol=1e-12)
    if took_fast_path:
        tensors["expected_fast"] = fast.numpy()
    meta["fast_path"] = str(int(took_fast_path))
    for k, v in module.state_dict().items():
        tensors["weights." + k] = v.float().numpy()
    save_safetensors(os.path.join(DATA, "torch_" + name + ".safetensors"), tensors, meta,
                     order="name", metadata_first=False)
    print(name, "fast path" if took_fast_path else "standard path only",
          "max |diff| valid rows" if took_fast_path else "", end=" ")
    if took_fast_path:
        valid = ~kwargs["src_key_padding_mask"]
        if not batch_first:
            valid = valid.T
        print(float((fast - slow)[valid].abs().max()), end="")
    print()


def main():
    os.makedirs(DATA, exist_ok=True)
    gen = torch.Generator().manual_seed(20261206)
    case("post_relu_padded", gen, batch=3, time=7, d=12, nhead=4, ffn=24,
         lengths=[7, 4, 1])
    case("post_gelu_norm_padded", gen, batch=2, time=6, d=8, nhead=2, ffn=20,
         activation="gelu", final_norm=True, lengths=[3, 6])
    case("norm_first_gelu_seq_first", gen, batch=2, time=5, d=12, nhead=4, ffn=16,
         norm_first=True, activation="gelu", batch_first=False, lengths=[5, 2], final_norm=True)
    case("post_relu_causal_seq_first", gen, batch=2, time=6, d=9, nhead=3, ffn=12,
         batch_first=False, causal=True)
    case("norm_first_additive_padded", gen, batch=2, time=6, d=8, nhead=4, ffn=16,
         norm_first=True, lengths=[6, 4], additive=True, eps=1e-6)
    case("layer_post_gelu_padded", gen, batch=2, time=5, d=8, nhead=2, ffn=16,
         activation="gelu", lengths=[5, 3], single_layer=True)


if __name__ == "__main__":
    main()
