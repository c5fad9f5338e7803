// state_dict: insertion rules, lookup errors that help find the intended name, typed access.
#include <emofuse/io/state_dict.hpp>

#include "io_fixtures.hpp"

#include <string>

using namespace emofuse::io;
using emofuse::dynamic;
using io_test::message_of;

namespace {

state_dict small_model() {
    state_dict tensors("head.safetensors");
    tensors.insert("encoder.fc.weight", xt::xtensor<float, 2>({{1, 2, 3}, {4, 5, 6}}));
    tensors.insert("encoder.fc.bias", xt::xtensor<float, 1>({0.5f, -0.5f}));
    tensors.insert("out.weight", xt::xtensor<double, 2>({{1, 1}}));
    tensors.insert("out.bias", xt::xtensor<double, 1>({2}));
    return tensors;
}

} // namespace

TEST_CASE("state_dict stores named tensors in name order") {
    const auto tensors = small_model();
    CHECK(tensors.size() == 4);
    CHECK(tensors.source() == "head.safetensors");
    CHECK(tensors.contains("out.bias"));
    CHECK_FALSE(tensors.contains("out"));
    CHECK(tensors.names() == std::vector<std::string>{"encoder.fc.bias", "encoder.fc.weight",
                                                      "out.bias", "out.weight"});
    CHECK(tensors.at("out.weight").type == dtype::f64);
    CHECK(tensors.names("encoder.") ==
          std::vector<std::string>{"encoder.fc.bias", "encoder.fc.weight"});
    CHECK(tensors.names("out.b") == std::vector<std::string>{"out.bias"});
    CHECK(tensors.names("zzz").empty());
    CHECK(tensors.names("").size() == 4);
    CHECK(state_dict().source() == "<memory>");
    CHECK(state_dict().empty());
}

TEST_CASE_TEMPLATE("state_dict::tensor converts and checks shapes", T, float, double) {
    const auto tensors = small_model();
    const auto weight = tensors.tensor<T, 2>("encoder.fc.weight", {2, 3});
    CHECK(weight(1, 2) == T(6));
    CHECK(tensors.tensor<T, 1>("out.bias")(0) == T(2));
    CHECK(tensors.tensor<T, 2>("out.weight", {dynamic, 2}).shape()[0] == 1);

    const auto wrong_extent = message_of<emofuse::shape_error>([&] {
        (void)tensors.tensor<T, 2>("encoder.fc.weight", {3, 2});
    });
    CHECK(wrong_extent.find("'encoder.fc.weight'") != std::string::npos);
    CHECK(wrong_extent.find("head.safetensors") != std::string::npos);
    CHECK(wrong_extent.find("(3, 2)") != std::string::npos);
    CHECK(wrong_extent.find("(2, 3)") != std::string::npos);
    CHECK_THROWS_AS((tensors.tensor<T, 1>("encoder.fc.weight")), emofuse::shape_error);
}

TEST_CASE("state_dict::at names the missing tensor, the source and likely candidates") {
    const auto tensors = small_model();
    const auto message = message_of<emofuse::io_error>([&] { (void)tensors.at("fc.weight"); });
    CHECK(message.find("'fc.weight'") != std::string::npos);
    CHECK(message.find("head.safetensors") != std::string::npos);
    CHECK(message.find("4 tensors") != std::string::npos);
    // Same last component first: the likely intended name with its module prefix.
    CHECK(message.find("'encoder.fc.weight'") < message.find("'encoder.fc.bias'"));
    CHECK_THROWS_AS((tensors.tensor<float, 1>("nothing")), emofuse::io_error);

    state_dict many;
    for (int i = 0; i < 20; ++i) {
        many.insert("layer" + std::to_string(i) + ".bias", xt::xtensor<float, 1>({1.0f}));
    }
    const auto truncated = message_of<emofuse::io_error>([&] { (void)many.at("missing"); });
    CHECK(truncated.find("<memory>") != std::string::npos);
    CHECK(truncated.find(", ...") != std::string::npos);
    CHECK(truncated.find("layer9.bias") == std::string::npos); // only the first few are listed
}

TEST_CASE("state_dict::insert rejects duplicates and inconsistent tensors") {
    auto tensors = small_model();
    const auto duplicate = message_of<emofuse::value_error>(
        [&] { tensors.insert("out.bias", xt::xtensor<float, 1>({1.0f})); });
    CHECK(duplicate.find("'out.bias'") != std::string::npos);
    stored_tensor broken{dtype::f32, {3}, std::vector<std::byte>(8)};
    CHECK_THROWS_AS(tensors.insert("broken", broken), emofuse::shape_error);
    CHECK_FALSE(tensors.contains("broken"));
}

TEST_CASE("state_dict::without_prefix selects a sub-module and renames its tensors") {
    auto tensors = small_model();
    tensors.set_metadata({{"format", "pt"}});
    const auto encoder = tensors.without_prefix("encoder.");
    CHECK(encoder.names() == std::vector<std::string>{"fc.bias", "fc.weight"});
    CHECK(encoder.source() == "head.safetensors");
    CHECK(encoder.metadata().at("format") == "pt");
    CHECK(encoder.at("fc.weight") == tensors.at("encoder.fc.weight"));
    CHECK(tensors.without_prefix("").names() == tensors.names());
    CHECK(tensors.without_prefix("module.").empty());
}

TEST_CASE("state_dict keeps metadata and iterates in name order") {
    auto tensors = small_model();
    tensors.set_metadata({{"format", "pt"}});
    CHECK(tensors.metadata().at("format") == "pt");
    std::vector<std::string> seen;
    for (const auto& [name, tensor] : tensors) {
        seen.push_back(name);
        CHECK(tensor.bytes.size() == tensor.size() * dtype_size(tensor.type));
    }
    CHECK(seen == tensors.names());
}
