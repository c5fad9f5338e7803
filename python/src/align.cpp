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
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace emofuse::python {

namespace {

namespace al = emofuse::align;

/// An xtensor handed to NumPy: the array owns the tensor's buffer through a capsule.
template <class Tensor>
py::array to_numpy(Tensor&& tensor) {
    using T = typename std::decay_t<Tensor>::value_type;
    auto* owned = new std::decay_t<Tensor>(std::forward<Tensor>(tensor));
    const py::capsule release(owned, [](void* p) { delete static_cast<std::decay_t<Tensor>*>(p); });
    std::vector<py::ssize_t> shape(owned->shape().begin(), owned->shape().end());
    return py::array_t<T>(shape, owned->data(), release);
}

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
            std::vector<al::any_sequence> sequences;
            for (const auto& [name, data, metadata] : inputs) {
                sequences.push_back(any_sequence_from(name, data, metadata));
            }
            al::align_options options;
            options.reference = reference;
            options.collapse = collapse_list(collapse);
            options.impute_zeros = impute_zeros;
            al::align_report report;
            std::vector<al::any_sequence> aligned;
            {
                const py::gil_scoped_release unlocked;
                aligned = al::align(sequences, options, &report);
            }
            py::list out;
            for (auto& seq : aligned) {
                out.append(sequence_to_python(std::move(seq)));
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
