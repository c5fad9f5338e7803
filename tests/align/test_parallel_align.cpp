// Aligning videos on several threads gives exactly the serial result: outputs, report,
// progress order and the first error in video order, at 1, 2, 3 and 5 threads; and the
// shards of a run split over processes join into the whole run.
#include <emofuse/align/interval_align.hpp>
#include <emofuse/core/error.hpp>
#include <emofuse/core/shard.hpp>
#include <emofuse/platform/parallel.hpp>

#include <doctest/doctest.h>

#include "thread_count_guard.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

using namespace emofuse::align;

namespace {

/// 3 sequences over 37 videos: the reference has one to three entries per video (some
/// with a zero-length row the aligner skips), audio frames at 100 Hz-ish with jitter (float),
/// vision frames at 30 Hz (double), and a video only the audio has.
std::vector<any_sequence> many_videos() {
    std::mt19937 rng(7);
    computational_sequence<double> words;
    words.name = "words";
    words.feature_size = 2;
    computational_sequence<float> audio;
    audio.name = "audio";
    audio.feature_size = 3;
    computational_sequence<double> vision;
    vision.name = "vision";
    vision.feature_size = 4;
    const auto fill = [&](auto& seq, const std::string& key, double begin, double end,
                          double step) {
        using T = typename std::decay_t<decltype(seq)>::value_type;
        std::vector<double> starts;
        for (double t = begin; t < end;
             t += step * (0.5 + static_cast<double>(rng() % 100) / 100.0)) {
            starts.push_back(t);
        }
        segment<T> entry;
        entry.intervals = xt::xtensor<double, 2>::from_shape({starts.size(), 2});
        entry.features = xt::xtensor<T, 2>::from_shape({starts.size(), seq.feature_size});
        for (std::size_t i = 0; i < starts.size(); ++i) {
            entry.intervals(i, 0) = starts[i];
            entry.intervals(i, 1) = starts[i] + step;
            for (std::size_t d = 0; d < seq.feature_size; ++d) {
                entry.features(i, d) = static_cast<T>(static_cast<double>(rng() % 10000) / 97.0);
            }
        }
        seq.entries[key] = std::move(entry);
    };
    for (int v = 0; v < 37; ++v) {
        const std::string video = "video" + std::to_string(v);
        const int parts = 1 + v % 3;
        for (int p = 0; p < parts; ++p) {
            const std::string key = parts == 1 ? video : video + "[" + std::to_string(p) + "]";
            fill(words, key, 10.0 * p, 10.0 * p + 6.0, 0.4);
            if (v % 5 == 0) {
                words.entries[key].intervals(1, 1) = words.entries[key].intervals(1, 0);
            }
        }
        fill(audio, video, 0.0, 30.0, 0.01);
        if (v % 7 != 3) { // some videos leave reference rows without vision frames
            fill(vision, video, 1.0, 25.0, 1.0 / 30.0);
        } else {
            fill(vision, video, 40.0, 41.0, 1.0 / 30.0);
        }
    }
    fill(audio, "only_audio", 0.0, 2.0, 0.01);
    return {words, audio, vision};
}

template <class T>
void check_same(const aligned_rows<T>& a, const aligned_rows<T>& b) {
    REQUIRE(a.keys == b.keys);
    REQUIRE(a.offsets == b.offsets);
    REQUIRE(a.intervals.size() == b.intervals.size());
    REQUIRE(a.features.size() == b.features.size());
    CHECK(std::memcmp(a.intervals.data(), b.intervals.data(),
                      a.intervals.size() * sizeof(double)) == 0);
    CHECK(std::memcmp(a.features.data(), b.features.data(), a.features.size() * sizeof(T)) == 0);
}

void check_same(const align_report& a, const align_report& b) {
    CHECK(a.videos == b.videos);
    CHECK(a.removed_ids == b.removed_ids);
    CHECK(a.skipped_reference_rows == b.skipped_reference_rows);
    CHECK(a.segments == b.segments);
    CHECK(a.imputed == b.imputed);
}

void check_same(const std::vector<any_aligned_rows>& a, const std::vector<any_aligned_rows>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t s = 0; s < a.size(); ++s) {
        std::visit(
            [&](const auto& x, const auto& y) {
                if constexpr (std::is_same_v<decltype(x), decltype(y)>) {
                    check_same(x, y);
                } else {
                    FAIL("sequence " << s << " changed precision");
                }
            },
            a[s], b[s]);
    }
}

using emofuse::test::thread_count_guard;

// An in-memory source that counts its reads (the aligner reads each entry once).
template <class T>
class counting_source final : public sequence_source {
public:
    counting_source(const computational_sequence<T>& seq, std::atomic<std::size_t>& reads)
        : inner_(seq), reads_(reads) {}
    [[nodiscard]] const std::string& name() const override { return inner_.name(); }
    [[nodiscard]] feature_type type() const override { return inner_.type(); }
    [[nodiscard]] std::size_t feature_size() const override { return inner_.feature_size(); }
    [[nodiscard]] std::vector<std::string> keys() const override { return inner_.keys(); }
    void read(const std::string& key, std::vector<double>& intervals,
              std::vector<float>& features) const override {
        ++reads_;
        inner_.read(key, intervals, features);
    }
    void read(const std::string& key, std::vector<double>& intervals,
              std::vector<double>& features) const override {
        ++reads_;
        inner_.read(key, intervals, features);
    }
    [[nodiscard]] bool concurrent_reads() const override { return true; }

private:
    memory_source<T> inner_;
    std::atomic<std::size_t>& reads_;
};

} // namespace

TEST_CASE("align_stream hands earlier videos to the sink while later ones are read") {
    // What lets emofuse-align scale: its writers (the sink) run while other threads read and
    // align the next videos. The first sink call waits until a read starts meanwhile; a
    // runner that reads only between sink calls never gets one and the wait times out.
    const auto sequences = many_videos();
    std::atomic<std::size_t> reads{0};
    const counting_source<double> words(std::get<computational_sequence<double>>(sequences[0]),
                                        reads);
    const counting_source<float> audio(std::get<computational_sequence<float>>(sequences[1]),
                                       reads);
    const counting_source<double> vision(std::get<computational_sequence<double>>(sequences[2]),
                                         reads);
    const std::vector<const sequence_source*> sources = {&words, &audio, &vision};
    align_options options;
    options.reference = "words";
    options.collapse = {collapse::mean()};
    std::vector<std::string> serial_order;
    options.threads = 1;
    (void)align_stream(sources, options, [&](std::string_view video, aligned_chunk&) {
        serial_order.emplace_back(video);
    });
    const thread_count_guard pool(2);
    options.threads = 0;
    std::vector<std::string> order;
    bool overlapped = false;
    const auto report = align_stream(sources, options, [&](std::string_view video, aligned_chunk&) {
        if (order.empty()) {
            const std::size_t before = reads.load();
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
            while (reads.load() == before && std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            overlapped = reads.load() != before;
        }
        order.emplace_back(video);
    });
    CHECK(overlapped);
    CHECK(order == serial_order);
    CHECK(report.videos == 37);
}

TEST_CASE("align_rows and align give the same bits at 1, 2, 3 and 5 threads") {
    const auto sequences = many_videos();
    for (const bool collapse_mean : {true, false}) {
        for (const bool impute : {false, true}) {
            CAPTURE(collapse_mean);
            CAPTURE(impute);
            align_options options;
            options.reference = "words";
            options.impute_zeros = impute;
            if (collapse_mean) {
                options.collapse = {collapse::mean(), collapse::max()};
            }
            std::vector<std::string> serial_progress;
            options.progress = [&](std::size_t, std::size_t, std::string_view video) {
                serial_progress.emplace_back(video);
            };
            options.threads = 1;
            align_report serial_report;
            const auto serial = align_rows(sequences, options, &serial_report);
            REQUIRE(serial_report.videos == 37);
            CHECK(serial_report.skipped_reference_rows > 0);

            for (const unsigned threads : {2U, 3U, 5U}) {
                CAPTURE(threads);
                const thread_count_guard pool(threads);
                std::vector<std::string> progress;
                options.progress = [&](std::size_t done, std::size_t total,
                                       std::string_view video) {
                    CHECK(done == progress.size() + 1);
                    CHECK(total == 37);
                    progress.emplace_back(video);
                };
                options.threads = 0;
                align_report report;
                const auto parallel = align_rows(sequences, options, &report);
                check_same(serial_report, report);
                CHECK(progress == serial_progress);
                check_same(serial, parallel);
                // The SDK-shaped result too.
                options.progress = nullptr;
                const auto sdk_form = align(sequences, options);
                options.threads = 1;
                const auto sdk_serial = align(sequences, options);
                for (std::size_t s = 0; s < sdk_form.size(); ++s) {
                    std::visit(
                        [&](const auto& a, const auto& b) {
                            if constexpr (std::is_same_v<decltype(a), decltype(b)>) {
                                REQUIRE(a.entries.size() == b.entries.size());
                                for (const auto& [key, entry] : a.entries) {
                                    const auto& other = b.entries.at(key);
                                    CHECK(entry.intervals == other.intervals);
                                    CHECK(entry.features == other.features);
                                }
                            }
                        },
                        sdk_form[s], sdk_serial[s]);
                }
                options.threads = 1;
                options.progress = [&](std::size_t, std::size_t, std::string_view video) {
                    serial_progress.emplace_back(video);
                };
                serial_progress.clear();
                (void)align_rows(sequences, options);
            }
        }
    }
}

TEST_CASE("the first bad video in video order fails the parallel run as it fails the serial one") {
    auto sequences = many_videos();
    auto& vision = std::get<computational_sequence<double>>(sequences[2]);
    vision.entries["video13"].intervals(4, 1) = vision.entries["video13"].intervals(4, 0) - 1.0;
    vision.entries["video21"].intervals(2, 0) = std::numeric_limits<double>::quiet_NaN();
    align_options options;
    options.reference = "words";
    options.collapse = {collapse::mean()};
    options.threads = 1;
    std::string serial_message;
    try {
        (void)align_rows(sequences, options);
    } catch (const emofuse::value_error& e) {
        serial_message = e.what();
    }
    REQUIRE(serial_message.find("video13") != std::string::npos);
    for (const unsigned threads : {2U, 3U, 5U}) {
        CAPTURE(threads);
        const thread_count_guard pool(threads);
        options.threads = 0;
        CHECK_THROWS_WITH_AS((void)align_rows(sequences, options), serial_message.c_str(),
                             emofuse::value_error);
    }
}

TEST_CASE("the shards of a run, in shard order, are the whole run's videos") {
    const auto sequences = many_videos();
    align_options options;
    options.reference = "words";
    options.collapse = {collapse::mean()};
    options.impute_zeros = true;
    options.threads = 1;
    align_report whole_report;
    const auto whole = align_rows(sequences, options, &whole_report);
    REQUIRE(whole_report.videos == 37);
    REQUIRE(!whole_report.removed_ids.empty());
    for (const std::size_t shards : {1U, 2U, 3U, 36U, 40U}) {
        CAPTURE(shards);
        std::vector<any_aligned_rows> joined;
        align_report joined_report;
        joined_report.segments.assign(sequences.size(), 0);
        joined_report.imputed.assign(sequences.size(), 0);
        for (std::size_t shard = 0; shard < shards; ++shard) {
            options.shard = shard;
            options.shards = shards;
            std::size_t progress_total = 0;
            options.progress = [&](std::size_t, std::size_t total, std::string_view) {
                progress_total = total;
            };
            align_report report;
            const auto part = align_rows(sequences, options, &report);
            const auto expected = emofuse::shard_range(37, shard, shards);
            CHECK(report.videos == expected.size());
            CHECK(progress_total == expected.size());
            CHECK(report.removed_ids == whole_report.removed_ids);
            joined_report.videos += report.videos;
            joined_report.skipped_reference_rows += report.skipped_reference_rows;
            for (std::size_t s = 0; s < sequences.size(); ++s) {
                joined_report.segments[s] += report.segments[s];
                joined_report.imputed[s] += report.imputed[s];
            }
            if (joined.empty()) {
                joined = part;
                continue;
            }
            for (std::size_t s = 0; s < part.size(); ++s) {
                std::visit(
                    [](const auto& from, auto& to) {
                        if constexpr (std::is_same_v<decltype(from.features),
                                                     decltype(to.features)>) {
                            for (std::size_t e = 0; e < from.entries(); ++e) {
                                double* intervals = nullptr;
                                auto* features = to.append(from.keys[e], from.rows(e), &intervals);
                                std::copy_n(from.intervals_of(e), 2 * from.rows(e), intervals);
                                std::copy_n(from.features_of(e), from.rows(e) * from.feature_size,
                                            features);
                            }
                        }
                    },
                    part[s], joined[s]);
            }
        }
        joined_report.removed_ids = whole_report.removed_ids;
        check_same(whole_report, joined_report);
        check_same(whole, joined);
    }
    options.shard = 2;
    options.shards = 2;
    CHECK_THROWS_AS((void)align_rows(sequences, options), emofuse::value_error);
}
