// python/src/align.cpp — interval alignment (the CMU-MultimodalSDK's align + impute) on
// SDK-shaped dicts, and .csd file read / write / align when the emofuse::csd component is
// built. Aligned features come back as NumPy arrays that own the library's buffers (no copy).
#include "arrays.hpp"
#include "bindings.hpp"

#include <emofuse/align/collapse.hpp>
#include <emofuse/align/computational_sequence.hpp>
#include <emofuse/align/interval_align.hpp>
#if defined(EMOFUSE_PYTHON_HAVE_CSD)
#include <emofuse/io/csd/align_files.hpp>
#include <emofuse/io/csd/reader.hpp>
#include <emofuse/io/csd/writer.hpp>
#endif

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace emofuse::python {

namespace {

namespace al = emofuse::align;

std::string entry_label(const std::string& sequence, const std::string& key, const char* field) {
    return "sequences['" + sequence + "']['" + key + "']['" + field + "']";
}

/// Whether every entry's features are float32 (then the sequence stays float32).
bool all_float32(const py::dict& data, const std::string& name) {
    if (data.empty()) {
        return false;
    }
    for (const auto item : data) {
        const std::string key = py::str(item.first);
        if (!py::isinstance<py::dict>(item.second)) {
            throw py::type_error("sequences['" + name + "']['" + key +
                                 "']: expected a dict with 'intervals' and 'features', got " +
                                 std::string(py::str(py::type::of(item.second).attr("__name__"))));
        }
        const auto entry = py::reinterpret_borrow<py::dict>(item.second);
        if (!entry.contains("features") || !entry.contains("intervals")) {
            throw py::value_error("sequences['" + name + "']['" + key +
                                  "']: expected keys 'intervals' and 'features'");
        }
        const py::array features =
            as_array(entry["features"], entry_label(name, key, "features").c_str());
        if (!(features.dtype().kind() == 'f' && features.dtype().itemsize() == 4)) {
            return false;
        }
    }
    return true;
}

template <class T>
al::computational_sequence<T> sequence_from(const std::string& name, const py::dict& data,
                                            std::map<std::string, std::string> metadata) {
    al::computational_sequence<T> seq;
    seq.name = name;
    seq.metadata = std::move(metadata);
    bool first = true;
    for (const auto item : data) {
        const std::string key = py::str(item.first);
        const auto entry = py::reinterpret_borrow<py::dict>(item.second);
        const std::string iv_name = entry_label(name, key, "intervals");
        const std::string f_name = entry_label(name, key, "features");
        const real_array iv = real_matrix(entry["intervals"], iv_name.c_str(), 2);
        const real_array f = real_matrix(entry["features"], f_name.c_str());
        check_rows(f_name.c_str(), f.rows, iv_name.c_str(), iv.rows);
        if (first) {
            seq.feature_size = f.cols;
            first = false;
        } else if (f.cols != seq.feature_size) {
            throw_value(f_name,
                        std::to_string(seq.feature_size) + " feature columns (as the "
                                                           "sequence's first entry)",
                        std::to_string(f.cols));
        }
        al::segment<T> segment;
        segment.intervals = xt::xtensor<double, 2>::from_shape({iv.rows, 2});
        if (iv.is_double) {
            std::copy_n(iv.values<double>().data(), iv.rows * 2, segment.intervals.data());
        } else {
            std::copy_n(iv.values<float>().data(), iv.rows * 2, segment.intervals.data());
        }
        segment.features = xt::xtensor<T, 2>::from_shape({f.rows, f.cols});
        if (f.is_double) {
            std::copy_n(f.values<double>().data(), f.rows * f.cols, segment.features.data());
        } else {
            std::copy_n(f.values<float>().data(), f.rows * f.cols, segment.features.data());
        }
        al::validate_segment(seq.name, key, segment, seq.feature_size);
        seq.entries.emplace(key, std::move(segment));
    }
    return seq;
}

al::any_sequence any_sequence_from(const std::string& name, const py::dict& data,
                                   std::map<std::string, std::string> metadata) {
    if (all_float32(data, name)) {
        return sequence_from<float>(name, data, std::move(metadata));
    }
    return sequence_from<double>(name, data, std::move(metadata));
}

/// (name, metadata, {key: {"intervals", "features"}}) — the sequence is consumed.
py::tuple sequence_to_python(al::any_sequence&& any) {
    return std::visit(
        [](auto& seq) {
            py::dict data;
            for (auto& [key, entry] : seq.entries) {
                py::dict e;
                e["intervals"] = to_numpy(std::move(entry.intervals));
                e["features"] = to_numpy(std::move(entry.features));
                data[py::str(key)] = e;
            }
            return py::make_tuple(seq.name, seq.metadata, data);
        },
        any);
}

/// A sequence read in place from the caller's arrays (no copy when the intervals are
/// C-contiguous float64 and the features C-contiguous in the sequence's precision). The arrays
/// it views are held in `arrays`, which must outlive the source.
template <class T>
class array_source final : public al::sequence_source {
public:
    array_source(std::string name, const py::dict& data, std::vector<real_array>& arrays)
        : name_(std::move(name)) {
        bool first = true;
        for (const auto item : data) {
            const std::string key = py::str(item.first);
            const auto entry = py::reinterpret_borrow<py::dict>(item.second);
            const std::string iv_name = entry_label(name_, key, "intervals");
            const std::string f_name = entry_label(name_, key, "features");
            real_array iv = real_matrix(entry["intervals"], iv_name.c_str(), 2);
            real_array f = real_matrix(entry["features"], f_name.c_str());
            check_rows(f_name.c_str(), f.rows, iv_name.c_str(), iv.rows);
            if (first) {
                feature_size_ = f.cols;
                first = false;
            } else if (f.cols != feature_size_) {
                throw_value(f_name,
                            std::to_string(feature_size_) +
                                " feature columns (as the sequence's first entry)",
                            std::to_string(f.cols));
            }
            convert(iv, true);
            convert(f, std::is_same_v<T, double>);
            entries_[key] = {static_cast<const double*>(iv.array.data()),
                             static_cast<const T*>(f.array.data()), iv.rows};
            arrays.push_back(std::move(iv));
            arrays.push_back(std::move(f));
        }
    }

    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] al::feature_type type() const override { return al::feature_type_of<T>; }
    [[nodiscard]] std::size_t feature_size() const override { return feature_size_; }
    [[nodiscard]] std::vector<std::string> keys() const override {
        std::vector<std::string> out;
        out.reserve(entries_.size());
        for (const auto& kv : entries_) {
            out.push_back(kv.first);
        }
        return out;
    }
    void read(const std::string& key, std::vector<double>& intervals,
              std::vector<float>& features) const override {
        append(key, intervals, features);
    }
    void read(const std::string& key, std::vector<double>& intervals,
              std::vector<double>& features) const override {
        append(key, intervals, features);
    }
    bool view(const std::string& key, al::rows_view<float>& out) const override {
        return view_as(key, out);
    }
    bool view(const std::string& key, al::rows_view<double>& out) const override {
        return view_as(key, out);
    }

private:
    struct entry {
        const double* intervals;
        const T* features;
        std::size_t rows;
    };

    static void convert(real_array& a, bool to_double) {
        if (a.is_double != to_double) {
            a.array = py::array::ensure(a.array.attr("astype")(to_double ? "float64" : "float32"),
                                        py::array::c_style);
            a.is_double = to_double;
        }
    }

    const entry& at(const std::string& key) const {
        const auto it = entries_.find(key);
        if (it == entries_.end()) {
            throw value_error("align: sequence '" + name_ + "': no entry '" + key + "'");
        }
        return it->second;
    }

    template <class U>
    void append(const std::string& key, std::vector<double>& intervals,
                std::vector<U>& features) const {
        const entry& e = at(key);
        intervals.insert(intervals.end(), e.intervals, e.intervals + 2 * e.rows);
        features.insert(features.end(), e.features, e.features + e.rows * feature_size_);
    }

    template <class U>
    bool view_as(const std::string& key, al::rows_view<U>& out) const {
        if constexpr (std::is_same_v<U, T>) {
            const entry& e = at(key);
            out = {e.intervals, e.features, e.rows};
            return true;
        } else {
            return false;
        }
    }

    std::string name_;
    std::size_t feature_size_ = 0;
    std::map<std::string, entry> entries_;
};

/// Appends a video's aligned entries to the running output of one sequence.
template <class T>
void append_rows(const al::aligned_rows<T>& chunk, al::aligned_rows<T>& total) {
    total.name = chunk.name;
    total.feature_size = chunk.feature_size;
    for (std::size_t e = 0; e < chunk.entries(); ++e) {
        double* intervals = nullptr;
        T* features = total.append(chunk.keys[e], chunk.rows(e), &intervals);
        std::copy_n(chunk.intervals_of(e), 2 * chunk.rows(e), intervals);
        std::copy_n(chunk.features_of(e), chunk.rows(e) * chunk.feature_size, features);
    }
}

/// {key: {"intervals", "features"}} whose arrays are views of one buffer per field, owned by
/// the aligned rows (moved into a capsule): no copy per entry.
template <class T>
py::dict rows_to_python(al::aligned_rows<T>&& rows) {
    auto* owned = new al::aligned_rows<T>(std::move(rows));
    const py::capsule release(owned, [](void* p) { delete static_cast<al::aligned_rows<T>*>(p); });
    py::dict data;
    const auto d = static_cast<py::ssize_t>(owned->feature_size);
    for (std::size_t e = 0; e < owned->entries(); ++e) {
        const auto n = static_cast<py::ssize_t>(owned->rows(e));
        py::dict entry;
        entry["intervals"] =
            py::array_t<double>({n, py::ssize_t(2)}, owned->intervals_of(e), release);
        entry["features"] = py::array_t<T>({n, d}, owned->features_of(e), release);
        data[py::str(owned->keys[e])] = std::move(entry);
    }
    return data;
}

std::vector<al::collapse_function> collapse_list(const std::vector<std::string>& names) {
    std::vector<al::collapse_function> out;
    for (const auto& name : names) {
        out.push_back(al::collapse::by_name(name));
    }
    return out;
}

py::dict report_dict(const al::align_report& report) {
    py::dict out;
    out["removed_ids"] = report.removed_ids;
    out["videos"] = report.videos;
    out["skipped_reference_rows"] = report.skipped_reference_rows;
    out["segments"] = report.segments;
    out["imputed"] = report.imputed;
    return out;
}

using sequence_input = std::tuple<std::string, py::dict, std::map<std::string, std::string>>;

} // namespace

void bind_align(py::module_& m) {
    m.def(
        "align",
        [](const std::vector<sequence_input>& inputs, const std::string& reference,
           const std::vector<std::string>& collapse, bool impute_zeros) {
            std::vector<real_array> arrays; // the viewed inputs, alive until the end
            std::vector<std::unique_ptr<al::sequence_source>> sources;
            std::vector<const al::sequence_source*> pointers;
            for (const auto& [name, data, metadata] : inputs) {
                if (all_float32(data, name)) {
                    sources.push_back(std::make_unique<array_source<float>>(name, data, arrays));
                } else {
                    sources.push_back(std::make_unique<array_source<double>>(name, data, arrays));
                }
                pointers.push_back(sources.back().get());
            }
            al::align_options options;
            options.reference = reference;
            options.collapse = collapse_list(collapse);
            options.impute_zeros = impute_zeros;
            std::vector<al::any_aligned_rows> totals(sources.size());
            for (std::size_t s = 0; s < sources.size(); ++s) {
                if (sources[s]->type() == al::feature_type::float64) {
                    totals[s] = al::aligned_rows<double>{};
                }
            }
            al::align_report report;
            {
                const py::gil_scoped_release unlocked;
                report = al::align_stream(
                    pointers, options, [&](std::string_view, al::aligned_chunk& chunk) {
                        for (std::size_t s = 0; s < chunk.size(); ++s) {
                            std::visit(
                                [](const auto& part, auto& total) {
                                    if constexpr (std::is_same_v<std::decay_t<decltype(part)>,
                                                                 std::decay_t<decltype(total)>>) {
                                        append_rows(part, total);
                                    }
                                },
                                chunk[s], totals[s]);
                        }
                    });
            }
            py::list out;
            for (std::size_t s = 0; s < totals.size(); ++s) {
                py::dict data = std::visit(
                    [](auto& rows) { return rows_to_python(std::move(rows)); }, totals[s]);
                out.append(py::make_tuple(std::get<0>(inputs[s]), std::get<2>(inputs[s]), data));
            }
            return py::make_tuple(out, report_dict(report));
        },
        py::arg("sequences"), py::arg("reference"),
        py::arg("collapse") = std::vector<std::string>{}, py::arg("impute_zeros") = false,
        "Aligns [(name, data, metadata)] to the reference; returns (aligned list, report).");

    m.def(
        "has_csd",
#if defined(EMOFUSE_PYTHON_HAVE_CSD)
        [] { return true; },
#else
        [] { return false; },
#endif
        "Whether this build reads and writes .csd files (HDF5).");

#if defined(EMOFUSE_PYTHON_HAVE_CSD)
    namespace csd = emofuse::io::csd;
    m.def(
        "read_csd",
        [](const std::filesystem::path& path) {
            al::any_sequence seq;
            {
                const py::gil_scoped_release unlocked;
                seq = csd::read_csd(path);
            }
            return sequence_to_python(std::move(seq));
        },
        py::arg("path"), "Reads a .csd file: (name, metadata, data).");
    m.def(
        "write_csd",
        [](const std::filesystem::path& path, const std::string& name, const py::dict& data,
           const std::map<std::string, std::string>& metadata, int gzip) {
            if (gzip < -1 || gzip > 9) {
                throw_value("gzip", "-1 (uncompressed) or a level in 0..9", std::to_string(gzip));
            }
            const al::any_sequence seq = any_sequence_from(name, data, metadata);
            csd::writer_options options;
            options.gzip_level = gzip;
            const py::gil_scoped_release unlocked;
            csd::write_csd(path, seq, options);
        },
        py::arg("path"), py::arg("name"), py::arg("data"),
        py::arg("metadata") = std::map<std::string, std::string>{}, py::arg("gzip") = 9,
        "Writes a .csd file from an SDK-shaped dict.");
    m.def(
        "align_files",
        [](const std::vector<std::filesystem::path>& inputs, const std::filesystem::path& out_dir,
           const std::string& reference, const std::vector<std::string>& collapse,
           bool impute_zeros, int gzip) {
            if (gzip < -1 || gzip > 9) {
                throw_value("gzip", "-1 (uncompressed) or a level in 0..9", std::to_string(gzip));
            }
            csd::align_files_options options;
            options.align.reference = reference;
            options.align.collapse = collapse_list(collapse);
            options.align.impute_zeros = impute_zeros;
            options.writer.gzip_level = gzip;
            csd::align_files_result result;
            {
                const py::gil_scoped_release unlocked;
                result = csd::align_files(inputs, out_dir, options);
            }
            py::dict out = report_dict(result.report);
            py::list written;
            for (const auto& p : result.written) {
                written.append(py::str(p.string()));
            }
            out["written"] = written;
            return out;
        },
        py::arg("inputs"), py::arg("out_dir"), py::arg("reference"),
        py::arg("collapse") = std::vector<std::string>{}, py::arg("impute_zeros") = false,
        py::arg("gzip") = 9, "Aligns .csd files into out_dir (streamed, one video at a time).");
#endif
}

} // namespace emofuse::python
