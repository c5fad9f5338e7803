// tests/cli/make_hostile_csd.cpp — writes the small .csd files the CLI regression tests feed
// to emofuse-align (no Python in tests):
//   DIR/newline_key.csd  one video whose id holds a line break ("bad\nvideo")
//   DIR/disjoint.csd     videos that no other test file has ("elsewhere_0", "elsewhere_1")
#include <emofuse/io/csd/writer.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace {

emofuse::align::computational_sequence<float>
make_sequence(const std::string& name, const std::vector<std::string>& videos) {
    emofuse::align::computational_sequence<float> seq;
    seq.name = name;
    seq.feature_size = 2;
    for (const auto& video : videos) {
        auto& entry = seq.entries[video];
        entry.intervals = {{0.0, 1.0}, {1.0, 2.0}, {2.0, 3.0}};
        entry.features = {{1.0f, 2.0f}, {3.0f, 4.0f}, {5.0f, 6.0f}};
    }
    return seq;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_hostile_csd DIR\n");
        return 2;
    }
    try {
        const std::filesystem::path dir = argv[1];
        std::filesystem::create_directories(dir);
        emofuse::io::csd::write_csd(dir / "newline_key.csd",
                                    make_sequence("newline_key", {"bad\nvideo", "good"}));
        emofuse::io::csd::write_csd(dir / "disjoint.csd",
                                    make_sequence("disjoint", {"elsewhere_0", "elsewhere_1"}));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_hostile_csd: %s\n", e.what());
        return 1;
    }
    return 0;
}
