#!/usr/bin/env python3
"""BERT-era model fixtures computed by MMSA's own code.

    /usr/bin/python3 tests/models/generate_bert_fixtures.py --mmsa /path/to/MMSA [--out DIR]
                                                           [--only MODEL ...]

Like generate_fixtures.py (whose helpers it reuses; read its docstring for the files each case
writes), for the models that feed text through a pretrained BERT. `transformers` (and
`pytorch_transformers`, `einops`) are not in Debian: the stand-ins in standins/ (see its
README) take their place on sys.path, so MMSA's model code runs unchanged and saves the
checkpoints it would save. `from_pretrained` builds the tiny configurations in STANDIN_CONFIGS
below with random weights.

Inputs differ from the non-BERT cases in the text: MMSA's `text_bert` array, (batch, 3, seq_len)
float32 rows of input ids, attention mask and segment ids, as MMSA's feature files hold it and
its data loader passes it on. Each sample has its own number of real tokens ([CLS] first, [SEP]
last, zeros after); audio and vision follow make_inputs (zero padding, -inf audio entries).
"""

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "standins"))
sys.path.insert(0, str(HERE))

import generate_fixtures as base  # noqa: E402  (after the sys.path set-up)
import pytorch_transformers  # noqa: E402  the stand-in
import transformers  # noqa: E402  the stand-in

# A tiny BERT for every pretrained name MMSA's configurations use. CLS/SEP/PAD ids follow
# bert-base's vocabulary layout in miniature: 0 = [PAD], 1 = [UNK], 2 = [CLS], 3 = [SEP].
TINY_BERT = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=37, max_position_embeddings=64, type_vocab_size=2)
STANDIN_CONFIGS = {
    "bert-base-uncased": TINY_BERT,
    "bert-base-chinese": TINY_BERT,
    # MISA hard-codes nn.Linear(768, hidden_size) on BERT's output: a 768-wide BERT with one
    # layer and a narrow feed-forward block (~12 MB, almost all attention and pooler weights).
    # Its heads are 64 wide, as in every published BERT.
    "standin-bert-768": dict(TINY_BERT, hidden_size=768, num_hidden_layers=1,
                             num_attention_heads=12, intermediate_size=8,
                             max_position_embeddings=16),
}
CLS_ID, SEP_ID = 2, 3

BATCH = 4
BERT_SEQ_LEN = 9                 # text tokens, [CLS] and [SEP] included
FEATURE_DIMS = [TINY_BERT["hidden_size"], 5, 7]
UNALIGNED_AUDIO_VISION = [11, 8]

# model -> overrides of MMSA's merged arguments that shrink it (every other argument is
# MMSA's own), and how MMSA's trainer calls it ("plain": model(text, audio, vision);
# "lengths": model(text, (audio, audio_lengths), (vision, vision_lengths))). Optional keys:
# "model" (MMSA's model key when the entry's key is not it), "suffix" (case name), "dataset",
# "mode_overrides" {mode: overrides for that train mode only}, "share_bert" (one seed for both
# modes), "modes" (the train modes to write; default both).
CASES = {
    # MULT with use_bert: MMSA's config has no `use_finetune` key, which MULT reads when
    # use_bert is true (its config names it use_bert_finetune): given here, or MULT fails.
    "mult_bert": {"model": "mult", "suffix": "_bert", "call": "plain",
                  "overrides": {"use_bert": True, "use_finetune": False,
                                "dst_feature_dim_nheads": [8, 2], "nlevels": 2,
                                "conv1d_kernel_size_l": 5, "conv1d_kernel_size_a": 3,
                                "conv1d_kernel_size_v": 1}},
    "self_mm": {"call": "lengths",
                "overrides": {"a_lstm_hidden_size": 6, "v_lstm_hidden_size": 5, "audio_out": 4,
                              "video_out": 3, "text_out": TINY_BERT["hidden_size"],
                              "post_fusion_dim": 8, "post_text_dim": 6, "post_audio_dim": 5,
                              "post_video_dim": 4}},
    # Self-MM on aligned data: the LSTMs' lengths come from the BERT mask.
    "self_mm_aligned": {"model": "self_mm", "suffix": "_aligned", "call": "lengths",
                        "overrides": {"need_data_aligned": True, "a_lstm_hidden_size": 6,
                                      "v_lstm_hidden_size": 5, "audio_out": 4, "video_out": 3,
                                      "text_out": TINY_BERT["hidden_size"],
                                      "post_fusion_dim": 8, "post_text_dim": 6,
                                      "post_audio_dim": 5, "post_video_dim": 4}},
    "mmim": {"call": "lengths",
             "overrides": {"d_vh": 6, "d_ah": 5, "d_vout": 8, "d_aout": 4, "d_prjh": 12}},
    # MMIM with unidirectional encoders (MMSA's RNNEncoder squeezes h_n instead of
    # concatenating the two directions) and add_va (a third MI bound, unused in inference).
    "mmim_unidirectional": {"model": "mmim", "suffix": "_unidirectional", "call": "lengths",
                            "overrides": {"d_vh": 6, "d_ah": 5, "d_vout": 8, "d_aout": 4,
                                          "d_prjh": 12, "bidirectional": False,
                                          "add_va": True}},
    # MISA: 768-wide stand-in BERTs (see STANDIN_CONFIGS); the text length (9) must not exceed
    # audio's and vision's, since MISA packs them with the text's lengths.
    # Both modes share one seed, hence one BERT: the classification case is committed without
    # it (<case>.nobert.safetensors, see split_shared_bert).
    "misa": {"call": "plain", "seq_lens": [BERT_SEQ_LEN, 11, 10], "share_bert": True,
             "overrides": {"hidden_size": 8, "pretrained": "standin-bert-768",
                           "feature_dims": [768, 5, 7]},
             "mode_overrides": {"classification": {"rnncell": "gru"}}},
    "bert_mag": {"overrides": {}},
    "cenet": {"overrides": {}},
    # ALMT hard-codes regression_head = nn.Linear(128, 1) and h[:, :8]: dst_feature_dims stays
    # 128 and dst_embedding_length 8, so its checkpoint is ~2 MB even shrunk; ALMT's code never
    # reads train_mode, so one mode is written and the tests load it under both.
    # feature_length exceeds the inputs' lengths so the positional tables are sliced, as MMSA
    # slices them.
    "almt": {"overrides": {"feature_length": [12, 13, 10], "dst_feature_hidden_dims": 16,
                           "embedding_heads": [2, 1, 1], "l_encoder_heads": 1, "AHL_depth": 2,
                           "h_hyper_layer_heads": 4, "fusion_hidden_d": 16, "fusion_heads": 2,
                           "fusion_layer_depth": 1},
             "modes": ["regression"]},
    # Kernels l=3, a=2, v=1: TETFN's video Conv1d takes conv1d_kernel_size_a (v is unused).
    "tetfn": {"overrides": {"a_lstm_hidden_size": 4, "v_lstm_hidden_size": 6,
                            "conv1d_kernel_size_l": 3, "conv1d_kernel_size_a": 2,
                            "conv1d_kernel_size_v": 1, "dst_feature_dims": 8, "nheads": 2,
                            "post_fusion_dim": 7, "post_text_dim": 5, "post_audio_dim": 3,
                            "post_video_dim": 4},
              "call": "lengths"},
}


def make_bert_text(rng, seq_len, vocab_size):
    """MMSA's text_bert rows: ids, mask, segment ids for samples of 9, 7, 3 and 2 tokens."""
    lengths = [seq_len, seq_len - 2, 3, 2][:BATCH]
    text = np.zeros((BATCH, 3, seq_len), dtype=np.float32)
    for sample, length in enumerate(lengths):
        ids = rng.integers(4, vocab_size, size=length)
        ids[0], ids[-1] = CLS_ID, SEP_ID
        text[sample, 0, :length] = ids
        text[sample, 1, :length] = 1
    return text, np.array(lengths, dtype=np.int64)


def make_inputs(config, rng):
    text_len, audio_len, vision_len = config["seq_lens"]
    _, audio_dim, vision_dim = config["feature_dims"]
    text, token_counts = make_bert_text(rng, text_len, TINY_BERT["vocab_size"])
    audio = rng.standard_normal((BATCH, audio_len, audio_dim)).astype(np.float32)
    vision = rng.standard_normal((BATCH, vision_len, vision_dim)).astype(np.float32)
    if config["need_data_aligned"]:
        audio_lengths = token_counts.copy()
        vision_lengths = token_counts.copy()
    else:
        audio_lengths = np.array([audio_len, audio_len - 3, 4, 2])
        vision_lengths = np.array([vision_len, 2, vision_len - 1, 1])
    for sample in range(BATCH):
        audio[sample, audio_lengths[sample]:] = 0
        vision[sample, vision_lengths[sample]:] = 0
    audio[0, 1, 0] = -np.inf
    audio[2, 0, :] = -np.inf
    return {"text_bert": text, "audio": audio, "vision": vision,
            "audio_lengths": audio_lengths.astype(np.int64),
            "vision_lengths": vision_lengths.astype(np.int64)}


def loader_steps(data_loader, inputs, config):
    renamed = dict(inputs, text=inputs["text_bert"])
    return base.loader_steps(data_loader, renamed, config)


def forward(amio, call, text, audio, vision, lengths, dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.no_grad():
            t = torch.tensor(text, dtype=dtype)
            a = torch.tensor(audio, dtype=dtype)
            v = torch.tensor(vision, dtype=dtype)
            if call == "lengths":
                audio_lengths, vision_lengths = (torch.tensor(x) for x in lengths)
                result = amio(t, (a, audio_lengths), (v, vision_lengths))
            else:
                result = amio(t, a, v)
    finally:
        torch.set_default_dtype(previous)
    return {key: value.detach().numpy() for key, value in output_dict(result).items()
            if isinstance(value, torch.Tensor)}


def output_dict(result):
    """MMSA's output under its keys. ALMT returns the prediction tensor and CENET a tuple
    whose first element is the prediction; their trainers take that as M."""
    if isinstance(result, torch.Tensor):
        return {"M": result}
    if isinstance(result, tuple):
        return {"M": result[0]}
    return result


def bert_case(models, data_loader, EasyDict, merged, model, dataset, mode, out, seed,
              overrides, call="plain", suffix="", seq_lens=None):
    config = dict(merged)
    config.update(overrides)
    config["train_mode"] = mode
    config["device"] = "cpu"
    config["feature_dims"] = list(overrides.get("feature_dims", FEATURE_DIMS))
    if config["need_data_aligned"]:
        config["seq_lens"] = [BERT_SEQ_LEN] * 3
    else:
        config["seq_lens"] = list(seq_lens or [BERT_SEQ_LEN] + UNALIGNED_AUDIO_VISION)
    case = f"{model}_{dataset}{suffix}_{mode}"
    rng = np.random.default_rng(seed)
    inputs = make_inputs(config, rng)
    text, audio, vision = loader_steps(data_loader, inputs, config)
    lengths = (inputs["audio_lengths"], inputs["vision_lengths"])
    amio = base.build(models, EasyDict, config)
    randomise_all(amio, torch.Generator().manual_seed(seed))
    expected = forward(amio, call, text, audio, vision, lengths, torch.float32)
    amio_f64 = copy.deepcopy(amio).double()
    expected.update({f"{key}_f64": value for key, value in
                     forward(amio_f64, call, text, audio, vision, lengths,
                             torch.float64).items()})
    torch.save(amio.cpu().state_dict(), out / f"{case}.pth")
    base.write_safetensors(out / f"{case}.safetensors", amio.state_dict())
    np.savez(out / f"{case}.inputs.npz", **inputs)
    np.savez(out / f"{case}.expected.npz", **expected)
    flat = {key: value for key, value in config.items() if key != "device"}
    flat.update(bert_heads(config))
    (out / f"{case}.config.json").write_text(json.dumps(flat, indent=1) + "\n")
    return case


def bert_heads(config):
    """The head count of the stand-in BERT the case used (a checkpoint does not store it):
    `bert_num_attention_heads`, which emofuse reads (default hidden_size / 64, as every
    published BERT and RoBERTa has it)."""
    standin = transformers.STANDIN_CONFIGS.get(config.get("pretrained"))
    return {"bert_num_attention_heads": standin["num_attention_heads"]} if standin else {}


def fix_cpu_masked_scatter():
    """torch before 2.1 fills a non-contiguous `self` in memory order in masked_scatter_ on the
    CPU (pytorch/pytorch#100232 fixed it; CUDA never had it). MMSA's make_positions
    (transformers_encoder/position_embedding.py) scatters into a clone of x_in.transpose(0, 1)
    [:, :, 0], which is non-contiguous when x_in is a (T, B, d) encoder output, as in TETFN's
    TextEnhancedTransformer: there old CPU torch hands key t of sample b position
    (t·B + b) mod T + 1 instead of t + 1. The generator runs MMSA as GPU training and current
    torch do: in logical order."""
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    if (major, minor) >= (2, 1):
        return
    scatter = torch.Tensor.masked_scatter_

    def masked_scatter_in_logical_order(self, mask, source):
        if self.is_contiguous():
            return scatter(self, mask, source)
        filled = scatter(self.contiguous(), mask, source)
        self.copy_(filled)
        return self

    torch.Tensor.masked_scatter_ = masked_scatter_in_logical_order


def randomise_all(amio, generator):
    """base.randomise, and embedding rows the padding index zeroed made random too (a loader
    that drops a row must not pass by luck). The rows come first, so that two models whose
    parameter lists share a prefix (MISA's BERT in both train modes) draw the same values there."""
    with torch.no_grad():
        for module in amio.modules():
            if isinstance(module, torch.nn.Embedding) and module.padding_idx is not None:
                row = module.weight[module.padding_idx]
                row.copy_(0.1 * torch.randn(row.shape, generator=generator))
    base.randomise(amio, generator)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mmsa", required=True, type=Path, help="MMSA checkout (root or src/MMSA)")
    parser.add_argument("--out", type=Path, default=HERE / "data")
    parser.add_argument("--only", nargs="*", help="models to write (default: all of CASES)")
    args = parser.parse_args()
    root = args.mmsa / "src" / "MMSA" if (args.mmsa / "src" / "MMSA").is_dir() else args.mmsa
    if not (root / "models" / "AMIO.py").is_file():
        sys.exit(f"{args.mmsa}: not an MMSA checkout (no models/AMIO.py)")
    fix_cpu_masked_scatter()
    transformers.STANDIN_CONFIGS.update(STANDIN_CONFIGS)
    pytorch_transformers.STANDIN_CONFIGS.update(STANDIN_CONFIGS)
    provided = {path.name.removesuffix(".py") for path in (HERE / "standins").iterdir()
                if path.is_dir() or path.suffix == ".py"}
    EasyDict = base.install_placeholders(provided)
    sys.path.insert(0, str(root))
    models = __import__("models")
    mmsa_config = base.load_module("mmsa_config", root / "config.py")
    data_loader = base.load_module("mmsa_data_loader", root / "data_loader.py")
    config_file = root / "config" / "config_regression.json"
    config_all = json.loads(config_file.read_text())
    args.out.mkdir(parents=True, exist_ok=True)

    cases = []
    for index, (key, spec) in enumerate(sorted(CASES.items())):
        model = spec.get("model", key)
        if args.only and model not in args.only and key not in args.only:
            continue
        dataset = spec.get("dataset") or ("mosi" if "mosi" in config_all[model]["datasetParams"]
                                          else "sims")
        merged = json.loads(json.dumps(dict(
            mmsa_config.get_config_regression(model, dataset, str(config_file)))))
        for offset, mode in enumerate(spec.get("modes", ["regression", "classification"])):
            overrides = dict(spec["overrides"], **spec.get("mode_overrides", {}).get(mode, {}))
            cases.append(bert_case(models, data_loader, EasyDict, merged, model, dataset, mode,
                                   args.out,
                                   seed=300 + 2 * index + (0 if spec.get("share_bert") else offset),
                                   overrides=overrides, call=spec.get("call", "plain"),
                                   suffix=spec.get("suffix", ""),
                                   seq_lens=spec.get("seq_lens")))
    if "misa_mosi_classification" in cases:
        split_shared_bert(args.out, "misa_mosi_regression", "misa_mosi_classification",
                          "Model.bertmodel.")
    print("\n".join(cases))


def split_shared_bert(out, full, partial, prefix):
    """Writes <partial>.nobert.safetensors: the tensors of <partial>.pth outside `prefix`, after
    checking that those under it equal <full>.pth's ("share_bert": both modes use one seed, and
    MMSA builds BERT first, so the two checkpoints hold the same BERT). The test assembles
    <partial>'s checkpoint from the two, so only one large BERT is committed."""
    whole = torch.load(out / f"{full}.pth")
    state = torch.load(out / f"{partial}.pth")
    bert = [name for name in state if name.startswith(prefix)]
    assert bert and all(torch.equal(state[name], whole[name]) for name in bert), \
        f"{partial}: its BERT differs from {full}'s"
    base.write_safetensors(out / f"{partial}.nobert.safetensors",
                           {name: tensor for name, tensor in state.items()
                            if not name.startswith(prefix)})


if __name__ == "__main__":
    main()
