#!/usr/bin/env python3
"""Model-zoo fixtures computed by MMSA's own code.

    /usr/bin/python3 tests/models/generate_fixtures.py --mmsa /path/to/MMSA [--out DIR]

`--mmsa` is a checkout of github.com/thuiar/MMSA (the repository root or its src/MMSA). The
generator imports MMSA's model classes (`models.AMIO`), its configuration merge
(`config.get_config_regression`) and its data loader's normalisation (`data_loader.MMDataset`)
from that checkout; nothing of MMSA is copied into emofuse. MMSA's BERT-era models import
`transformers`, `pytorch_transformers` and `einops`, which Debian does not ship and which the
non-BERT models never call: they are replaced by empty placeholder modules here, inside the
generator only. `easydict` (MMSA's config dictionary) is replaced by a dict with attribute
access.

What it writes into DIR (default: tests/models/data next to this script):
  <case>.config.json   MMSA's merged arguments for the case (flat JSON, what emofuse-predict
                       accepts beside MMSA's own config file), with the case's overrides
  <case>.pth           torch.save(model.cpu().state_dict()) of MMSA's AMIO wrapper, exactly as
                       MMSA's trainers save it (names start with "Model.")
  <case>.safetensors   the same tensors as safetensors (written by hand: the format is a JSON
                       header and raw little-endian bytes); for Graph-MFN also the weights MMSA's
                       state dict misses (see dfg_networks), which <case>.complete.pth holds too
  <case>.inputs.npz    the arrays of an MMSA feature file before the data loader touches them:
                       text (B, T_t, D_t), audio (B, T_a, D_a), vision (B, T_v, D_v) float32,
                       padded with zeros, audio with -inf entries (and vision with NaN where the
                       configuration normalises), audio_lengths and vision_lengths (int64)
  <case>.expected.npz  every tensor of the model's output dict computed in float32 by MMSA's
                       forward (M, and T/A/V for the multi-task models, Feature_* where MMSA
                       returns them), and the same in float64 under "<key>_f64"
  mmsa_merged_configs.json      get_config_regression(model, dataset) for every model and
                                dataset of the configuration file, unchanged
  mmsa_state_dict_shapes.json   name -> shape of the AMIO state dict that MMSA builds from the
                                *unshrunk* configuration of every model, dataset and train mode
  config_regression.json        MMSA's configuration file, copied unchanged as test input

    /usr/bin/python3 tests/models/generate_fixtures.py --mmsa /path/to/MMSA --demo DIR

writes the README demo's sample instead (and nothing else): MMSA's own LF_DNN at its "mosi"
entry of config_regression.json, on a small synthetic feature set (text 16 x 8 steps, audio
5 x 10 frames, vision 20 x 6 frames, padded per sample, a few -inf audio frames) whose label
is a planted function of the features, TRAINED for 25 epochs with what MMSA's LF_DNN trainer
uses (trains/singleTask/LF_DNN.py: nn.L1Loss, Adam with the entry's learning_rate, batch_size,
the best validation loss kept) and saved as that trainer saves it. One argument differs from
the mosi entry: weight_decay 0.001 (MMSA's lf_dnn value for mosei) instead of 0.01, under which
Adam's L2 term outweighs the L1 loss's gradients on this small set and the model collapses to
a constant output within the first epoch.
Into DIR:
  lf_dnn_mosi.config.json  the merged arguments (flat JSON; feature_dims and seq_lens as the
                           data loader leaves them)
  lf_dnn_mosi.pth          torch.save(model.cpu().state_dict()) of the best epoch's AMIO
  heldout.inputs.npz       200 held-out samples as a feature file holds them (compressed;
                           values on a 1/8 grid so they compress), with audio_lengths and
                           vision_lengths
  heldout.truth.npy        their labels (float32, shape (200,))
  heldout.expected.npz     M as MMSA's forward computes it on them (float32)

The numeric cases shrink hidden sizes and feature dimensions (listed in SMALL below) so the
checkpoints stay a few kilobytes; the shape manifest covers the shipped configurations.
"""

import argparse
import copy
import importlib.util
import json
import shutil
import struct
import sys
import types
from pathlib import Path

import numpy as np
import torch

MODELS = ["tfn", "lmf", "lf_dnn", "ef_lstm", "mfn", "graph_mfn", "mult", "mtfn", "mlmf", "mlf_dnn"]

# Overrides that shrink each model for the committed numeric fixtures (every other argument is
# MMSA's own). feature_dims replaces the dataset's (768, ·, ·) text features by something small.
SMALL = {
    "tfn": {"hidden_dims": [8, 4, 6], "text_out": 5, "post_fusion_dim": 7},
    "lmf": {"hidden_dims": [8, 4, 6], "rank": 3},
    "lf_dnn": {"hidden_dims": [8, 4, 6], "text_out": 9, "post_fusion_dim": 7},
    "ef_lstm": {"hidden_dims": 8, "num_layers": 2},
    "mfn": {"hidden_dims": [8, 4, 6], "memsize": 10,
            "NN1Config": {"drop": 0.2, "shapes": 6}, "NN2Config": {"drop": 0.0, "shapes": 5},
            "gamma1Config": {"drop": 0.7, "shapes": 7}, "gamma2Config": {"drop": 0.5, "shapes": 4},
            "outConfig": {"drop": 0.0, "shapes": 9}},
    "graph_mfn": {"hidden_dims": [8, 4, 6], "memsize": 10, "inner_node_dim": 5,
                  "NNConfig": {"drop": 0.0, "shapes": 6}, "gamma1Config": {"drop": 0.5, "shapes": 7},
                  "gamma2Config": {"drop": 0.5, "shapes": 4}, "outConfig": {"drop": 0.0, "shapes": 9}},
    "mult": {"dst_feature_dim_nheads": [8, 2], "nlevels": 2},
    "mtfn": {"hidden_dims": [8, 4, 6], "text_out": 9, "post_fusion_dim": 7, "post_text_dim": 5,
             "post_audio_dim": 3, "post_video_dim": 4},
    "mlmf": {"hidden_dims": [8, 4, 6], "post_text_dim": 5, "post_audio_dim": 3, "post_video_dim": 4,
             "rank": 3},
    "mlf_dnn": {"hidden_dims": [8, 4, 6], "text_out": 9, "post_fusion_dim": 7, "post_text_dim": 5,
                "post_audio_dim": 3, "post_video_dim": 4},
}

BATCH = 4
SMALL_FEATURE_DIMS = [16, 5, 7]
ALIGNED_LEN = 6            # every modality, for need_data_aligned models
UNALIGNED_LENS = [7, 11, 9]  # text, audio, vision (MulT's kernel-5 convolutions need ≥ 5)


def install_placeholders(provided=()):
    """Stands in for the packages MMSA imports at module level but the non-BERT models never use.
    Packages named in `provided` (and their submodules) are left to the real or stand-in modules
    on sys.path (the BERT generator's standins/ folder)."""

    class Placeholder(torch.nn.Module):
        def __init__(self, *args, **kwargs):
            raise RuntimeError("placeholder for a BERT-era dependency: not available here")

    class PlaceholderModule(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return Placeholder

    for name in ["transformers", "transformers.models", "transformers.models.bert",
                 "transformers.models.bert.modeling_bert", "pytorch_transformers",
                 "pytorch_transformers.modeling_utils", "einops"]:
        if name.split(".")[0] not in provided:
            sys.modules[name] = PlaceholderModule(name)

    class EasyDict(dict):
        """easydict.EasyDict's behaviour that MMSA relies on: attributes are keys, nested dicts too."""

        def __init__(self, *args, **kwargs):
            super().__init__()
            for key, value in dict(*args, **kwargs).items():
                self[key] = value

        def __setitem__(self, key, value):
            super().__setitem__(key, EasyDict(value) if isinstance(value, dict) and not isinstance(value, EasyDict) else value)

        def __getattr__(self, key):
            try:
                return self[key]
            except KeyError:
                raise AttributeError(key) from None

        def __setattr__(self, key, value):
            self[key] = value

    easydict = types.ModuleType("easydict")
    easydict.EasyDict = EasyDict
    sys.modules["easydict"] = easydict
    return EasyDict


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def randomise(model, generator):
    """Default PyTorch initialisation is already random; what it leaves constant (zero attention
    biases, LayerNorm and BatchNorm affine parameters, BatchNorm running statistics) is made
    random so a loader that drops or swaps one of them cannot pass."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(("output_range", "output_shift")):
                continue  # TFN's fixed output scale: part of the model, never trained
            flat = parameter.reshape(-1)
            if flat.numel() > 0 and bool(torch.all(flat == flat[0])):
                noise = torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype)
                parameter.add_(0.2 * noise)
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                shape = module.running_mean.shape
                module.running_mean.copy_(0.5 * torch.randn(shape, generator=generator))
                module.running_var.copy_(0.5 + 1.5 * torch.rand(shape, generator=generator))
                module.num_batches_tracked.fill_(17)


def make_inputs(config, rng):
    """Raw feature-file arrays: zero padding past each length, -inf audio entries (MMSA's loader
    zeroes them), NaN vision entries where the loader's mean-over-time removes them."""
    text_dim, audio_dim, vision_dim = config["feature_dims"]
    text_len, audio_len, vision_len = config["seq_lens"]
    text = rng.standard_normal((BATCH, text_len, text_dim)).astype(np.float32)
    audio = rng.standard_normal((BATCH, audio_len, audio_dim)).astype(np.float32)
    vision = rng.standard_normal((BATCH, vision_len, vision_dim)).astype(np.float32)
    text_lengths = np.array([text_len, text_len - 2, 3, 1])
    if config["need_data_aligned"]:
        audio_lengths = text_lengths.copy()
        vision_lengths = text_lengths.copy()
    else:
        audio_lengths = np.array([audio_len, audio_len - 3, 4, 2])
        vision_lengths = np.array([vision_len, 2, vision_len - 1, 1])
    for sample in range(BATCH):
        text[sample, text_lengths[sample]:] = 0
        audio[sample, audio_lengths[sample]:] = 0
        vision[sample, vision_lengths[sample]:] = 0
    audio[0, 1, 0] = -np.inf
    audio[2, 0, :] = -np.inf
    if config.get("need_normalized"):
        vision[1, 0, 1] = np.nan
    return {"text": text, "audio": audio, "vision": vision,
            "audio_lengths": audio_lengths.astype(np.int64),
            "vision_lengths": vision_lengths.astype(np.int64)}


def loader_steps(data_loader, inputs, config):
    """MMSA's data_loader.py, MMDataset.__init_mosi: audio -inf -> 0, then __normalize when
    need_normalized (MMSA's own method, called on a bare dataset object)."""
    dataset = data_loader.MMDataset.__new__(data_loader.MMDataset)
    dataset.text = inputs["text"].copy()
    dataset.audio = inputs["audio"].copy()
    dataset.vision = inputs["vision"].copy()
    dataset.audio[dataset.audio == -np.inf] = 0  # the same statement as MMDataset.__init_mosi
    if config.get("need_normalized"):
        dataset._MMDataset__normalize()
    return dataset.text, dataset.audio, dataset.vision


def dfg_networks(amio):
    """Graph-MFN's DynamicFusionGraph keeps its pairwise node networks in a plain dict, so
    nn.Module never registers them: MMSA's state_dict() (and so every Graph-MFN checkpoint MMSA
    saves) lacks their weights. They are returned here to be saved beside it."""
    graph = getattr(amio.Model, "graph_mfn", None)
    return graph.networks if graph is not None else {}


def dfg_state(amio):
    """The unregistered networks' tensors under the names emofuse expects for them:
    Model.graph_mfn.networks.<modalities joined by '_'>.<index in the Sequential>.<parameter>."""
    state = {}
    for key, network in dfg_networks(amio).items():
        for name, tensor in network.state_dict().items():
            state[f"Model.graph_mfn.networks.{'_'.join(map(str, key))}.{name}"] = tensor
    return state


def write_safetensors(path, state):
    dtypes = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        data = tensor.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": dtypes[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for blob in blobs:
            out.write(blob)


def forward(amio, text, audio, vision, dtype):
    # Some models create their initial states with torch.zeros and no dtype (MFN): the default
    # dtype follows the requested one for the float64 reference.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.no_grad():
            result = amio(torch.tensor(text, dtype=dtype), torch.tensor(audio, dtype=dtype),
                          torch.tensor(vision, dtype=dtype))
    finally:
        torch.set_default_dtype(previous)
    return {key: value.detach().numpy() for key, value in result.items()
            if isinstance(value, torch.Tensor)}


def build(models, EasyDict, config):
    torch.manual_seed(0)
    amio = models.AMIO(EasyDict(config))
    amio.eval()
    return amio


def numeric_case(models, data_loader, EasyDict, merged, model, dataset, mode, out, seed,
                 extra=None, suffix=""):
    config = dict(merged)
    config.update(SMALL[model])
    config.update(extra or {})
    config["train_mode"] = mode
    config["device"] = "cpu"  # MMSA's run.py sets it; Graph_MFN reads it
    config["feature_dims"] = SMALL_FEATURE_DIMS
    config["seq_lens"] = [ALIGNED_LEN] * 3 if config["need_data_aligned"] else UNALIGNED_LENS
    case = f"{model}_{dataset}{suffix}_{mode}"
    rng = np.random.default_rng(seed)
    inputs = make_inputs(config, rng)
    text, audio, vision = loader_steps(data_loader, inputs, config)
    # MMSA's MMDataLoader replaces seq_lens by the lengths of the loaded arrays.
    config["seq_lens"] = [text.shape[1], audio.shape[1], vision.shape[1]]
    amio = build(models, EasyDict, config)
    generator = torch.Generator().manual_seed(seed)
    randomise(amio, generator)
    expected = forward(amio, text, audio, vision, torch.float32)
    amio_f64 = copy.deepcopy(amio).double()
    for network in dfg_networks(amio_f64).values():
        network.double()
    expected.update({f"{key}_f64": value for key, value in
                     forward(amio_f64, text, audio, vision, torch.float64).items()})
    torch.save(amio.cpu().state_dict(), out / f"{case}.pth")
    complete = amio.state_dict()
    complete.update(dfg_state(amio))
    write_safetensors(out / f"{case}.safetensors", complete)
    if complete.keys() != amio.state_dict().keys():
        torch.save(complete, out / f"{case}.complete.pth")
    np.savez(out / f"{case}.inputs.npz", **inputs)
    np.savez(out / f"{case}.expected.npz", **expected)
    flat = {key: value for key, value in config.items() if key != "device"}
    (out / f"{case}.config.json").write_text(json.dumps(flat, indent=1) + "\n")
    return case


DEMO_FEATURE_DIMS = [16, 5, 20]
DEMO_LENS = [8, 10, 6]  # text, audio, vision time steps (padded)
DEMO_SPLITS = {"train": 2000, "valid": 300, "heldout": 200}
DEMO_EPOCHS = 25


def demo_split(rng, count, planted):
    """Feature-file arrays of `count` samples and their labels. Values lie on a 1/8 grid; each
    sample has its own length per modality (zero padding after it) and some audio frames are
    -inf, as in MOSI's COVAREP features. The label is a planted function of what the model
    sees after MMSA's loader steps (the padded time means of audio and vision, the text)."""
    text_dim, audio_dim, vision_dim = DEMO_FEATURE_DIMS
    text_len, audio_len, vision_len = DEMO_LENS

    def grid(shape):
        return np.clip(np.round(rng.standard_normal(shape) * 8) / 8, -3, 3).astype(np.float32)

    text, audio, vision = grid((count, text_len, text_dim)), grid((count, audio_len, audio_dim)), \
        grid((count, vision_len, vision_dim))
    lengths = {name: rng.integers(low, high + 1, count) for name, low, high in
               [("text", 3, text_len), ("audio", 4, audio_len), ("vision", 2, vision_len)]}
    for sample in range(count):
        text[sample, lengths["text"][sample]:] = 0
        audio[sample, lengths["audio"][sample]:] = 0
        vision[sample, lengths["vision"][sample]:] = 0
    silent = rng.random(count) < 0.1
    audio[silent, 0, 0] = -np.inf
    seen_audio = np.where(np.isneginf(audio), 0, audio).mean(axis=1)
    seen_vision = vision.mean(axis=1)
    text_mean = text.sum(axis=1) / lengths["text"][:, None]
    s_text = np.tanh(text_mean @ planted["text"])
    s_audio = seen_audio @ planted["audio"]
    s_vision = np.tanh(seen_vision @ planted["vision"])
    label = 1.6 * s_text + 0.9 * s_audio + 0.7 * s_vision + 0.8 * s_audio * s_vision
    label = np.clip(label + 0.1 * rng.standard_normal(count), -3, 3).astype(np.float32)
    inputs = {"text": text, "audio": audio, "vision": vision,
              "audio_lengths": lengths["audio"].astype(np.int64),
              "vision_lengths": lengths["vision"].astype(np.int64)}
    return inputs, label


def demo_sample(models, data_loader, EasyDict, merged, out):
    """Trains MMSA's LF_DNN on a synthetic set as MMSA's trainer does and saves the README
    demo's sample (see the module docstring)."""
    torch.manual_seed(7)
    torch.set_num_threads(1)
    rng = np.random.default_rng(2026)
    planted = {"text": rng.standard_normal(DEMO_FEATURE_DIMS[0]) / 2.5,
               "audio": rng.standard_normal(DEMO_FEATURE_DIMS[1]) * 1.5,
               "vision": rng.standard_normal(DEMO_FEATURE_DIMS[2]) * 0.8}
    splits = {name: demo_split(rng, count, planted) for name, count in DEMO_SPLITS.items()}
    # weight_decay: see the module docstring (0.01 collapses this small model to a constant).
    config = dict(merged, train_mode="regression", device="cpu", weight_decay=0.001,
                  feature_dims=DEMO_FEATURE_DIMS, seq_lens=DEMO_LENS)
    prepared = {}
    for name, (inputs, label) in splits.items():
        text, audio, vision = loader_steps(data_loader, inputs, config)
        prepared[name] = [torch.tensor(text), torch.tensor(audio), torch.tensor(vision),
                          torch.tensor(label).view(-1, 1)]
    config["seq_lens"] = [int(prepared["train"][i].shape[1]) for i in range(3)]
    amio = models.AMIO(EasyDict(config))
    # trains/singleTask/LF_DNN.py: criterion, optimiser and best-model rule (KeyEval "Loss").
    criterion = torch.nn.L1Loss()
    optimizer = torch.optim.Adam(amio.parameters(), lr=config["learning_rate"],
                                 weight_decay=config["weight_decay"])
    checkpoint = out / "lf_dnn_mosi.pth"
    best_valid, batch_size = 1e8, config["batch_size"]
    train = prepared["train"]
    for epoch in range(DEMO_EPOCHS):
        amio.train()
        order = torch.randperm(train[0].shape[0])
        for begin in range(0, len(order), batch_size):
            rows = order[begin:begin + batch_size]
            optimizer.zero_grad()
            loss = criterion(amio(train[0][rows], train[1][rows], train[2][rows])["M"],
                             train[3][rows])
            loss.backward()
            optimizer.step()
        amio.eval()
        with torch.no_grad():
            valid = prepared["valid"]
            valid_loss = criterion(amio(*valid[:3])["M"], valid[3]).item()
        if valid_loss <= best_valid - 1e-6:
            best_valid = valid_loss
            torch.save(amio.cpu().state_dict(), checkpoint)
    amio.load_state_dict(torch.load(checkpoint))
    amio.eval()
    heldout_inputs, heldout_label = splits["heldout"]
    expected = forward(amio, *[t.numpy() for t in prepared["heldout"][:3]], torch.float32)
    np.savez_compressed(out / "heldout.inputs.npz", **heldout_inputs)
    np.save(out / "heldout.truth.npy", heldout_label)
    np.savez(out / "heldout.expected.npz", M=expected["M"])
    flat = {key: value for key, value in config.items() if key != "device"}
    (out / "lf_dnn_mosi.config.json").write_text(json.dumps(flat, indent=1) + "\n")
    mae = float(np.abs(expected["M"][:, 0] - heldout_label).mean())
    print(f"LF_DNN: best validation L1 {best_valid:.4f}, held-out MAE {mae:.4f}, "
          f"label std {heldout_label.std():.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mmsa", required=True, type=Path, help="MMSA checkout (root or src/MMSA)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    parser.add_argument("--demo", type=Path, help="write the README demo's trained sample there "
                        "(and nothing else)")
    args = parser.parse_args()
    root = args.mmsa / "src" / "MMSA" if (args.mmsa / "src" / "MMSA").is_dir() else args.mmsa
    if not (root / "models" / "AMIO.py").is_file():
        sys.exit(f"{args.mmsa}: not an MMSA checkout (no models/AMIO.py)")
    EasyDict = install_placeholders()
    sys.path.insert(0, str(root))
    models = __import__("models")
    mmsa_config = load_module("mmsa_config", root / "config.py")
    data_loader = load_module("mmsa_data_loader", root / "data_loader.py")
    config_file = root / "config" / "config_regression.json"
    config_all = json.loads(config_file.read_text())
    if args.demo:
        args.demo.mkdir(parents=True, exist_ok=True)
        merged = dict(mmsa_config.get_config_regression("lf_dnn", "mosi", str(config_file)))
        demo_sample(models, data_loader, EasyDict, json.loads(json.dumps(merged)), args.demo)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config_file, args.out / "config_regression.json")

    merged_all, shapes = {}, {}
    for model in MODELS:
        for dataset in config_all[model]["datasetParams"]:
            merged = dict(mmsa_config.get_config_regression(model, dataset, str(config_file)))
            merged_all[f"{model}/{dataset}"] = json.loads(json.dumps(merged))
            for mode in ["regression", "classification"]:
                config = dict(merged, train_mode=mode, device="cpu")
                amio = build(models, EasyDict, config)
                shapes[f"{model}/{dataset}/{mode}"] = {
                    name: list(tensor.shape) for name, tensor in amio.state_dict().items()}
    (args.out / "mmsa_merged_configs.json").write_text(json.dumps(merged_all, indent=1) + "\n")
    (args.out / "mmsa_state_dict_shapes.json").write_text(json.dumps(shapes) + "\n")

    cases = []
    for index, model in enumerate(MODELS):
        dataset = "mosi" if "mosi" in config_all[model]["datasetParams"] else "sims"
        merged = merged_all[f"{model}/{dataset}"]
        for offset, mode in enumerate(["regression", "classification"]):
            cases.append(numeric_case(models, data_loader, EasyDict, merged, model, dataset, mode,
                                      args.out, seed=100 + 2 * index + offset))
    # AMIO's alignment sub-network (AlignSubNet 'avg_pool') only acts when the lengths differ:
    # EF-LSTM fed unaligned data, as MMSA does when need_data_aligned is switched off.
    cases.append(numeric_case(models, data_loader, EasyDict, merged_all["ef_lstm/mosi"], "ef_lstm",
                              "mosi", "regression", args.out, seed=200,
                              extra={"need_data_aligned": False}, suffix="_unaligned"))
    print("\n".join(cases))


if __name__ == "__main__":
    main()
