// tests/cli/predict_fixtures.cpp — what cases.sh needs around emofuse-predict without Python:
//   predict_fixtures compare OUT.npz EXPECTED.npz KEY TOLERANCE
//       every value of OUT[KEY] within TOLERANCE·(1 + |expected|) of EXPECTED[KEY], same shape
//       (exit 1 and the largest error otherwise);
//   predict_fixtures variants IN.npz DIR
//       writes bad and re-typed copies of a fixture's inputs (see below) and truth files;
//   predict_fixtures repeat IN.npz COUNT OUT.npz
//       the inputs' samples repeated to COUNT samples (a large input);
//   predict_fixtures transcripts IN.npz LINES.txt VOCAB.txt
//       a vocabulary of [PAD] [UNK] [CLS] [SEP] t4 t5 ... and one line per sample naming the
//       tokens of IN's text_bert row between [CLS] and [SEP] ("t17 t4 t93"), which that
//       vocabulary's BertTokenizer turns back into the same row (the ids do not go through
//       emofuse's tokenizer here).
#include "common/npz_output.hpp"

#include <emofuse/io/convert.hpp>
#include <emofuse/io/npy.hpp>
#include <emofuse/io/npz.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace io = emofuse::io;
using emofuse::cli::npz_member;

std::vector<npz_member> members_of(const io::state_dict& arrays) {
    std::vector<npz_member> members;
    for (const auto& [name, tensor] : arrays) {
        members.push_back({name, tensor});
    }
    return members;
}

void save(const std::filesystem::path& path, const std::vector<npz_member>& members) {
    emofuse::cli::save_npz(path, members, "predict_fixtures");
}

std::vector<npz_member> replaced(const io::state_dict& arrays, const std::string& name,
                                 const io::stored_tensor& tensor) {
    auto members = members_of(arrays);
    for (auto& member : members) {
        if (member.name == name) {
            member.values = tensor;
        }
    }
    return members;
}

int compare(const std::string& out, const std::string& expected, const std::string& key,
            double tolerance) {
    const auto got = io::load_npz(out);
    const auto want = io::load_npz(expected);
    const auto& a = got.at(key);
    const auto& b = want.at(key);
    if (a.shape != b.shape || a.type != io::dtype::f32) {
        std::printf("%s: shape %s %s, expected float32 %s\n", key.c_str(),
                    io::shape_to_string(a.shape).c_str(),
                    std::string(io::dtype_name(a.type)).c_str(),
                    io::shape_to_string(b.shape).c_str());
        return 1;
    }
    const auto x = io::to_xtensor<double, 2>(a, key, out);
    const auto y = io::to_xtensor<double, 2>(b, key, expected);
    double worst = 0;
    bool ok = true;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double error = std::abs(x.data()[i] - y.data()[i]);
        worst = std::max(worst, error);
        ok = ok && error <= tolerance * (1 + std::abs(y.data()[i]));
    }
    std::printf("%s: %zu values, largest error %.3g\n", key.c_str(), x.size(), worst);
    return ok ? 0 : 1;
}

void variants(const std::string& in, const std::filesystem::path& dir) {
    const auto arrays = io::load_npz(in);
    std::filesystem::create_directories(dir);
    const auto text = io::to_xtensor<float, 3>(arrays.at("text"), "text", in);
    const auto audio = io::to_xtensor<float, 3>(arrays.at("audio"), "audio", in);
    const std::size_t samples = text.shape(0);

    auto members = members_of(arrays);
    std::erase_if(members, [](const npz_member& m) { return m.name == "audio"; });
    save(dir / "missing_audio.npz", members);

    xt::xtensor<float, 3> wide = xt::zeros<float>({samples, audio.shape(1), audio.shape(2) + 1});
    save(dir / "wide_audio.npz", replaced(arrays, "audio", io::to_stored(wide)));
    xt::xtensor<float, 3> fewer = xt::zeros<float>({samples - 1, audio.shape(1), audio.shape(2)});
    save(dir / "fewer_audio.npz", replaced(arrays, "audio", io::to_stored(fewer)));
    xt::xtensor<float, 2> flat = xt::zeros<float>({samples, audio.shape(1)});
    save(dir / "flat_audio.npz", replaced(arrays, "audio", io::to_stored(flat)));

    xt::xtensor<std::int64_t, 1> lengths = xt::ones<std::int64_t>({samples});
    lengths(1) = static_cast<std::int64_t>(audio.shape(1)) + 1;
    save(dir / "long_lengths.npz", replaced(arrays, "audio_lengths", io::to_stored(lengths)));
    xt::xtensor<std::int64_t, 1> short_count = xt::ones<std::int64_t>({samples + 1});
    save(dir / "count_lengths.npz", replaced(arrays, "audio_lengths", io::to_stored(short_count)));

    xt::xtensor<std::int32_t, 3> integers = xt::zeros<std::int32_t>(text.shape());
    save(dir / "int_text.npz", replaced(arrays, "text", io::to_stored(integers)));

    std::vector<npz_member> doubles;
    for (const auto& [name, tensor] : arrays) {
        doubles.push_back({name, name.ends_with("_lengths")
                                     ? tensor
                                     : io::to_stored(io::to_xtensor<double, 3>(tensor, name, in))});
    }
    save(dir / "f64.npz", doubles);

    xt::xtensor<float, 1> truth = xt::zeros<float>({samples});
    for (std::size_t i = 0; i < samples; ++i) {
        truth(i) = static_cast<float>(i) - 1.5f;
    }
    io::save_npy(dir / "truth.npy", truth);
    xt::xtensor<double, 2> column = xt::xtensor<double, 2>::from_shape({samples, 1});
    std::copy(truth.begin(), truth.end(), column.begin());
    io::save_npy(dir / "truth_column.npy", column);
    io::save_npy(dir / "truth_short.npy", xt::xtensor<float, 1>(xt::zeros<float>({samples - 1})));
}

void repeat(const std::string& in, std::size_t count, const std::filesystem::path& out) {
    const auto arrays = io::load_npz(in);
    std::vector<npz_member> members;
    for (const auto& [name, tensor] : arrays) {
        if (name.ends_with("_lengths")) {
            continue;
        }
        const auto values = io::to_xtensor<float, 3>(tensor, name, in);
        xt::xtensor<float, 3> big =
            xt::xtensor<float, 3>::from_shape({count, values.shape(1), values.shape(2)});
        const std::size_t row = values.shape(1) * values.shape(2);
        for (std::size_t i = 0; i < count; ++i) {
            std::copy_n(values.data() + (i % values.shape(0)) * row, row, big.data() + i * row);
        }
        members.push_back({name, io::to_stored(big)});
    }
    save(out, members);
}

void transcripts(const std::string& in, const std::filesystem::path& lines_path,
                 const std::filesystem::path& vocab_path) {
    const auto arrays = io::load_npz(in);
    const auto text = io::to_xtensor<float, 3>(arrays.at("text_bert"), "text_bert", in);
    constexpr std::size_t vocab_size = 100; // the fixtures' stand-in BERT
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n";
    for (std::size_t id = 4; id < vocab_size; ++id) {
        vocab += "t" + std::to_string(id) + "\n";
    }
    std::string lines;
    for (std::size_t sample = 0; sample < text.shape(0); ++sample) {
        std::string line;
        // Row 0 holds the ids, row 1 the mask: [CLS] first, [SEP] at the last real token.
        std::size_t real = 0;
        while (real < text.shape(2) && text(sample, 1, real) != 0.0f) {
            ++real;
        }
        for (std::size_t t = 1; t + 1 < real; ++t) {
            line +=
                (line.empty() ? "t" : " t") + std::to_string(static_cast<long>(text(sample, 0, t)));
        }
        lines += line + "\n";
    }
    const auto write = [](const std::filesystem::path& path, const std::string& contents) {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        if (f == nullptr ||
            std::fwrite(contents.data(), 1, contents.size(), f) != contents.size() ||
            std::fclose(f) != 0) {
            throw std::runtime_error("cannot write " + path.string());
        }
    };
    write(lines_path, lines);
    write(vocab_path, vocab);
}

} // namespace

int main(int argc, char** argv) {
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
        if (args.size() == 5 && args[0] == "compare") {
            return compare(args[1], args[2], args[3], std::stod(args[4]));
        }
        if (args.size() == 3 && args[0] == "variants") {
            variants(args[1], args[2]);
            return 0;
        }
        if (args.size() == 4 && args[0] == "repeat") {
            repeat(args[1], std::stoul(args[2]), args[3]);
            return 0;
        }
        if (args.size() == 4 && args[0] == "transcripts") {
            transcripts(args[1], args[2], args[3]);
            return 0;
        }
        std::fprintf(stderr, "usage: predict_fixtures compare|variants|repeat|transcripts ...\n");
        return 2;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "predict_fixtures: %s\n", error.what());
        return 1;
    }
}
