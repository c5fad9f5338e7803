#!/usr/bin/python3
"""Times emofuse's BERT tokenizer against a pure-Python BertTokenizer on the same 10,000 sentences.

    /usr/bin/python3 bench/compare_text.py --bench build/bench/bench/emofuse-bench

Workloads (docs/workloads.md): wordpiece_10k (English-like pseudo-words, uncased, accents),
wordpiece_10k_cjk (the same with runs of CJK ideographs), each encoded to MMSA's
(10000, 3, 50) text_bert array.

The anchor would be Hugging Face's slow BertTokenizer, which MMSA uses; `transformers` cannot be
installed here, so the Python side is tests/text/bert_reference.py, a restatement of the same
algorithm on the same Python string operations (it does per sentence what BertTokenizer does,
minus the library's bookkeeping, so it is if anything faster than the real one). The script
rebuilds bench_text.cpp's data with the same LCG, checks that the sum of all ids equals the
`id_sum` emofuse-bench reports (same data, same tokens), and prints CPU-time medians and ratios.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests/text"))
from bert_reference import ReferenceBertTokenizer  # noqa: E402

SYLLABLES = ["ka", "re", "mo", "ti", "lu", "sen", "tra", "ble", "ing", "ed", "un", "con", "pre",
             "ly", "ment", "ion", "ver", "at", "es", "or", "qui", "zo", "pha", "nd", "str", "ea",
             "ou", "ight", "er", "an", "th", "ful", "ness", "dis", "mis", "ab", "ic", "al", "ive",
             "ous"]


class Lcg:
    def __init__(self, seed):
        self.state = seed

    def below(self, bound):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return (self.state >> 33) % bound


def make_workload(chinese):
    rng = Lcg(2024 if chinese else 11)
    words = []
    for _ in range(6000):
        count = 1 + rng.below(4)
        words.append("".join(SYLLABLES[rng.below(len(SYLLABLES))] for _ in range(count)))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab += [c, "##" + c]
    for s in SYLLABLES:
        vocab += [s, "##" + s]
    vocab += words[:4000]
    vocab += [chr(0x4E00 + i) for i in range(3000)]
    while len(vocab) < 30522:
        vocab.append(f"[unused{len(vocab)}]")
    sentences = []
    for _ in range(10000):
        parts = []
        for _ in range(8 + rng.below(17)):
            piece = ""
            if chinese:
                piece = "".join(chr(0x4E00 + rng.below(3200)) for _ in range(1 + rng.below(6)))
            word = words[rng.below(len(words))]
            if rng.below(8) == 0:
                word = word[0].upper() + word[1:]
            if rng.below(16) == 0 and "e" in word:
                word = word.replace("e", "\u00e9", 1)
            piece += word
            if rng.below(6) == 0:
                piece += ",.!?;"[rng.below(5)]
            parts.append(piece)
        sentences.append(" ".join(parts) + ".")
    token_ids = {}
    for index, token in enumerate(vocab):
        token_ids[token] = index
    return token_ids, sentences


def cpu_seconds(fn):
    start = time.process_time()
    fn()
    return time.process_time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", required=True, help="path to emofuse-bench")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    run = subprocess.run([args.bench, "--benchmark_filter=^wordpiece_10k", "--benchmark_format=json",
                          f"--benchmark_repetitions={args.repeats}"],
                         check=True, capture_output=True, text=True)
    results = json.loads(run.stdout)["benchmarks"]
    for name, chinese in (("wordpiece_10k", False), ("wordpiece_10k_cjk", True)):
        vocab, sentences = make_workload(chinese)
        tokenizer = ReferenceBertTokenizer(vocab, do_lower_case=True)
        encoded = []

        def encode_all():
            encoded[:] = [tokenizer.encode(s, max_length=50) for s in sentences]

        python = statistics.median(cpu_seconds(encode_all) for _ in range(args.repeats))
        id_sum = sum(sum(e["input_ids"]) for e in encoded)
        runs = [r for r in results if r["name"] == name and r.get("run_type") == "iteration"]
        emofuse = statistics.median(r["cpu_time"] for r in runs) / 1e3  # ms -> s
        bench_sum = runs[0]["id_sum"]
        status = "same ids" if bench_sum == id_sum else f"ID SUMS DIFFER ({bench_sum} vs {id_sum})"
        print(f"{name:20s} emofuse {emofuse * 1e3:8.1f} ms   Python {python * 1e3:8.1f} ms   "
              f"{python / emofuse:5.1f}x   {status}")


if __name__ == "__main__":
    main()
