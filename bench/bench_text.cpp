// Tokenizer benchmarks (names from docs/workloads.md): 10,000 sentences through the BERT
// tokenizer into MMSA's (10000, 3, 50) text_bert array. The vocabulary (30,522 lines, as
// bert-base-uncased's) and the sentences are synthetic and deterministic: a 64-bit LCG draws
// pseudo-words from syllables, so bench/compare_text.py rebuilds exactly the same data in
// Python and checks the `id_sum` counter against its own encoding.
#include <emofuse/text/mmsa_text.hpp>
#include <emofuse/text/vocabulary.hpp>
#include <emofuse/text/wordpiece.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace et = emofuse::language;

namespace {

/// The generator compare_text.py restates: x ← x·6364136223846793005 + 1442695040888963407.
class lcg {
public:
    explicit lcg(std::uint64_t seed) : state_(seed) {}
    std::uint32_t below(std::uint32_t bound) {
        state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint32_t>((state_ >> 33) % bound);
    }

private:
    std::uint64_t state_;
};

constexpr std::array<std::string_view, 40> syllables{
    "ka",  "re",  "mo",   "ti",  "lu",   "sen", "tra", "ble",  "ing", "ed",
    "un",  "con", "pre",  "ly",  "ment", "ion", "ver", "at",   "es",  "or",
    "qui", "zo",  "pha",  "nd",  "str",  "ea",  "ou",  "ight", "er",  "an",
    "th",  "ful", "ness", "dis", "mis",  "ab",  "ic",  "al",   "ive", "ous"};

struct text_workload {
    std::string vocab_text;
    std::vector<std::string> sentences;
};

/// Words of 1-4 syllables; the vocabulary holds the first two thirds whole, every syllable
/// as a word start and a ## continuation, letters, punctuation and fillers up to 30,522 lines.
text_workload make_workload(bool chinese) {
    lcg rng(chinese ? 2024 : 11);
    std::vector<std::string> words(6000);
    for (auto& word : words) {
        const auto count = 1 + rng.below(4);
        for (std::uint32_t s = 0; s < count; ++s) {
            word += syllables[rng.below(static_cast<std::uint32_t>(syllables.size()))];
        }
    }
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    std::size_t lines = 5;
    const auto add = [&](std::string_view token) {
        vocab += token;
        vocab += '\n';
        ++lines;
    };
    for (const char c : std::string_view("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")) {
        add(std::string(1, c));
    }
    for (char c = 'a'; c <= 'z'; ++c) {
        add(std::string(1, c));
        add(std::string("##") + c);
    }
    for (const auto syllable : syllables) {
        add(syllable);
        add(std::string("##") + std::string(syllable));
    }
    for (std::size_t i = 0; i < 4000; ++i) {
        add(words[i]);
    }
    for (char32_t ideograph = 0x4E00; ideograph < 0x4E00 + 3000; ++ideograph) {
        std::string utf8;
        et::append_utf8(utf8, ideograph);
        add(utf8);
    }
    while (lines < 30522) {
        add("[unused" + std::to_string(lines) + "]");
    }

    std::vector<std::string> sentences(10000);
    constexpr std::string_view marks = ",.!?;";
    for (auto& sentence : sentences) {
        const auto count = 8 + rng.below(17);
        for (std::uint32_t w = 0; w < count; ++w) {
            if (w > 0) {
                sentence += ' ';
            }
            if (chinese) {
                // runs of ideographs (a few outside the vocabulary) between Latin words
                const auto run = 1 + rng.below(6);
                for (std::uint32_t k = 0; k < run; ++k) {
                    et::append_utf8(sentence, 0x4E00 + rng.below(3200));
                }
            }
            std::string word = words[rng.below(static_cast<std::uint32_t>(words.size()))];
            if (rng.below(8) == 0) {
                word[0] = static_cast<char>(word[0] - 'a' + 'A');
            }
            if (rng.below(16) == 0) {
                if (const auto e = word.find('e'); e != std::string::npos) {
                    word.replace(e, 1, "\xC3\xA9"); // é: stripped back to e
                }
            }
            sentence += word;
            if (rng.below(6) == 0) {
                sentence += marks[rng.below(static_cast<std::uint32_t>(marks.size()))];
            }
        }
        sentence += '.';
    }
    return {std::move(vocab), std::move(sentences)};
}

void run_text_bert(benchmark::State& state, bool chinese) {
    const auto workload = make_workload(chinese);
    const et::bert_tokenizer tokenizer(et::vocabulary::parse(workload.vocab_text));
    std::size_t bytes = 0;
    for (const auto& sentence : workload.sentences) {
        bytes += sentence.size();
    }
    for (auto _ : state) {
        auto text_bert = et::mmsa_text_bert(tokenizer, workload.sentences, 50);
        benchmark::DoNotOptimize(text_bert.data());
    }
    // Outside the timing: the sum of all ids, which compare_text.py checks against Python.
    const auto text_bert = et::mmsa_text_bert(tokenizer, workload.sentences, 50);
    double id_sum = 0;
    for (std::size_t row = 0; row < text_bert.shape(0); ++row) {
        for (std::size_t column = 0; column < text_bert.shape(2); ++column) {
            id_sum += text_bert(row, 0, column);
        }
    }
    state.counters["id_sum"] = id_sum;
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 10000);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void wordpiece_10k(benchmark::State& state) {
    run_text_bert(state, false);
}
void wordpiece_10k_cjk(benchmark::State& state) {
    run_text_bert(state, true);
}

} // namespace

BENCHMARK(wordpiece_10k)->Unit(benchmark::kMillisecond);
BENCHMARK(wordpiece_10k_cjk)->Unit(benchmark::kMillisecond);
