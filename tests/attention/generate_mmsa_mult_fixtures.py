#!/usr/bin/python3
"""Parity fixtures for attention::load_mult against MMSA's own MULT class.

Run with Debian's python3 (torch, numpy):
    /usr/bin/python3 tests/attention/generate_mmsa_mult_fixtures.py [MMSA checkout, default /work/mmsa]
Writes tests/attention/data/mmsa_mult_<case>_{state_dict,io}.safetensors.

MULT (src/MMSA/models/singleTask/MULT.py) is imported from the checkout without running MMSA's
package __init__ files, which pull in BERT (`transformers`, `pytorch_transformers`), pandas and
more: the packages MMSA, MMSA.models, MMSA.models.subNets and MMSA.models.singleTask are
registered as empty packages over the checkout's folders, so only MULT.py and the transformer
encoder it uses are executed (BertTextEncoder, needed only with use_bert, is a placeholder).
Each case builds MULT from an argument namespace shaped like MMSA's merged config (use_bert
false), draws every parameter in float32, runs the float64 model in eval mode on batch-first
(text, audio, vision) and records its 'M' and 'Feature_f' outputs. The state dict is saved the
way MMSA's trainers save AMIO's (names prefixed "Model."), as float32 safetensors.
"""
import importlib
import os
import sys
import types
from types import SimpleNamespace

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from safetensors_writer import save_safetensors  # noqa: E402

torch.set_num_threads(1)


def import_mult(checkout):
    root = os.path.join(checkout, "src", "MMSA")
    if not os.path.isfile(os.path.join(root, "models", "singleTask", "MULT.py")):
        sys.exit("no MMSA checkout at %s (expected src/MMSA/models/singleTask/MULT.py)" % checkout)
    for name, folder in [("MMSA", ""), ("MMSA.models", "models"),
                         ("MMSA.models.subNets", "models/subNets"),
                         ("MMSA.models.singleTask", "models/singleTask")]:
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(root, folder)]
        sys.modules[name] = package
    sys.modules["MMSA.models.subNets"].BertTextEncoder = None  # used only with use_bert
    return importlib.import_module("MMSA.models.singleTask.MULT").MULT


def mult_args(feature_dims, d, heads, nlevels, kernels, attn_mask, num_classes):
    """The merged-config keys MULT reads (dropouts do nothing in eval mode)."""
    return SimpleNamespace(
        use_bert=False, use_finetune=False, transformers="bert", pretrained="",
        dst_feature_dim_nheads=[d, heads], feature_dims=feature_dims, nlevels=nlevels,
        attn_dropout=0.3, attn_dropout_a=0.2, attn_dropout_v=0.1, relu_dropout=0.1,
        embed_dropout=0.2, res_dropout=0.1, output_dropout=0.5, text_dropout=0.5,
        attn_mask=attn_mask, train_mode="classification" if num_classes > 1 else "regression",
        num_classes=num_classes, conv1d_kernel_size_l=kernels[0],
        conv1d_kernel_size_a=kernels[1], conv1d_kernel_size_v=kernels[2])


def f32(*shape, gen, scale=1.0):
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * scale).double()


def mult_case(MULT, case, gen, batch, times, **kwargs):
    args = mult_args(**kwargs)
    model = MULT(args).double().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                value = f32(*p.shape, gen=gen, scale=0.1)
            elif p.dim() == 1:  # LayerNorm weight
                value = 1.0 + f32(*p.shape, gen=gen, scale=0.1)
            else:
                value = f32(*p.shape, gen=gen, scale=1.0 / p[0].numel() ** 0.5)
            p.copy_(value.float().double())  # exactly what the float32 state dict stores
    inputs = {m: f32(batch, t, dim, gen=gen)
              for m, t, dim in zip(("text", "audio", "vision"), times, args.feature_dims)}
    with torch.no_grad():
        out = model(inputs["text"], inputs["audio"], inputs["vision"])
    io = {"input." + m: x.numpy() for m, x in inputs.items()}
    io["expected.M"] = out["M"].numpy()
    io["expected.Feature_f"] = out["Feature_f"].numpy()
    kernels = kwargs["kernels"]
    meta = {"heads": str(kwargs["heads"]),
            "attn_mask": str(int(kwargs["attn_mask"])),
            "kernels": ",".join(str(k) for k in kernels),
            "feature_dims": ",".join(str(k) for k in kwargs["feature_dims"])}
    save_safetensors(os.path.join(DATA, case + "_io.safetensors"), io, meta, order="name",
                     metadata_first=False)
    # As MMSA's trainers save it: torch.save(AMIO.state_dict()) names every tensor "Model.…".
    state = {"Model." + k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    save_safetensors(os.path.join(DATA, case + "_state_dict.safetensors"), state, None,
                     order="name", metadata_first=False)
    print(case, "M", tuple(out["M"].shape), "max |M|", float(out["M"].abs().max()))


def main():
    checkout = sys.argv[1] if len(sys.argv) > 1 else "/work/mmsa"
    MULT = import_mult(checkout)
    os.makedirs(DATA, exist_ok=True)
    gen = torch.Generator().manual_seed(20261205)
    # Kernel 5 on every modality as in every dataset entry of MMSA's config, attn_mask true.
    mult_case(MULT, "mmsa_mult_k5", gen, batch=3, times=(9, 11, 10), feature_dims=(12, 5, 7),
              d=8, heads=2, nlevels=2, kernels=(5, 5, 5), attn_mask=True, num_classes=1)
    # Mixed kernels; audio already has d features, so MULT skips proj_a (though it stores it);
    # classification head, no future mask, one crossmodal level (memories keep 3 layers).
    mult_case(MULT, "mmsa_mult_mixed", gen, batch=2, times=(8, 7, 6), feature_dims=(12, 8, 7),
              d=8, heads=4, nlevels=1, kernels=(3, 5, 1), attn_mask=False, num_classes=3)


if __name__ == "__main__":
    main()
