// MMSA's checkpoints as its trainers save them (torch.save of the AMIO state dict, a zip .pth)
// read by emofuse's restricted reader: every fixture's .pth holds exactly the tensors of its
// safetensors copy, byte for byte — except Graph-MFN's, whose pair networks MMSA never saves
// (fixtures committed without a safetensors copy are skipped).
#include <emofuse/io/load_state_dict.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;

void check_same_tensors(const emofuse::io::state_dict& pth,
                        const emofuse::io::state_dict& reference, const std::string& case_name) {
    for (const auto& [name, tensor] : pth) {
        INFO(case_name, ": ", name);
        REQUIRE(reference.contains(name));
        CHECK(tensor == reference.at(name));
    }
}

} // namespace

TEST_CASE("every MMSA checkpoint fixture loads through the .pth reader as its safetensors copy") {
    std::size_t checked = 0;
    for (const auto& entry : fs::directory_iterator(EMOFUSE_TEST_DATA_DIR)) {
        const auto path = entry.path();
        const std::string file = path.filename().string();
        if (path.extension() != ".pth" || file.ends_with(".complete.pth")) {
            continue;
        }
        const std::string case_name = file.substr(0, file.size() - 4);
        const auto copy = path.parent_path() / (case_name + ".safetensors");
        if (!fs::exists(copy)) {
            // Large BERT-era checkpoints (ALMT's) are committed as .pth only; their models'
            // parity tests read them.
            continue;
        }
        const auto pth = emofuse::io::load_state_dict(path);
        const auto reference = emofuse::io::load_state_dict(copy);
        check_same_tensors(pth, reference, case_name);
        if (case_name.starts_with("graph_mfn")) {
            // MMSA's DynamicFusionGraph keeps its pair networks in a plain dict: state_dict()
            // (and so the saved file) omits them; the .complete.pth has them.
            CHECK(pth.size() < reference.size());
            CHECK(pth.names("Model.graph_mfn.networks.").empty());
            const auto complete =
                emofuse::io::load_state_dict(path.parent_path() / (case_name + ".complete.pth"));
            CHECK(complete.size() == reference.size());
            check_same_tensors(complete, reference, case_name + ".complete");
        } else {
            CHECK(pth.size() == reference.size());
        }
        ++checked;
    }
    CHECK(checked >= 21);
}
