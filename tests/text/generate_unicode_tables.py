#!/usr/bin/python3
"""Writes include/emofuse/text/detail/unicode_tables.hpp from Python's unicodedata.

Hugging Face's BertTokenizer classifies characters, lower-cases and normalises with Python's
own Unicode database (`unicodedata`, `str.lower`, `str.isspace`), so the tokenizer's tables
come from the same place: run this with the Python whose behaviour should be matched
(/usr/bin/python3 here: Python 3.11, Unicode 14.0.0). It checks the tables it writes against
unicodedata before writing: NFD and NFC restated over the tables must equal
unicodedata.normalize for every code point and for mixed strings, and the assumptions the C++
code makes (lower-casing is idempotent, NFC never creates a character that lower-casing would
change, no mapping produces whitespace) are asserted.

Usage: tests/text/generate_unicode_tables.py [output.hpp]
"""

import pathlib
import random
import sys
import unicodedata

CODE_POINTS = 0x110000
BLOCK_SHIFT = 7
BLOCK = 1 << BLOCK_SHIFT

# Property bits (shifted above the 8-bit canonical combining class in each table entry).
REMOVED_BY_CLEAN = 1  # NUL, U+FFFD and every category C* character except \t \n \r
BERT_WHITESPACE = 2  # ' ', \t, \n, \r or category Zs: becomes one space when cleaned
PUNCTUATION = 4  # ASCII 33-47, 58-64, 91-96, 123-126 or category P*
NONSPACING_MARK = 8  # category Mn: dropped when accents are stripped
PYTHON_SPACE = 16  # str.isspace(): where str.split() cuts
HAS_LOWERCASE = 32  # str.lower() changes the character
HAS_DECOMPOSITION = 64  # NFD changes the character (Hangul syllables included)
COMPOSES_AS_SECOND = 128  # second of a primary composite's pair, or a Hangul V or T jamo

S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
N_COUNT = V_COUNT * T_COUNT
S_COUNT = L_COUNT * N_COUNT


def properties(cp):
    c = chr(cp)
    category = unicodedata.category(c)
    bits = 0
    if cp == 0 or cp == 0xFFFD or (category.startswith("C") and c not in "\t\n\r"):
        bits |= REMOVED_BY_CLEAN
    if c in " \t\n\r" or category == "Zs":
        bits |= BERT_WHITESPACE
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        bits |= PUNCTUATION
    if category.startswith("P"):
        bits |= PUNCTUATION
    if category == "Mn":
        bits |= NONSPACING_MARK
    if c.isspace():
        bits |= PYTHON_SPACE
    if c.lower() != c:
        bits |= HAS_LOWERCASE
    if unicodedata.normalize("NFD", c) != c:
        bits |= HAS_DECOMPOSITION
    return bits


def is_surrogate(cp):
    return 0xD800 <= cp <= 0xDFFF


def composition_pairs():
    pairs = {}
    for cp in range(CODE_POINTS):
        if is_surrogate(cp):
            continue
        c = chr(cp)
        mapping = unicodedata.decomposition(c)
        if mapping and not mapping.startswith("<"):
            parts = [int(x, 16) for x in mapping.split()]
            # excluded and non-starter decompositions are exactly those NFC does not keep
            if len(parts) == 2 and unicodedata.normalize("NFC", c) == c:
                pairs[(parts[0], parts[1])] = cp
    return pairs


def build():
    compositions = composition_pairs()
    seconds = {second for _, second in compositions}
    seconds |= set(range(V_BASE, V_BASE + V_COUNT)) | set(range(T_BASE + 1, T_BASE + T_COUNT))
    entries = []
    for cp in range(CODE_POINTS):
        bits = properties(cp) | (COMPOSES_AS_SECOND if cp in seconds else 0)
        entries.append((bits << 8) | unicodedata.combining(chr(cp)))
    blocks, index = {}, []
    for start in range(0, CODE_POINTS, BLOCK):
        block = tuple(entries[start : start + BLOCK])
        index.append(blocks.setdefault(block, len(blocks)))
    assert len(blocks) <= 256, "block index must fit in a byte"
    block_data = [0] * (len(blocks) * BLOCK)
    for block, number in blocks.items():
        block_data[number * BLOCK : (number + 1) * BLOCK] = block

    decompositions = {}
    lowercase = {}
    for cp in range(CODE_POINTS):
        if is_surrogate(cp):
            continue
        c = chr(cp)
        if S_BASE <= cp < S_BASE + S_COUNT:
            pass  # Hangul syllables decompose and compose algorithmically
        elif unicodedata.normalize("NFD", c) != c:
            decompositions[cp] = [ord(x) for x in unicodedata.normalize("NFD", c)]
        if c.lower() != c:
            lowercase[cp] = [ord(x) for x in c.lower()]
    return entries, index, block_data, decompositions, lowercase, compositions


def check(entries, decompositions, lowercase, compositions):
    """Restates the C++ algorithms over the tables and compares them with unicodedata."""

    def ccc(cp):
        return entries[cp] & 0xFF

    def nfd(text):
        out = []
        for ch in text:
            cp = ord(ch)
            if S_BASE <= cp < S_BASE + S_COUNT:
                s = cp - S_BASE
                out += [L_BASE + s // N_COUNT, V_BASE + (s % N_COUNT) // T_COUNT]
                if s % T_COUNT:
                    out.append(T_BASE + s % T_COUNT)
            else:
                out += decompositions.get(cp, [cp])
        # canonical ordering: a stable sort of each run of non-starters by class
        i = 0
        while i < len(out):
            if ccc(out[i]) == 0:
                i += 1
                continue
            j = i
            while j < len(out) and ccc(out[j]) != 0:
                j += 1
            out[i:j] = sorted(out[i:j], key=ccc)
            i = j
        return out

    def compose(first, second):
        if L_BASE <= first < L_BASE + L_COUNT and V_BASE <= second < V_BASE + V_COUNT:
            return S_BASE + ((first - L_BASE) * V_COUNT + (second - V_BASE)) * T_COUNT
        if (
            S_BASE <= first < S_BASE + S_COUNT
            and (first - S_BASE) % T_COUNT == 0
            and T_BASE < second < T_BASE + T_COUNT
        ):
            return first + (second - T_BASE)
        return compositions.get((first, second))

    def nfc(text):
        s = nfd(text)
        if not s:
            return ""
        starter = 0
        last_class = ccc(s[0])
        if last_class != 0:
            last_class = 256
        kept = 1
        for i in range(1, len(s)):
            cp = s[i]
            cp_class = ccc(cp)
            second = (entries[cp] >> 8) & COMPOSES_AS_SECOND
            composite = compose(s[starter], cp) if second else None
            if composite is not None and (last_class < cp_class or last_class == 0):
                s[starter] = composite
                continue
            if cp_class == 0:
                starter = kept
            last_class = cp_class
            s[kept] = cp
            kept += 1
        return "".join(chr(x) for x in s[:kept])

    for cp in range(CODE_POINTS):
        if is_surrogate(cp):
            continue
        c = chr(cp)
        assert "".join(map(chr, nfd(c))) == unicodedata.normalize("NFD", c), hex(cp)
        assert nfc(c) == unicodedata.normalize("NFC", c), hex(cp)
        lower = c.lower()
        assert lower.lower() == lower, f"lower-casing is not idempotent at {cp:#x}"
        assert not any(x.isspace() for x in lower) or c.isspace(), hex(cp)
        assert not any(x.isspace() for x in unicodedata.normalize("NFD", c)) or c.isspace()
    for (first, second), composite in compositions.items():
        if chr(first).lower() == chr(first) and chr(second).lower() == chr(second):
            assert chr(composite).lower() == chr(composite), hex(composite)

    pool = [chr(cp) for cp in range(0x20, 0x250)]
    pool += [chr(cp) for cp in range(0x300, 0x370)]  # combining marks
    pool += [chr(cp) for cp in range(0x1100, 0x1200)]  # Hangul jamo
    pool += [chr(cp) for cp in range(0xAC00, 0xAC40)]
    pool += list("\u0385\u0390\u1e9b\u1fc1\u0f73\u0f75\u0f81\u0b47\u0b3e\u0b57\u09c7\u09be")
    pool += list("\u05b0\u05b8\u0591\u0323\u031b\u0345\u0307\u0130\u03a3\u212b\u2126\u1f80")
    generator = random.Random(11)
    for _ in range(200000):
        text = "".join(generator.choice(pool) for _ in range(generator.randint(1, 6)))
        assert "".join(map(chr, nfd(text))) == unicodedata.normalize("NFD", text), ascii(text)
        assert nfc(text) == unicodedata.normalize("NFC", text), ascii(text)


def format_numbers(values, width=99):
    lines, line = [], "   "
    for value in values:
        item = f" {value},"
        if len(line) + len(item) > width:
            lines.append(line)
            line = "   "
        line += item
    lines.append(line)
    return "\n".join(lines)


def mapping_arrays(name, table):
    keys = sorted(table)
    starts, data = [0], []
    for key in keys:
        data += table[key]
        starts.append(len(data))
    return (
        f"inline constexpr std::uint32_t {name}_keys[] = {{\n{format_numbers(keys)}\n}};\n"
        f"inline constexpr std::uint16_t {name}_starts[] = {{\n{format_numbers(starts)}\n}};\n"
        f"inline constexpr char32_t {name}_data[] = {{\n{format_numbers(data)}\n}};\n"
    )


def write(path, index, block_data, decompositions, lowercase, compositions):
    pairs = sorted(compositions.items())
    composition_keys = [(first << 21) | second for (first, second), _ in pairs]
    composition_values = [composite for _, composite in pairs]
    version = sys.version.split()[0]
    text = f"""// emofuse/text/detail/unicode_tables.hpp — GENERATED by
// tests/text/generate_unicode_tables.py from Python {version}'s unicodedata (Unicode
// {unicodedata.unidata_version}); do not edit, regenerate.
//
// Each code point has a 16-bit entry: the low byte is its canonical combining class, the high
// byte the property bits below. Entries are stored in {BLOCK}-code-point blocks shared between
// ranges that look alike: the entry of cp is
// property_blocks[property_index[cp >> {BLOCK_SHIFT}] * {BLOCK} + (cp & {BLOCK - 1})].
// The mappings (full canonical decomposition, full lower-case mapping) are sorted keys with
// the start of each key's code points in a flat array; compositions are keyed by
// (first << 21) | second. Hangul syllables are decomposed and composed algorithmically.
#pragma once

#include <cstdint>

// clang-format off
namespace emofuse::language::detail {{

inline constexpr char unicode_version[] = "{unicodedata.unidata_version}";
inline constexpr char unicode_source[] = "Python {version} unicodedata";

inline constexpr std::uint16_t removed_by_clean = {REMOVED_BY_CLEAN};
inline constexpr std::uint16_t bert_whitespace = {BERT_WHITESPACE};
inline constexpr std::uint16_t punctuation = {PUNCTUATION};
inline constexpr std::uint16_t nonspacing_mark = {NONSPACING_MARK};
inline constexpr std::uint16_t python_space = {PYTHON_SPACE};
inline constexpr std::uint16_t has_lowercase = {HAS_LOWERCASE};
inline constexpr std::uint16_t has_decomposition = {HAS_DECOMPOSITION};
inline constexpr std::uint16_t composes_as_second = {COMPOSES_AS_SECOND};
inline constexpr unsigned property_block_shift = {BLOCK_SHIFT};

inline constexpr std::uint8_t property_index[] = {{
{format_numbers(index)}
}};
inline constexpr std::uint16_t property_blocks[] = {{
{format_numbers(block_data)}
}};

{mapping_arrays("decomposition", decompositions)}
{mapping_arrays("lowercase", lowercase)}
inline constexpr std::uint64_t composition_keys[] = {{
{format_numbers(composition_keys)}
}};
inline constexpr char32_t composition_values[] = {{
{format_numbers(composition_values)}
}};

}} // namespace emofuse::language::detail
// clang-format on
"""
    pathlib.Path(path).write_text(text)


def main():
    root = pathlib.Path(__file__).resolve().parents[2]
    output = sys.argv[1] if len(sys.argv) > 1 else root / "include/emofuse/text/detail/unicode_tables.hpp"
    entries, index, block_data, decompositions, lowercase, compositions = build()
    check(entries, decompositions, lowercase, compositions)
    write(output, index, block_data, decompositions, lowercase, compositions)
    print(f"wrote {output}: {len(block_data) // BLOCK} blocks, {len(decompositions)} decompositions, "
          f"{len(lowercase)} lower-case mappings, {len(compositions)} compositions")


if __name__ == "__main__":
    main()
