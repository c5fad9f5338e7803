// Test support: runs the rest of a scope with the library's pool at a given size and puts the
// default back when the scope ends, whatever happened in it.
#pragma once

#include <emofuse/platform/parallel.hpp>

namespace emofuse::test {

struct thread_count_guard {
    explicit thread_count_guard(unsigned n) { emofuse::set_num_threads(n); }
    ~thread_count_guard() { emofuse::set_num_threads(0); }
    thread_count_guard(const thread_count_guard&) = delete;
    thread_count_guard& operator=(const thread_count_guard&) = delete;
};

} // namespace emofuse::test
