// Generated from page.md by tests/docs/extract_snippets.cmake: 3 snippet(s). Edit the page, not this file.
#if __has_include(<vector>)
#line 2 "@PRELUDE_DIR@/selftest_input.hpp"
#include <vector>
#else
#line 2 "@PRELUDE_DIR@/selftest_input.hpp"
#error "no header <vector>"
#endif
#if __has_include(<vector>)
#line 11 "@PAGE@"
#include <vector>
#else
#line 11 "@PAGE@"
#error "no header <vector>"
#endif

namespace emofuse_docs::page_L10 {
void snippet() {
#line 1 "@PRELUDE_DIR@/selftest_input.hpp"
// Input of the extractor self-test.
#line 3 "@PRELUDE_DIR@/selftest_input.hpp"

const std::vector<int> input{1, 2, 3};
#line 12 "@PAGE@"
std::vector<int> copy = input; // a [bracket]; a semicolon and a \ backslash
}
} // namespace

namespace emofuse_docs::page_L17 {
void snippet() {
#line 18 "@PAGE@"
int nested = 1;

(void)nested;
}
} // namespace

namespace emofuse_docs::page_L24 {
#line 25 "@PAGE@"
int twice(int x) { return 2 * x; }
} // namespace

