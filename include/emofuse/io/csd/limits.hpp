// emofuse/io/csd/limits.hpp — the sizes beyond which the .csd reader treats a file as malformed
// instead of allocating or reading what its headers declare.
#pragma once

#include <hdf5.h>

namespace emofuse::io::csd {

/// Largest dataset emofuse agrees to read (elements); larger sizes in a header are treated
/// as a malformed file rather than an allocation request.
inline constexpr hsize_t max_dataset_elements = hsize_t{1} << 32;

/// A chunked dataset may declare at most this many bytes more than the file stores for it
/// (unwritten chunks read as fill values)...
inline constexpr hsize_t max_unstored_bytes = hsize_t{1} << 20;
/// ...or, when compressed, this many times what is stored (deflate cannot exceed 1032:1).
/// Larger declared extents are a malformed file, not an allocation request.
inline constexpr hsize_t max_compression_ratio = 1100;
/// Largest chunk read when the chunk is larger than its dataset's whole data.
inline constexpr hsize_t max_chunk_bytes = hsize_t{64} << 20;

} // namespace emofuse::io::csd
