// The namespace alias and options of docs/alignment.md's first example.
#include <emofuse/align/interval_align.hpp>

namespace ea = emofuse::align;
ea::align_options options;
