#!/usr/bin/python3
"""Records the expected tokens and ids of the tokenizer tests (tests/text/data/expected.json).

Default: the committed hand-written vocabularies (data/uncased_vocab.txt with
do_lower_case=True, data/cased_vocab.txt with do_lower_case=False) and the sentences below,
through bert_reference.py — a restatement of Hugging Face's BertTokenizer, used because
`transformers` cannot be installed here (it is not packaged for Debian).

With a real vocabulary:  generate_fixtures.py --vocab path/to/vocab.txt [--cased] --out file.json
records the same sentences against it (e.g. bert-base-uncased's vocab.txt); when `transformers`
is importable it also checks every case against BertTokenizer itself and stops on a difference.
The C++ test `text_real_vocab` reads such a file when EMOFUSE_BERT_VOCAB_CASES names it.
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bert_reference import ReferenceBertTokenizer, load_vocab  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent

SENTENCES = [
    "The quick brown fox jumped over the lazy dog.",
    "unaffable",
    "UNAFFABLE unhappy",
    "Hello, World!",
    "hello,world!don't",
    "  leading and trailing spaces  ",
    "",
    "   \t\n  ",
    "Café naïve RÉSUMÉ",
    "cafe\u0301 e\u0301",
    "ΟΔΟΣ οδος",
    "\u0130 istanbul I",
    "a\x00b c\ufffdd e\u200bf g\ue000h i\x7fj",
    "tab\there\nnew\rline",
    "line\u2028sep para\u2029sep",
    "nbsp\u00a0space ideographic\u3000space",
    "中国人好",
    "我爱北京",
    "hello世界world",
    "\uf900 compat ideograph",
    "한국어 \u1112\u1161\u11ab",
    "Привет, мир!",
    "«quoted» — dash… ¿Qué? ¡Hola!",
    "$5.00 + 12345 ± € 100%",
    "a^b`c~d|e",
    "xyzzy quux qq",
    "emoji 😀 here",
    "I love [MASK] movies",
    "Hello[SEP]world [CLS]x[UNK]",
    "[cls] [Sep] [MASK",
    "a" * 100,
    "a" * 101,
    "b" * 99 + "é",
    "\u0300\u0301 lone marks",
    "Straße ﬁ ｆ",
    "unhappy playing jumps",
    "x" * 5 + "中" + "x" * 5,
    "ab" + "cd" * 3,
]

PAIRS = [
    ("the quick brown fox", "jumped over the lazy dog", 8),
    ("the quick", "brown fox jumped over the lazy dog", 9),
    ("hello world", "hello world", 6),
    ("a b c d e f", "a", 5),
    ("", "the quick brown", 4),
    ("hello", "world", 12),
]

LENGTHS = [None, 4, 8, 50]


def cases(tokenizer):
    out = []
    for text in SENTENCES:
        case = {"text": text, "tokens": tokenizer.tokenize(text), "ids": tokenizer.ids(text)}
        case["encodings"] = [
            {"max_length": length, **tokenizer.encode(text, max_length=length)}
            for length in LENGTHS
            if length is None or length > 2
        ]
        out.append(case)
    pairs = []
    for first, second, length in PAIRS:
        pairs.append({"first": first, "second": second, "max_length": length,
                      **tokenizer.encode(first, second, max_length=length)})
    return out, pairs


def check_against_transformers(vocab_path, do_lower_case, sentences, pairs):
    try:
        from transformers import BertTokenizer
    except ImportError:
        print("transformers not importable: recorded the restatement's answers unchecked")
        return
    library = BertTokenizer(str(vocab_path), do_lower_case=do_lower_case)
    for case in sentences:
        assert library.tokenize(case["text"]) == case["tokens"], ascii(case["text"])
        for encoding in case["encodings"]:
            length = encoding["max_length"]
            kwargs = {} if length is None else {"max_length": length, "truncation": True,
                                                 "padding": "max_length"}
            got = library(case["text"], **kwargs)
            for key in ("input_ids", "attention_mask", "token_type_ids"):
                assert got[key] == encoding[key], (ascii(case["text"]), key)
    for pair in pairs:
        got = library(pair["first"], pair["second"], max_length=pair["max_length"],
                      truncation=True, padding="max_length")
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            assert got[key] == pair[key], (pair["first"], pair["second"], key)
    print("transformers.BertTokenizer agrees on every case")


def record(vocab_path, do_lower_case):
    tokenizer = ReferenceBertTokenizer(load_vocab(vocab_path), do_lower_case=do_lower_case)
    sentences, pairs = cases(tokenizer)
    check_against_transformers(vocab_path, do_lower_case, sentences, pairs)
    return {"vocab": pathlib.Path(vocab_path).name, "do_lower_case": do_lower_case,
            "sentences": sentences, "pairs": pairs}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=pathlib.Path)
    parser.add_argument("--cased", action="store_true", help="do_lower_case=False")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args()
    if args.vocab:
        result = record(args.vocab, not args.cased)
        result["vocab_path"] = str(args.vocab.resolve())
        out = args.out or pathlib.Path("bert_vocab_cases.json")
    else:
        result = {"uncased": record(HERE / "data/uncased_vocab.txt", True),
                  "cased": record(HERE / "data/cased_vocab.txt", False)}
        out = args.out or HERE / "data/expected.json"
    out.write_text(json.dumps(result, ensure_ascii=True, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
