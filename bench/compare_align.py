#!/usr/bin/env python3
"""emofuse alignment vs. the straightforward numpy implementation of the SDK's semantics.

Generates the align_words data (bench/bench_align.cpp: 100 videos x 120 words over 85-95 s,
audio 100 Hz d=74, video 30 Hz d=35, one label row per 9 s utterance, word vectors d=300,
all from the same splitmix64 counter generator), then times side by side in one run:

  1. in memory: numpy (each word scans every frame of the video, as the SDK's
     __intersect_and_copy does, vectorised per word) vs. emofuse-bench's align_words
     (align_rows: contiguous output) and align_words_sequences (align(): one
     (intervals, features) pair per key, the SDK's shape);
  2. end to end on .csd files: a numpy+h5py script (read, align, write .csd) vs.
     `emofuse-align --threads 1`, with peak resident memory of each process;
  3. thread scaling: `emofuse-align --threads 1` and `--threads 2`, interleaved in the same run
     (ratio = wall at 1 thread / wall at 2; efficiency = ratio / 2);

checks that emofuse-align's output equals the numpy result and is the same bytes at 1 and 2
threads, and prints the ratios.

usage: /usr/bin/python3 bench/compare_align.py --bench BUILD/bench/emofuse-bench \
           --cli BUILD/examples/align/emofuse-align [--videos 100] [--repeats 3]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

EPS = 1e-5
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


# ------------------------------------------------------------------ data (as bench_align.cpp)
def splitmix64(x):
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform(stream, video, index):
    key = (np.uint64(stream) << np.uint64(48)) ^ (np.uint64(video) << np.uint64(32)) ^ np.asarray(index, np.uint64)
    return (splitmix64(key) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def frames(stream, v, count, rate, dim):
    k = np.arange(count, dtype=np.float64)
    iv = np.stack([k / rate, (k + 1) / rate], axis=1)
    f = (uniform(stream, v, np.arange(count * dim, dtype=np.uint64)) * 2 - 1).astype(np.float32)
    return iv, f.reshape(count, dim)


def make_dataset(videos):
    words, audio, video, labels = {}, {}, {}, {}
    for v in range(videos):
        vid = "video%03d" % v
        duration = 85.0 + 10.0 * float(uniform(1, v, 0))
        n = 120
        slot = duration / n
        i = np.arange(n, dtype=np.float64)
        u = uniform(2, v, np.arange(2 * n, dtype=np.uint64))
        start = i * slot + 0.1 * slot * u[0::2]
        words[vid] = (np.stack([start, start + slot * (0.4 + 0.5 * u[1::2])], axis=1),
                      (uniform(5, v, np.arange(n * 300, dtype=np.uint64)) * 2 - 1).astype(np.float32).reshape(n, 300))
        audio[vid] = frames(3, v, int(np.floor(duration * 100)), 100.0, 74)
        video[vid] = frames(4, v, int(np.floor(duration * 30)), 30.0, 35)
        utt = int(np.ceil(duration / 9.0))
        uu = np.arange(utt, dtype=np.float64)
        labels[vid] = (np.stack([9.0 * uu, np.minimum(9.0 * (uu + 1), duration)], axis=1),
                       (uniform(6, v, np.arange(utt, dtype=np.uint64)) * 6 - 3).astype(np.float32)[:, None])
    return {"words": words, "covarep": audio, "facet": video, "labels": labels}


# ------------------------------------------------------------------ straightforward numpy
def align_numpy(seqs, reference):
    """SDK semantics, mean collapse: each reference row scans all frames of its video."""
    out = {name: {} for name in seqs}
    ref = seqs[reference]
    valid = set.intersection(*[set(k.split("[")[0] for k in s) for s in seqs.values()])
    for key in sorted(ref):
        if key.split("[")[0] not in valid:
            continue
        riv, rft = ref[key]
        for i in range(riv.shape[0]):
            r = riv[i]
            if abs(r[0] - r[1]) < EPS:
                continue
            seg = "%s[%d]" % (key, i)
            for name, s in seqs.items():
                if name == reference:
                    out[name][seg] = (np.array([[min(r), max(r)]]), rft[i][None, :].copy())
                    continue
                iv, ft = s[key]
                hit = (r[1] - iv[:, 0] > -EPS) & (iv[:, 1] - r[0] > -EPS)
                clipped = np.stack([np.maximum(iv[hit, 0], r[0]), np.minimum(iv[hit, 1], r[1])], axis=1)
                keep = np.abs(clipped[:, 0] - clipped[:, 1]) > EPS
                if not keep.any():
                    continue
                c = clipped[keep]
                out[name][seg] = (np.array([[c.min(), c.max()]]),
                                  ft[hit][keep].astype(np.float64).mean(axis=0)[None, :].astype(ft.dtype))
    return out


def write_csd(path, name, entries, compression):
    with h5py.File(path, "w") as f:
        root = f.create_group(name)
        data = root.create_group("data")
        kw = dict(compression="gzip", compression_opts=compression) if compression else {}
        for key, (iv, ft) in entries.items():
            g = data.create_group(key)
            g.create_dataset("features", data=ft, **kw)
            g.create_dataset("intervals", data=iv, **kw)
        meta = root.create_group("metadata")
        for k in ("root name", "computational sequence description", "computational sequence version",
                  "alignment compatible", "dataset name", "dataset version", "creator", "contact",
                  "featureset bib citation", "dataset bib citation", "dimension names",
                  "dimension namescomputational sequence version"):
            ds = meta.create_dataset(k, (1,), dtype=h5py.special_dtype(vlen=str))
            ds[0] = json.dumps(name if k == "root name" else "align_words benchmark")


def read_csd(path):
    with h5py.File(path, "r") as f:
        root = f[list(f.keys())[0]]
        return {k: (root["data"][k]["intervals"][()], root["data"][k]["features"][()]) for k in root["data"]}


def end_to_end_numpy(indir, outdir):
    """The whole job in numpy + h5py: read every .csd, align, write every .csd (gzip 9)."""
    names = ["words", "covarep", "facet", "labels"]
    seqs = {n: read_csd(os.path.join(indir, n + ".csd")) for n in names}
    out = align_numpy(seqs, "words")
    for n in names:
        write_csd(os.path.join(outdir, n + ".csd"), n, out[n], 9)


# ------------------------------------------------------------------ timing helpers
def timed_child(cmd):
    """Runs cmd; returns (wall seconds, CPU seconds of the child: user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def peak_rss_mib(cmd):
    """Peak RSS of one command via /usr/bin/time -v (MiB)."""
    res = subprocess.run(["/usr/bin/time", "-v"] + cmd, check=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    for line in res.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split(":")[1]) / 1024.0
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="path to emofuse-bench")
    ap.add_argument("--cli", required=True, help="path to emofuse-align")
    ap.add_argument("--videos", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--end-to-end-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--indir", help=argparse.SUPPRESS)
    ap.add_argument("--outdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.end_to_end_only:  # child process for the numpy end-to-end timing
        end_to_end_numpy(args.indir, args.outdir)
        return

    print("generating %d videos ..." % args.videos, flush=True)
    seqs = make_dataset(args.videos)

    # 1. in memory
    numpy_times, numpy_cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        ref_out = align_numpy(seqs, "words")
        numpy_times.append(time.perf_counter() - t0)
        numpy_cpu.append(time.process_time() - c0)
    np_med, np_cpu = statistics.median(numpy_times), statistics.median(numpy_cpu)
    bench_json = subprocess.run([args.bench, "--benchmark_filter=^align_words(_sequences)?$",
                                 "--benchmark_repetitions=%d" % max(3, args.repeats),
                                 "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(bench_json)["benchmarks"] if b.get("run_type") == "iteration"]

    def bench_median(name, field):
        return statistics.median(b[field] for b in runs if b["run_name"] == name) / 1e3  # ms -> s

    cpp_med, cpp_cpu = bench_median("align_words", "real_time"), bench_median("align_words", "cpu_time")
    seq_med, seq_cpu = (bench_median("align_words_sequences", "real_time"),
                        bench_median("align_words_sequences", "cpu_time"))
    if args.videos != 100:
        print("note: emofuse-bench always uses 100 videos; in-memory ratio is per 100 videos")

    # 2. end to end on .csd files
    with tempfile.TemporaryDirectory() as tmp:
        indir, out_np, out_cpp, out_cpp2 = (os.path.join(tmp, d)
                                            for d in ("in", "out_numpy", "out_emofuse", "out_emofuse2"))
        for d in (indir, out_np, out_cpp, out_cpp2):
            os.makedirs(d)
        for name, entries in seqs.items():
            write_csd(os.path.join(indir, name + ".csd"), name, entries, 4)
        in_mib = sum(os.path.getsize(os.path.join(indir, f)) for f in os.listdir(indir)) / 2 ** 20
        files = [os.path.join(indir, n + ".csd") for n in ("words", "covarep", "facet", "labels")]
        cli = [args.cli, "--reference", "words", "--collapse", "mean", "--quiet", "--threads", "1",
               "--out", out_cpp] + files
        cli2 = [args.cli, "--reference", "words", "--collapse", "mean", "--quiet", "--threads", "2",
                "--out", out_cpp2] + files
        py = [sys.executable, os.path.abspath(__file__), "--bench", args.bench, "--cli", args.cli,
              "--end-to-end-only", "--indir", indir, "--outdir", out_np]
        cli_runs, cli2_runs, py_runs = [], [], []
        for _ in range(args.repeats):
            cli_runs.append(timed_child(cli))
            cli2_runs.append(timed_child(cli2))
            py_runs.append(timed_child(py))
        cli_rss, py_rss = peak_rss_mib(cli), peak_rss_mib(py)
        largest_video_mib = max(
            sum(s[k][0].nbytes + s[k][1].nbytes for s in seqs.values()) for k in seqs["words"]) / 2 ** 20
        dataset_mib = sum(a.nbytes + b.nbytes for s in seqs.values() for a, b in s.values()) / 2 ** 20

        # determinism: the same bytes at 1 and 2 threads
        for name in seqs:
            with open(os.path.join(out_cpp, name + ".csd"), "rb") as a, \
                    open(os.path.join(out_cpp2, name + ".csd"), "rb") as b:
                assert a.read() == b.read(), "%s.csd differs between 1 and 2 threads" % name

        # parity at scale: emofuse-align output == numpy output
        worst = 0.0
        for name in seqs:
            got = read_csd(os.path.join(out_cpp, name + ".csd"))
            want = ref_out[name]
            assert set(got) == set(want), name
            for k in want:
                worst = max(worst, float(np.abs(got[k][0] - want[k][0]).max()),
                            float(np.abs(got[k][1].astype(np.float64) - want[k][1].astype(np.float64)).max()))

    cli_med = statistics.median(r[0] for r in cli_runs)
    cli_cpu = statistics.median(r[1] for r in cli_runs)
    cli2_med = statistics.median(r[0] for r in cli2_runs)
    cli2_cpu = statistics.median(r[1] for r in cli2_runs)
    py_med = statistics.median(r[0] for r in py_runs)
    py_cpu = statistics.median(r[1] for r in py_runs)
    print()
    print("align_words (%d videos, %d segments), medians of %d, one thread; wall (CPU) seconds" % (
        args.videos, len(ref_out["words"]), args.repeats))
    print("  in memory   numpy %7.3f (%7.3f)  emofuse       %7.4f (%7.4f)  ratio %6.1fx wall, %6.1fx CPU" % (
        np_med, np_cpu, cpp_med, cpp_cpu, np_med / cpp_med, np_cpu / cpp_cpu))
    print("    (as one (intervals, features) pair per key, align(): %7.4f (%7.4f)  ratio %6.1fx wall)" % (
        seq_med, seq_cpu, np_med / seq_med))
    print("  end to end  numpy %7.3f (%7.3f)  emofuse-align %7.4f (%7.4f)  ratio %6.1fx wall, %6.1fx CPU" % (
        py_med, py_cpu, cli_med, cli_cpu, py_med / cli_med, py_cpu / cli_cpu))
    print("  threads     emofuse-align --threads 1 %7.4f (%7.4f)  --threads 2 %7.4f (%7.4f)  "
          "scaling %4.2fx, efficiency %3.0f%%" % (cli_med, cli_cpu, cli2_med, cli2_cpu, cli_med / cli2_med,
                                                  50.0 * cli_med / cli2_med))
    print("  peak RSS    numpy %8.1f MiB emofuse-align %8.1f MiB" % (py_rss, cli_rss))
    print("  data: %.1f MiB in memory (%.1f MiB largest video), %.1f MiB of .csd input" % (
        dataset_mib, largest_video_mib, in_mib))
    print("  parity: max |emofuse-align - numpy| = %.3g; 1 and 2 threads: the same bytes" % worst)


if __name__ == "__main__":
    main()
