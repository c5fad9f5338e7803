// Interval alignment and tensor export against the numpy reference (generate_fixtures.py).
#include "fixture_io.hpp"

#include <emofuse/align/interval_align.hpp>
#include <emofuse/align/tensors.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace emofuse::align;

namespace {

// Every value is compared within 1e-6 (relative above 1); the reference computes in float64
// and rounds once to the feature type, as emofuse does.
constexpr double tolerance = 1e-6;

std::vector<any_sequence> fixture_sequences(const nlohmann::json& fixture) {
    std::vector<any_sequence> seqs;
    for (const auto& s : fixture.at("sequences")) {
        seqs.push_back(align_test::any_from_json(s));
    }
    return seqs;
}

align_options case_options(const nlohmann::json& c) {
    align_options options;
    options.reference = c.at("reference").get<std::string>();
    for (const auto& name : c.at("collapse")) {
        options.collapse.push_back(collapse::by_name(name.get<std::string>()));
    }
    options.impute_zeros = c.at("impute").get<bool>();
    return options;
}

void check_tensors(const std::vector<any_sequence>& aligned, const nlohmann::json& want,
                   pad_side pad) {
    tensor_options options;
    options.seq_len = want.at("seq_len").get<std::size_t>();
    options.pad = pad;
    const auto keys = common_keys(aligned);
    REQUIRE(keys == want.at("keys").get<std::vector<std::string>>());
    for (std::size_t s = 0; s < aligned.size(); ++s) {
        std::visit(
            [&](const auto& seq) {
                const auto t = to_tensor(seq, keys, options);
                const auto& w = want.at("values")[s];
                REQUIRE(t.shape(0) == w.size());
                for (std::size_t n = 0; n < t.shape(0); ++n) {
                    for (std::size_t l = 0; l < t.shape(1); ++l) {
                        for (std::size_t j = 0; j < t.shape(2); ++j) {
                            CHECK(std::abs(static_cast<double>(t(n, l, j)) -
                                           w[n][l][j].get<double>()) <= tolerance);
                        }
                    }
                }
            },
            aligned[s]);
    }
}

} // namespace

TEST_CASE("interval alignment matches the numpy reference on every edge-case fixture") {
    const auto fixture = align_test::load_json("interval_align.json");
    const auto seqs = fixture_sequences(fixture);
    for (const auto& c : fixture.at("cases")) {
        const auto options = case_options(c);
        INFO("reference " << options.reference << ", collapse " << c.at("collapse").dump()
                          << ", impute " << options.impute_zeros);
        align_report report;
        const auto aligned = align(seqs, options, &report);
        CHECK(report.removed_ids == c.at("removed").get<std::vector<std::string>>());
        REQUIRE(aligned.size() == c.at("expected").size());
        for (std::size_t s = 0; s < aligned.size(); ++s) {
            CHECK(sequence_name(aligned[s]) == c.at("expected")[s].at("name").get<std::string>());
            align_test::check_entries(aligned[s], c.at("expected")[s], tolerance);
        }
        if (c.contains("tensors_left")) {
            check_tensors(aligned, c.at("tensors_left"), pad_side::left);
            check_tensors(aligned, c.at("tensors_right"), pad_side::right);
        }

        // The contiguous form holds the same entries, in segment_key_less order, and its
        // common entries are the tensor keys.
        align_report rows_report;
        const auto rows = align_rows(seqs, options, &rows_report);
        CHECK(rows_report.segments == report.segments);
        CHECK(rows_report.imputed == report.imputed);
        REQUIRE(rows.size() == aligned.size());
        for (std::size_t s = 0; s < rows.size(); ++s) {
            std::visit(
                [&](const auto& r) {
                    CHECK(std::is_sorted(
                        r.keys.begin(), r.keys.end(),
                        [](const auto& a, const auto& b) { return segment_key_less(a, b); }));
                    CHECK(r.metadata ==
                          std::visit([](const auto& q) { return q.metadata; }, seqs[s]));
                    align_test::check_entries(any_sequence(to_computational_sequence(r)),
                                              c.at("expected")[s], tolerance);
                },
                rows[s]);
        }
        std::vector<std::string> common;
        const auto key_of = [&](std::size_t s, std::size_t e) {
            return std::visit([&](const auto& r) { return r.keys.at(e); }, rows[s]);
        };
        for (const auto& entry : common_entries(rows)) {
            for (std::size_t s = 1; s < rows.size(); ++s) {
                CHECK(key_of(s, entry[s]) == key_of(0, entry[0]));
            }
            common.push_back(key_of(0, entry[0]));
        }
        CHECK(common == common_keys(aligned));
    }
}

namespace {

// The SDK's rule written directly: every frame (in start order) is tested against every
// reference row; used to check the searched, streamed implementation on random data.
struct brute_entry {
    double start = 0;
    double end = 0;
    std::vector<double> mean;
    std::vector<std::size_t> frames;
};

std::map<std::string, brute_entry> brute_align(const segment<double>& ref,
                                               const segment<double>& frames) {
    constexpr double eps = interval_epsilon;
    std::vector<std::size_t> order(frames.rows());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return frames.intervals(a, 0) < frames.intervals(b, 0);
    });
    std::map<std::string, brute_entry> out;
    for (std::size_t i = 0; i < ref.rows(); ++i) {
        const double r0 = ref.intervals(i, 0);
        const double r1 = ref.intervals(i, 1);
        if (std::abs(r0 - r1) < eps) {
            continue;
        }
        brute_entry e;
        e.start = std::numeric_limits<double>::infinity();
        e.end = -std::numeric_limits<double>::infinity();
        e.mean.assign(frames.features.shape(1), 0.0);
        for (const std::size_t j : order) {
            const double s0 = frames.intervals(j, 0);
            const double s1 = frames.intervals(j, 1);
            if (!(r1 - s0 > -eps && s1 - r0 > -eps)) {
                continue;
            }
            const double c0 = std::max(s0, r0);
            const double c1 = std::min(s1, r1);
            if (std::abs(c0 - c1) <= eps) {
                continue;
            }
            e.start = std::min(e.start, c0);
            e.end = std::max(e.end, c1);
            e.frames.push_back(j);
            for (std::size_t d = 0; d < e.mean.size(); ++d) {
                e.mean[d] += frames.features(j, d);
            }
        }
        if (!e.frames.empty()) {
            for (double& m : e.mean) {
                m /= static_cast<double>(e.frames.size());
            }
            out.emplace("v[" + std::to_string(i) + "]", std::move(e));
        }
    }
    return out;
}

} // namespace

TEST_CASE("random overlapping, unsorted and touching frames match the all-pairs rule") {
    // Frames on a coarse time grid (so ends touch starts and tiny overlaps occur), some
    // long ones spanning many rows, in shuffled order; reference rows in shuffled order too
    // (searches must restart when a query goes back in time).
    std::mt19937_64 rng(20261125);
    for (int trial = 0; trial < 200; ++trial) {
        INFO("trial " << trial);
        const std::size_t n_frames = 1 + rng() % 60;
        const std::size_t n_ref = 1 + rng() % 12;
        const std::size_t dim = 1 + rng() % 5;
        const auto time = [&](std::size_t ticks) {
            return 0.25 * static_cast<double>(rng() % ticks);
        };
        computational_sequence<double> ref{"ref", {}, 1, {}};
        computational_sequence<double> other{"other", {}, dim, {}};
        auto& r = ref.entries["v"];
        r.intervals = xt::xtensor<double, 2>::from_shape({n_ref, 2});
        r.features = xt::zeros<double>({n_ref, std::size_t{1}});
        for (std::size_t i = 0; i < n_ref; ++i) {
            const double start = time(40);
            r.intervals(i, 0) = start;
            r.intervals(i, 1) = start + (rng() % 4 == 0 ? 0.0 : time(12) + 0.25 * (rng() % 2));
        }
        auto& f = other.entries["v"];
        f.intervals = xt::xtensor<double, 2>::from_shape({n_frames, 2});
        f.features = xt::xtensor<double, 2>::from_shape({n_frames, dim});
        for (std::size_t j = 0; j < n_frames; ++j) {
            const double start = time(44);
            const double length = rng() % 8 == 0 ? time(40) : (rng() % 6 == 0 ? 1e-6 : 0.25);
            f.intervals(j, 0) = start;
            f.intervals(j, 1) = start + length;
            for (std::size_t d = 0; d < dim; ++d) {
                f.features(j, d) = static_cast<double>(rng() % 1000) / 7.0;
            }
        }
        const auto want = brute_align(r, f);

        align_options options;
        options.reference = "ref";
        options.collapse = {collapse::mean()};
        const auto got = align_rows(std::vector<any_sequence>{ref, other}, options);
        const auto& rows = std::get<aligned_rows<double>>(got[1]);
        REQUIRE(rows.entries() == want.size());
        for (std::size_t e = 0; e < rows.entries(); ++e) {
            INFO("entry " << rows.keys[e]);
            const auto it = want.find(rows.keys[e]);
            REQUIRE(it != want.end());
            CHECK(rows.intervals_of(e)[0] == it->second.start);
            CHECK(rows.intervals_of(e)[1] == it->second.end);
            for (std::size_t d = 0; d < dim; ++d) {
                CHECK(std::abs(rows.features_of(e)[d] - it->second.mean[d]) <= 1e-12);
            }
        }
        options.collapse.clear(); // raw rows: exactly the kept frames, in start order
        const auto raw = align_rows(std::vector<any_sequence>{ref, other}, options);
        const auto& raw_rows = std::get<aligned_rows<double>>(raw[1]);
        REQUIRE(raw_rows.entries() == want.size());
        for (std::size_t e = 0; e < raw_rows.entries(); ++e) {
            const auto& frames = want.at(raw_rows.keys[e]).frames;
            REQUIRE(raw_rows.rows(e) == frames.size());
            for (std::size_t k = 0; k < frames.size(); ++k) {
                for (std::size_t d = 0; d < dim; ++d) {
                    CHECK(raw_rows.features_of(e)[k * dim + d] == f.features(frames[k], d));
                }
            }
        }
    }
}

TEST_CASE("feature types are kept and intervals are float64") {
    const auto fixture = align_test::load_json("interval_align.json");
    align_options options;
    options.reference = "words";
    options.collapse = {collapse::mean()};
    const auto aligned = align(fixture_sequences(fixture), options);
    CHECK(std::holds_alternative<computational_sequence<double>>(aligned[0]));
    CHECK(std::holds_alternative<computational_sequence<float>>(aligned[1]));
    CHECK(std::holds_alternative<computational_sequence<double>>(aligned[2]));
    CHECK(std::holds_alternative<computational_sequence<float>>(aligned[3]));
}

TEST_CASE_TEMPLATE("a hand-checked alignment", T, float, double) {
    // Reference words [0,1], [1,1] (skipped), [1,2]; frames [0,0.5], [0.5,1.5], [1.5,2],
    // [2,3] (touches the last word only at 2: dropped).
    computational_sequence<T> words{"words", {}, 1, {}};
    words.entries["v"].intervals = {{0.0, 1.0}, {1.0, 1.0}, {1.0, 2.0}};
    words.entries["v"].features = {{10}, {20}, {30}};
    computational_sequence<T> audio{"audio", {}, 2, {}};
    audio.entries["v"].intervals = {{0.0, 0.5}, {0.5, 1.5}, {1.5, 2.0}, {2.0, 3.0}};
    audio.entries["v"].features = {{1, 2}, {3, 4}, {5, 6}, {7, 8}};
    align_options options;
    options.reference = "words";
    options.collapse = {collapse::mean(), collapse::max(), collapse::weighted_mean()};
    align_report report;
    const auto out = align(std::vector{words, audio}, options, &report);
    CHECK(report.skipped_reference_rows == 1);
    REQUIRE(out[1].entries.size() == 2);
    CHECK(out[1].entries.count("v[1]") == 0); // skipped row, index not reused
    const auto& first = out[1].entries.at("v[0]");
    CHECK(first.intervals == xt::xtensor<double, 2>{{0.0, 1.0}});
    CHECK(first.features == xt::xtensor<T, 2>{{2, 3, 3, 4, 2, 3}});
    const auto& second = out[1].entries.at("v[2]");
    CHECK(second.intervals == xt::xtensor<double, 2>{{1.0, 2.0}});
    CHECK(second.features == xt::xtensor<T, 2>{{4, 5, 5, 6, 4, 5}});
    // The reference is collapsed too: its own row.
    CHECK(out[0].entries.at("v[2]").features == xt::xtensor<T, 2>{{30, 30, 30}});
    CHECK(out[0].feature_size == 3);
    CHECK(out[1].feature_size == 6);
}

TEST_CASE("without collapse entries hold clipped intervals and raw rows in start order") {
    computational_sequence<double> ref{"ref", {}, 1, {}};
    ref.entries["v"].intervals = {{1.0, 2.0}};
    ref.entries["v"].features = {{0}};
    computational_sequence<double> other{"other", {}, 1, {}};
    other.entries["v"].intervals = {{1.5, 3.0}, {0.0, 1.2}};
    other.entries["v"].features = {{2}, {1}};
    align_options options;
    options.reference = "ref";
    const auto out = align(std::vector{ref, other}, options);
    const auto& e = out[1].entries.at("v[0]");
    CHECK(e.intervals == xt::xtensor<double, 2>{{1.0, 1.2}, {1.5, 2.0}});
    CHECK(e.features == xt::xtensor<double, 2>{{1}, {2}});
}

TEST_CASE("impute gives missing keys the reference interval and zeros") {
    computational_sequence<double> ref{"ref", {}, 1, {}};
    ref.entries["v"].intervals = {{0.0, 1.0}, {5.0, 6.0}};
    ref.entries["v"].features = {{1}, {2}};
    computational_sequence<double> other{"other", {}, 2, {}};
    other.entries["v"].intervals = {{0.0, 1.0}};
    other.entries["v"].features = {{3, 4}};
    align_options options;
    options.reference = "ref";
    options.collapse = {collapse::mean(), collapse::stddev()};
    auto out = align(std::vector{ref, other}, options);
    CHECK(out[1].entries.count("v[1]") == 0);
    options.impute_zeros = true;
    align_report report;
    out = align(std::vector{ref, other}, options, &report);
    CHECK(report.imputed == std::vector<std::size_t>{0, 1});
    const auto& e = out[1].entries.at("v[1]");
    CHECK(e.intervals == xt::xtensor<double, 2>{{5.0, 6.0}});
    CHECK(e.features == xt::zeros<double>({1, 4}));
}

TEST_CASE("user collapse callables receive clipped intervals and raw rows") {
    computational_sequence<float> ref{"ref", {}, 1, {}};
    ref.entries["v"].intervals = {{1.0, 2.0}};
    ref.entries["v"].features = {{0}};
    computational_sequence<float> other{"other", {}, 1, {}};
    other.entries["v"].intervals = {{0.0, 1.5}, {1.5, 4.0}};
    other.entries["v"].features = {{7}, {9}};
    // Writes (frames kept, total clipped duration) for each feature.
    collapse_function count_and_span(
        "count_and_span",
        [](const double* iv, const auto* f, std::size_t k, std::size_t d, auto* out) {
            using T = std::remove_cv_t<std::remove_pointer_t<decltype(f)>>;
            double span = 0;
            for (std::size_t r = 0; r < k; ++r) {
                span += iv[2 * r + 1] - iv[2 * r];
            }
            for (std::size_t j = 0; j < d; ++j) {
                out[2 * j] = static_cast<T>(k);
                out[2 * j + 1] = static_cast<T>(span);
            }
        },
        2);
    align_options options;
    options.reference = "ref";
    options.collapse = {count_and_span, collapse::first(), collapse::last()};
    const auto out = align(std::vector{ref, other}, options);
    CHECK(out[1].entries.at("v[0]").features == xt::xtensor<float, 2>{{2, 1, 7, 9}});
}

TEST_CASE("streaming hands over one video at a time and reports progress") {
    const auto fixture = align_test::load_json("interval_align.json");
    const auto seqs = fixture_sequences(fixture);
    std::vector<std::unique_ptr<sequence_source>> sources;
    std::vector<const sequence_source*> pointers;
    for (const auto& s : seqs) {
        std::visit(
            [&](const auto& q) {
                using T = typename std::decay_t<decltype(q)>::value_type;
                sources.push_back(std::make_unique<memory_source<T>>(q));
            },
            s);
        pointers.push_back(sources.back().get());
    }
    align_options options;
    options.reference = "words";
    options.collapse = {collapse::mean()};
    std::vector<std::string> videos;
    std::size_t last_done = 0;
    options.progress = [&](std::size_t done, std::size_t total, std::string_view) {
        last_done = done;
        CHECK(total == 5);
    };
    const auto report =
        align_stream(pointers, options, [&](std::string_view video, aligned_chunk& chunk) {
            videos.emplace_back(video);
            for (const auto& seq : chunk) {
                std::visit(
                    [&](const auto& q) {
                        for (const auto& key : q.keys) {
                            CHECK(video_id(key) == video);
                        }
                    },
                    seq);
            }
        });
    CHECK(videos == std::vector<std::string>{"vidA", "vidB", "vidC2", "vidD", "vidR"});
    CHECK(last_done == 5);
    CHECK(report.videos == 5);
}

TEST_CASE("pad and truncate follow get_tensors") {
    const std::vector<float> rows{1, 2, 3, 4, 5, 6}; // 3 rows of 2
    std::vector<float> out(4);
    tensor_options o;
    o.seq_len = 2;
    pad_truncate(rows.data(), 3, 2, o, out.data()); // left: keep the last rows
    CHECK(out == std::vector<float>{3, 4, 5, 6});
    o.pad = pad_side::right; // right: the SDK keeps the first rows
    pad_truncate(rows.data(), 3, 2, o, out.data());
    CHECK(out == std::vector<float>{1, 2, 3, 4});
    o.truncate = truncate_side::keep_last;
    pad_truncate(rows.data(), 3, 2, o, out.data());
    CHECK(out == std::vector<float>{3, 4, 5, 6});
    o.pad = pad_side::left;
    o.truncate = truncate_side::keep_first;
    pad_truncate(rows.data(), 3, 2, o, out.data());
    CHECK(out == std::vector<float>{1, 2, 3, 4});
    pad_truncate(rows.data(), 1, 2, o, out.data());
    CHECK(out == std::vector<float>{0, 0, 1, 2});
    o.pad = pad_side::right;
    pad_truncate(rows.data(), 1, 2, o, out.data());
    CHECK(out == std::vector<float>{1, 2, 0, 0});
    CHECK(segment_key_less("v[2]", "v[10]"));
    CHECK_FALSE(segment_key_less("v[10]", "v[2]"));
    CHECK(segment_key_less("a[5]", "b[0]"));
}

TEST_CASE("bad input is rejected with a message naming sequence, video and interval") {
    computational_sequence<double> ref{"words", {}, 1, {}};
    ref.entries["v"].intervals = {{0.0, 1.0}};
    ref.entries["v"].features = {{0}};
    computational_sequence<double> other{"audio", {}, 1, {}};
    other.entries["v"].intervals = {{0.0, 1.0}, {2.0, 1.0}};
    other.entries["v"].features = {{1}, {2}};
    align_options options;
    options.reference = "words";
    CHECK_THROWS_WITH_AS(align(std::vector{ref, other}, options),
                         doctest::Contains("sequence 'audio', video 'v', interval 1"),
                         emofuse::value_error);
    other.entries["v"].intervals = {{0.0, 1.0}, {std::nan(""), 1.0}};
    CHECK_THROWS_WITH_AS(align(std::vector{ref, other}, options), doctest::Contains("finite"),
                         emofuse::value_error);
    other.entries["v"].intervals = {{0.0, 1.0}, {0.0, 1.0}};
    other.entries["v"].features = {{1}};
    CHECK_THROWS_AS(align(std::vector{ref, other}, options), emofuse::shape_error);
    other.entries["v"].features = {{1}, {2}};
    options.reference = "video";
    CHECK_THROWS_WITH_AS(align(std::vector{ref, other}, options),
                         doctest::Contains("expected one of 'words', 'audio', got 'video'"),
                         emofuse::value_error);
    options.reference = "words";
    CHECK_THROWS_AS(align(std::vector{ref, ref}, options), emofuse::value_error);
    CHECK_THROWS_AS(align(std::vector<computational_sequence<double>>{}, options),
                    emofuse::value_error);
    CHECK_THROWS_WITH_AS(collapse::by_name("median"), doctest::Contains("'median'"),
                         emofuse::value_error);
    CHECK_THROWS_AS(collapse::parse_list("mean,"), emofuse::value_error);
    CHECK(collapse::parse_list("mean,std").size() == 2);
    tensor_options o;
    o.seq_len = 2;
    const auto aligned = align(std::vector{ref, other}, options);
    CHECK_THROWS_AS(to_tensor(aligned[0], {"missing[0]"}, o), emofuse::value_error);
}

TEST_CASE_TEMPLATE("to_sequence gives right-padded values with per-sample lengths", T, float,
                   double) {
    computational_sequence<T> seq{"audio", {}, 1, {}};
    seq.entries["v[0]"].intervals = {{0.0, 1.0}, {1.0, 2.0}, {2.0, 3.0}};
    seq.entries["v[0]"].features = {{1}, {2}, {3}};
    seq.entries["v[1]"].intervals = {{0.0, 1.0}};
    seq.entries["v[1]"].features = {{4}};
    const auto out = to_sequence(seq, {"v[0]", "v[1]"}, 2);
    CHECK(out.lengths() == std::vector<std::size_t>{2, 1});
    CHECK(out.values() == xt::xtensor<T, 3>{{{2}, {3}}, {{4}, {0}}});
    const auto first = to_sequence(seq, {"v[0]"}, 2, false);
    CHECK(first.values() == xt::xtensor<T, 3>{{{1}, {2}}});
}
