"""A Python restatement of Hugging Face's BertTokenizer (the slow, pure-Python one).

`transformers` is not installable here (it is not in Debian), so the expected ids of the
tokenizer tests come from this restatement, written from the published algorithm of
`tokenization_bert.py` and the base class `PreTrainedTokenizer.tokenize`, on Python's own
`unicodedata` and `str` methods exactly as those use them. It is deliberately written
differently from the C++ (whole-string Python operations, no tables), so the two check each
other. With a real vocab.txt and `transformers` available, `check_against_transformers` in
generate_fixtures.py compares this restatement with the library itself.
"""

import re
import unicodedata

CHINESE_RANGES = [
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
]


def load_vocab(path):
    """Token -> id as Hugging Face's load_vocab: readlines() in text mode, rstrip("\\n")."""
    vocab = {}
    with open(path, "r", encoding="utf-8") as reader:
        for index, token in enumerate(reader.readlines()):
            vocab[token.rstrip("\n")] = index
    return vocab


def is_whitespace(char):
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def is_control(char):
    if char in "\t\n\r":
        return False
    return unicodedata.category(char).startswith("C")


def is_punctuation(char):
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_chinese(char):
    return any(low <= ord(char) <= high for low, high in CHINESE_RANGES)


class ReferenceBertTokenizer:
    def __init__(self, vocab, do_lower_case=True, strip_accents=None, tokenize_chinese_chars=True,
                 never_split=(), max_input_chars_per_word=100):
        self.vocab = vocab
        self.do_lower_case = do_lower_case
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.never_split = set(never_split)
        self.max_chars = max_input_chars_per_word
        self.specials = ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]

    # --- PreTrainedTokenizer.tokenize -------------------------------------------------------
    def tokenize(self, text):
        if self.do_lower_case:
            pattern = "(" + "|".join(re.escape(s) for s in self.specials) + ")|(.+?)"
            text = re.sub(pattern, lambda m: m.groups()[0] or m.groups()[1].lower(), text)
        pieces = re.split("(" + "|".join(re.escape(s) for s in self.specials) + ")", text)
        tokens = []
        for piece in pieces:
            if not piece:
                continue
            if piece in self.specials:
                tokens.append(piece)
            else:
                for word in self.basic_tokenize(piece):
                    if word in self.never_split:
                        tokens.append(word)
                    else:
                        tokens.extend(self.wordpiece(word))
        return tokens

    # --- BasicTokenizer.tokenize ------------------------------------------------------------
    def basic_tokenize(self, text):
        cleaned = []
        for char in text:
            if ord(char) == 0 or ord(char) == 0xFFFD or is_control(char):
                continue
            cleaned.append(" " if is_whitespace(char) else char)
        text = "".join(cleaned)
        if self.tokenize_chinese_chars:
            text = "".join(f" {c} " if is_chinese(c) else c for c in text)
        text = unicodedata.normalize("NFC", text)
        split = []
        for word in text.strip().split():
            if word not in self.never_split:
                if self.do_lower_case:
                    word = word.lower()
                    if self.strip_accents is not False:
                        word = self.strip(word)
                elif self.strip_accents:
                    word = self.strip(word)
            split.extend(self.split_on_punctuation(word))
        return " ".join(split).strip().split()

    @staticmethod
    def strip(word):
        return "".join(c for c in unicodedata.normalize("NFD", word)
                       if unicodedata.category(c) != "Mn")

    def split_on_punctuation(self, word):
        if word in self.never_split:
            return [word]
        out, current = [], None
        for char in word:
            if is_punctuation(char):
                out.append(char)
                current = None
            else:
                if current is None:
                    out.append("")
                    current = len(out) - 1
                out[current] += char
        return out

    # --- WordpieceTokenizer.tokenize --------------------------------------------------------
    def wordpiece(self, word):
        if len(word) > self.max_chars:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in self.vocab:
                    pieces.append(candidate)
                    start = end
                    break
            else:
                return ["[UNK]"]
        return pieces

    # --- encoding ---------------------------------------------------------------------------
    def ids(self, text):
        return [self.vocab.get(t, self.vocab["[UNK]"]) for t in self.tokenize(text)]

    def encode(self, text, pair=None, max_length=None):
        first = self.ids(text)
        second = self.ids(pair) if pair is not None else None
        specials = 3 if second is not None else 2
        if max_length is not None:
            # longest_first, one token at a time as the original implementation does it
            excess = len(first) + (len(second) if second is not None else 0) + specials - max_length
            for _ in range(max(excess, 0)):
                if second is None or len(first) > len(second):
                    first = first[:-1]
                else:
                    second = second[:-1]
        cls, sep, pad = self.vocab["[CLS]"], self.vocab["[SEP]"], self.vocab["[PAD]"]
        ids = [cls] + first + [sep]
        types = [0] * len(ids)
        if second is not None:
            ids += second + [sep]
            types += [1] * (len(second) + 1)
        mask = [1] * len(ids)
        if max_length is not None and len(ids) < max_length:
            padding = max_length - len(ids)
            ids += [pad] * padding
            mask += [0] * padding
            types += [0] * padding
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
