#!/usr/bin/env python3
"""Fixtures for text::bert_model, computed by the transformers stand-in's BertModel and
RobertaModel (tests/models/standins/transformers: Hugging Face's module structure, names and
math; see its README).

    /usr/bin/python3 tests/text/generate_bert_fixtures.py [--out DIR]

Writes, for each tiny configuration (hidden 32, 2 layers, 4 heads, vocabulary 100):
  <case>.pth            torch.save(model.state_dict()), `embeddings.position_ids` included
  <case>.safetensors    the same tensors without `embeddings.position_ids`
  <case>.config.json    the model's Hugging Face config.json
  <case>.io.npz         input_ids, attention_mask, token_type_ids (int64, (batch, seq)) and the
                        outputs last_hidden_state / pooler_output in float32 (`_f32`, the model
                        run in float32) and float64 (`_f64`, a float64 copy of it)
and stock_bert/ — the `bert` case's weights as a stock Hugging Face checkpoint names them:
pytorch_model.bin (BertForPreTraining's `bert.` prefix, the first ports' LayerNorm gamma/beta,
a `cls.*` head), model.safetensors (BertModel.save_pretrained: no prefix) and config.json.

Inputs: padding at the end of rows, a row with a padded hole, a row of one token and a row of
padding only (transformers gives it the uniform average over all keys), token types 0 and 1.
Weights: random with spreads that make every part matter (transformers' own initialisation,
std 0.02, would leave attention almost uniform).
"""

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "models" / "standins"))
sys.path.insert(0, str(HERE.parent / "models"))

import transformers  # noqa: E402  the stand-in
from generate_fixtures import write_safetensors  # noqa: E402

TINY = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=40)
CASES = {
    "bert": (transformers.BertConfig, transformers.BertModel,
             dict(TINY, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0)),
    "roberta": (transformers.RobertaConfig, transformers.RobertaModel,
                dict(TINY, type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1)),
}
# Real tokens per row: full, shorter, one token, none; row 4 has a padded hole at t = 2.
LENGTHS = [9, 6, 1, 0, 7]
SEQ = 9


def randomise(model, generator):
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            shape = parameter.shape
            noise = torch.randn(shape, generator=generator, dtype=parameter.dtype)
            if "LayerNorm" in name and name.endswith("weight"):
                parameter.copy_(1.0 + 0.3 * noise)
            elif name.endswith("bias"):
                parameter.copy_(0.3 * noise)
            elif "embeddings" in name:
                parameter.copy_(noise)
            else:  # a Linear's (out, in) weight: unit-scale outputs for unit-scale inputs
                parameter.copy_(noise / np.sqrt(shape[1]))


def make_inputs(rng, pad_id, type_vocab):
    batch = len(LENGTHS)
    ids = np.full((batch, SEQ), pad_id, dtype=np.int64)
    mask = np.zeros((batch, SEQ), dtype=np.int64)
    types = np.zeros((batch, SEQ), dtype=np.int64)
    for row, length in enumerate(LENGTHS):
        ids[row, :length] = rng.integers(4, 100, size=length)
        mask[row, :length] = 1
        if type_vocab > 1 and length > 2:
            types[row, length // 2:length] = 1
    mask[4, 2] = 0  # a hole: key 2 of row 4 is masked, its id is a real one
    return ids, mask, types


def run(model, ids, mask, types, dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.no_grad():
            out = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                        token_type_ids=torch.tensor(types))
    finally:
        torch.set_default_dtype(previous)
    return out.last_hidden_state.numpy(), out.pooler_output.numpy()


def hf_config(model_type, settings):
    return dict(settings, model_type=model_type, hidden_act="gelu",
                position_embedding_type="absolute", hidden_dropout_prob=0.1,
                attention_probs_dropout_prob=0.1, architectures=[
                    "BertModel" if model_type == "bert" else "RobertaModel"])


def write_case(name, out, seed):
    config_class, model_class, settings = CASES[name]
    model = model_class(config_class(**settings)).eval()
    randomise(model, torch.Generator().manual_seed(seed))
    ids, mask, types = make_inputs(np.random.default_rng(seed), settings["pad_token_id"],
                                   settings["type_vocab_size"])
    hidden32, pooled32 = run(model, ids, mask, types, torch.float32)
    hidden64, pooled64 = run(copy.deepcopy(model).double(), ids, mask, types, torch.float64)
    state = model.state_dict()
    torch.save(state, out / f"{name}.pth")
    write_safetensors(out / f"{name}.safetensors",
                      {k: v for k, v in state.items() if k != "embeddings.position_ids"})
    (out / f"{name}.config.json").write_text(
        json.dumps(hf_config(name, settings), indent=1) + "\n")
    np.savez(out / f"{name}.io.npz", input_ids=ids, attention_mask=mask, token_type_ids=types,
             last_hidden_state_f32=hidden32, pooler_output_f32=pooled32,
             last_hidden_state_f64=hidden64, pooler_output_f64=pooled64)
    return state


def write_stock(state, out):
    stock = out / "stock_bert"
    stock.mkdir(exist_ok=True)
    legacy = {}
    for key, value in state.items():
        if "LayerNorm." in key:
            key = key.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
                "LayerNorm.bias", "LayerNorm.beta")
        legacy["bert." + key] = value
    generator = torch.Generator().manual_seed(7)
    hidden, vocab = TINY["hidden_size"], TINY["vocab_size"]
    legacy["cls.predictions.bias"] = torch.randn(vocab, generator=generator)
    legacy["cls.predictions.transform.dense.weight"] = torch.randn(hidden, hidden,
                                                                   generator=generator)
    legacy["cls.seq_relationship.weight"] = torch.randn(2, hidden, generator=generator)
    torch.save(legacy, stock / "pytorch_model.bin")
    write_safetensors(stock / "model.safetensors", state)
    _, _, settings = CASES["bert"]
    (stock / "config.json").write_text(json.dumps(hf_config("bert", settings), indent=1) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "data")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    states = {name: write_case(name, args.out, seed=1100 + index)
              for index, name in enumerate(CASES)}
    write_stock(states["bert"], args.out)


if __name__ == "__main__":
    main()
