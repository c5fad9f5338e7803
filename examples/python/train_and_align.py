#!/usr/bin/env python3
"""emofuse from a training loop: evaluate each epoch's predictions with the numbers
emofuse-eval prints, stream them through an accumulator (as DDP ranks would), and align a
folder of CMU computational sequence (.csd) files.

usage: python3 examples/python/train_and_align.py [--csd-dir DIR --reference NAME --out DIR]

Without --csd-dir it writes a small synthetic folder of .csd files first (words, audio at
100 Hz, labels per utterance) and aligns that. Needs emofuse importable (the build tree's
build/<preset>/python on PYTHONPATH, or `cmake --install`).
"""
import argparse
import os
import pickle
import tempfile

import numpy as np

import emofuse


def fake_epochs(samples=600, epochs=3, seed=0):
    """Predictions that improve epoch by epoch, as a training loop would produce them."""
    rng = np.random.default_rng(seed)
    truth = np.clip(rng.normal(0, 1.5, samples), -3, 3).astype(np.float32)
    for epoch in range(epochs):
        noise = rng.normal(0, 1.5 / (epoch + 1), samples).astype(np.float32)
        yield epoch, truth + noise, truth


def evaluate_epochs():
    print("per-epoch MOSI metrics (MMSA preset), 95% bootstrap interval of Corr:")
    for epoch, pred, truth in fake_epochs():
        result = emofuse.metrics.mosi(pred, truth, bootstrap=200, seed=epoch)
        m, ci = result["metrics"], result["ci"]
        print(f"  epoch {epoch}: Has0_acc_2 {m['Has0_acc_2']:.4f}  Mult_acc_7 "
              f"{m['Mult_acc_7']:.4f}  MAE {m['MAE']:.4f}  Corr {m['Corr']:.4f} "
              f"[{ci['Corr'][0]:.4f}, {ci['Corr'][1]:.4f}]")

    # Streaming: each rank (here: each batch) updates its own accumulator; the pickled states
    # are gathered and merged, and the result equals the one-shot call.
    *_, (epoch, pred, truth) = fake_epochs()
    shards = []
    for rank, (p, t) in enumerate(zip(np.array_split(pred, 4), np.array_split(truth, 4))):
        acc = emofuse.metrics.Accumulator("mosi")
        acc.update(p, t)
        shards.append(pickle.dumps(acc))  # what torch.distributed.all_gather_object would ship
    total = emofuse.metrics.Accumulator("mosi")
    for blob in shards:
        total.merge(pickle.loads(blob))
    streamed = total.compute()["metrics"]
    one_shot = emofuse.metrics.mosi(pred, truth)["metrics"]
    print(f"  merged from 4 shards: Corr {streamed['Corr']:.6f} (one shot {one_shot['Corr']:.6f})")


def write_synthetic_csd(folder, videos=5, seed=1):
    """words (d=4), covarep-like audio at 100 Hz (d=6) and one label per 5 s utterance."""
    rng = np.random.default_rng(seed)
    words, audio, labels = {}, {}, {}
    for v in range(videos):
        duration = 20.0 + 5.0 * rng.random()
        starts = np.sort(rng.uniform(0, duration - 0.5, 40))
        words[f"video{v}"] = {"intervals": np.stack([starts, starts + 0.3], axis=1),
                              "features": rng.normal(size=(40, 4)).astype(np.float32)}
        frames = np.arange(int(duration * 100))
        audio[f"video{v}"] = {"intervals": np.stack([frames / 100, (frames + 1) / 100], axis=1),
                              "features": rng.normal(size=(frames.size, 6)).astype(np.float32)}
        cuts = np.arange(0, duration, 5.0)
        labels[f"video{v}"] = {"intervals": np.stack([cuts, np.minimum(cuts + 5, duration)], axis=1),
                               "features": rng.uniform(-3, 3, (cuts.size, 1))}
    for name, data in (("words", words), ("covarep", audio), ("labels", labels)):
        emofuse.csd.write(os.path.join(folder, f"{name}.csd"), data)


def align_folder(folder, reference, out_dir):
    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".csd"))
    names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    print(f"aligning {', '.join(names)} to '{reference}' (mean collapse)")
    # In memory: the SDK's dataset.align(reference, collapse_functions=[numpy.mean]).
    report = {}
    aligned = emofuse.align(dict(zip(names, paths)), reference, [np.mean], report=report)
    for name, entries in aligned.items():
        first = next(iter(entries.values()), None)
        width = first["features"].shape[1] if first is not None else 0
        print(f"  {name}: {len(entries)} segments x {width} features")
    if report["removed_ids"]:
        print(f"  removed (not in every sequence): {', '.join(report['removed_ids'])}")
    # Streamed file to file, one video at a time (what emofuse-align does).
    done = emofuse.csd.align_files(paths, out_dir, reference, ["mean"])
    print(f"  wrote {len(done['written'])} files to {out_dir}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csd-dir", help="folder of .csd files (default: a synthetic one)")
    parser.add_argument("--reference", default="words", help="reference sequence or file stem")
    parser.add_argument("--out", help="output folder for the aligned .csd files")
    args = parser.parse_args()
    evaluate_epochs()
    if not emofuse.csd.available():
        print("this emofuse build has no .csd support (HDF5 not found): skipping alignment")
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.csd_dir or os.path.join(scratch, "csd")
        if not args.csd_dir:
            os.makedirs(folder)
            write_synthetic_csd(folder)
        align_folder(folder, args.reference, args.out or os.path.join(scratch, "aligned"))


if __name__ == "__main__":
    main()
