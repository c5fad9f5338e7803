#!/usr/bin/env python3
"""Encoder parity at bert-base shapes without a 440 MB fixture.

    /usr/bin/python3 tests/text/generate_bert_base_formula.py [--out DIR]

Builds the transformers stand-in's BertModel (tests/models/standins) at bert-base-uncased's
shapes (vocabulary 30,522, hidden 768, 12 layers, 12 heads, intermediate 3,072, 512
positions, 2 token types) and fills every parameter from a formula that test_bert.cpp
computes the same way, so only the inputs and the outputs are committed:

  tensor t (its index in PARAMETER_NAMES order), element i (row-major):
      u = ((i · 2654435761 + (t + 1) · 40503) mod 2^32) / 2^32 − 0.5        (exact in both)
      weight matrices and embeddings: 0.08 · u
      LayerNorm weights: 1 + 0.2 · u;  every bias: 0.04 · u

It writes DIR/bert_base_formula.npz (default tests/text/data): input_ids, attention_mask,
token_type_ids (int64, 2 rows of 11 tokens, the second padded after 7) and the model's
last_hidden_state and pooler_output computed in float32 (`_f32`) and float64 (`_f64`).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "models" / "standins"))

import transformers  # noqa: E402  the stand-in

BERT_BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2,
                 layer_norm_eps=1e-12, pad_token_id=0)


def parameter_names(layers):
    names = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
             "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
             "embeddings.LayerNorm.bias"]
    for n in range(layers):
        at = f"encoder.layer.{n}."
        for part in ["attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"]:
            names += [at + part + ".weight", at + part + ".bias"]
        names += [at + "attention.output.LayerNorm.weight", at + "attention.output.LayerNorm.bias"]
        names += [at + "intermediate.dense.weight", at + "intermediate.dense.bias"]
        names += [at + "output.dense.weight", at + "output.dense.bias"]
        names += [at + "output.LayerNorm.weight", at + "output.LayerNorm.bias"]
    return names + ["pooler.dense.weight", "pooler.dense.bias"]


def formula(t, count):
    i = np.arange(count, dtype=np.uint64)
    bits = (i * np.uint64(2654435761) + np.uint64((t + 1) * 40503)) & np.uint64(0xFFFFFFFF)
    return bits.astype(np.float64) / 2.0**32 - 0.5


def fill(model):
    state = model.state_dict()
    with torch.no_grad():
        for t, name in enumerate(parameter_names(BERT_BASE["num_hidden_layers"])):
            tensor = state[name]
            u = formula(t, tensor.numel()).reshape(tuple(tensor.shape))
            if "LayerNorm.weight" in name:
                values = 1.0 + 0.2 * u
            elif name.endswith("bias"):
                values = 0.04 * u
            else:
                values = 0.08 * u
            tensor.copy_(torch.from_numpy(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "data")
    args = parser.parse_args()
    torch.manual_seed(0)
    transformers.STANDIN_CONFIGS["bert-base-formula"] = BERT_BASE
    model = transformers.BertModel.from_pretrained("bert-base-formula").double()
    names = set(parameter_names(BERT_BASE["num_hidden_layers"]))
    stored = {k for k in model.state_dict() if k != "embeddings.position_ids"}
    assert names == stored, sorted(names ^ stored)
    fill(model)
    ids = np.array([[101, 7592, 1010, 2088, 2003, 1037, 3231, 1012, 2307, 999, 102],
                    [101, 1045, 2293, 2023, 3185, 30521, 102, 0, 0, 0, 0]], dtype=np.int64)
    mask = (np.arange(11)[None, :] < np.array([[11], [7]])).astype(np.int64)
    types = np.zeros_like(ids)
    types[0, 6:] = 1
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    for suffix, dtype in [("_f64", torch.float64), ("_f32", torch.float32)]:
        run = model.to(dtype)
        with torch.no_grad():
            result = run(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                         token_type_ids=torch.from_numpy(types))
        out["last_hidden_state" + suffix] = result.last_hidden_state.numpy()
        out["pooler_output" + suffix] = result.pooler_output.numpy()
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / "bert_base_formula.npz", **out)


if __name__ == "__main__":
    main()
