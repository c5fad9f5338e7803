// Temporary outputs: names with the writer's pid, the signal registry, the sweep of dead runs'
// leftovers, and committing several outputs together.
#include <emofuse/io/detail/binary_file.hpp>
#include <emofuse/io/detail/temporary_files.hpp>

#include "io_fixtures.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
namespace iod = emofuse::io::detail;
using io_test::message_of;

namespace {

// A fresh directory under the system temp directory, removed with its content.
class scratch_dir {
public:
    scratch_dir() {
        path_ = fs::temp_directory_path() / ("emofuse_tmpfiles_test_" + std::to_string(::getpid()) +
                                             "_" + std::to_string(std::random_device{}()));
        fs::create_directories(path_);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    ~scratch_dir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    REQUIRE(out.good());
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

// Above Linux's largest pid_max (2^22): no process can have it.
constexpr long dead_pid = 4194305;

} // namespace

TEST_CASE("temporary names carry the writer's pid and parse back") {
    const fs::path name = iod::temporary_path("/out/words.csd");
    const std::string text = name.filename().string();
    CHECK(text.starts_with("words.csd.emofuse-tmp." + std::to_string(::getpid()) + "."));
    const auto parts = iod::parse_sibling_name(text, iod::temporary_marker);
    REQUIRE(parts.has_value());
    CHECK(parts->target == "words.csd");
    CHECK(parts->pid == ::getpid());
    CHECK(iod::temporary_path("/out/words.csd") != name); // unique within the process
    CHECK_FALSE(iod::parse_sibling_name("words.csd", iod::temporary_marker));
    CHECK_FALSE(iod::parse_sibling_name("words.csd.emofuse-tmp.12", iod::temporary_marker));
    CHECK_FALSE(iod::parse_sibling_name("words.csd.emofuse-tmp.1x.2", iod::temporary_marker));
    CHECK_FALSE(iod::parse_sibling_name(".emofuse-tmp.1.2", iod::temporary_marker));
    CHECK(iod::process_is_gone(dead_pid));
    CHECK_FALSE(iod::process_is_gone(::getpid()));
    CHECK_FALSE(iod::process_is_gone(::getppid()));
}

TEST_CASE("the sweep removes only the leftovers of processes that are gone") {
    scratch_dir dir;
    const std::string dead = std::to_string(dead_pid);
    const std::string alive = std::to_string(::getppid());
    write_text(dir / ("a.npy.emofuse-tmp." + dead + ".0"), "stale");
    write_text(dir / ("b.csd.emofuse-tmp." + alive + ".3"), "a concurrent run's");
    write_text(dir / "c.npy", "an output");
    write_text(dir / "d.npy.tmp-123-0", "someone else's naming");
    // A run that died mid-commit: e.npy was set aside and its replacement is in place (the
    // old copy goes); f.npy was set aside and nothing took its place (it comes back).
    write_text(dir / "e.npy", "new e");
    write_text(dir / ("e.npy.emofuse-old." + dead + ".1"), "old e");
    write_text(dir / ("f.npy.emofuse-old." + dead + ".2"), "old f");
    fs::create_directory(dir / ("g.emofuse-tmp." + dead + ".4")); // not a file: kept

    const auto swept = iod::sweep_stale_outputs(dir.path());
    CHECK(swept.removed.size() == 2);
    REQUIRE(swept.restored.size() == 1);
    CHECK(swept.restored[0] == dir / "f.npy");
    CHECK(names_in(dir.path()) ==
          std::vector<std::string>{"b.csd.emofuse-tmp." + alive + ".3", "c.npy", "d.npy.tmp-123-0",
                                   "e.npy", "f.npy", "g.emofuse-tmp." + dead + ".4"});
    CHECK(read_text(dir / "e.npy") == "new e");
    CHECK(read_text(dir / "f.npy") == "old f");
}

TEST_CASE("the signal registry undoes registered paths with unlink and rename only") {
    scratch_dir dir;
    write_text(dir / "partial", "half written");
    write_text(dir / "kept-aside", "the old file");
    write_text(dir / "target", "the new file");
    write_text(dir / "unrelated", "stays");
    {
        iod::cleanup_entry temporary(dir / "partial");
        iod::cleanup_entry set_aside(dir / "kept-aside", dir / "target");
        iod::cleanup_entry released(dir / "unrelated");
        CHECK(temporary.registered());
        released.release();
        iod::undo_registered_outputs();
    }
    CHECK(names_in(dir.path()) == std::vector<std::string>{"target", "unrelated"});
    CHECK(read_text(dir / "target") == "the old file");
    // Entries leave the registry with their owner: undoing again touches nothing.
    write_text(dir / "partial", "a new file of that name");
    iod::undo_registered_outputs();
    CHECK(fs::exists(dir / "partial"));
}

TEST_CASE("output_file keeps its temporary in the registry until it is committed") {
    scratch_dir dir;
    {
        iod::output_file file(dir / "out.bin", "test");
        file.write(io_test::to_bytes("abc"));
        const auto names = names_in(dir.path());
        REQUIRE(names.size() == 1);
        CHECK(names[0].starts_with("out.bin.emofuse-tmp." + std::to_string(::getpid()) + "."));
        iod::undo_registered_outputs(); // what the signal handler does
        CHECK(names_in(dir.path()).empty());
    }
    iod::output_file file(dir / "out.bin", "test");
    file.write(io_test::to_bytes("abc"));
    file.finish();
    iod::undo_registered_outputs();
    CHECK(names_in(dir.path()) == std::vector<std::string>{"out.bin"});
    CHECK(read_text(dir / "out.bin") == "abc");
}

TEST_CASE("an output whose target is a directory fails at once, with the reason") {
    scratch_dir dir;
    fs::create_directory(dir / "out.bin");
    const auto message =
        message_of<emofuse::io_error>([&] { iod::output_file file(dir / "out.bin", "stage"); });
    CHECK(message.find("stage: output '") != std::string::npos);
    CHECK(message.find("out.bin' exists and is a directory") != std::string::npos);
    CHECK(names_in(dir.path()) == std::vector<std::string>{"out.bin"});
    const auto unwritable = message_of<emofuse::io_error>(
        [&] { iod::output_file file(dir / "missing-dir" / "x.bin", "stage"); });
    CHECK(unwritable.find("No such file or directory") != std::string::npos);
}

TEST_CASE("commit_together renames all outputs or none") {
    scratch_dir dir;
    write_text(dir / "a.txt", "old a");
    write_text(dir / "c.txt", "old c");
    const auto pending = [&](const std::string& name, const std::string& text) {
        const fs::path temporary = iod::temporary_path(dir / name);
        write_text(temporary, text);
        return iod::pending_output{temporary, dir / name};
    };

    SUBCASE("all succeed: every target replaced, nothing set aside is left") {
        const std::vector<iod::pending_output> outputs{
            pending("a.txt", "new a"), pending("b.txt", "new b"), pending("c.txt", "new c")};
        iod::commit_together(outputs, "test");
        CHECK(names_in(dir.path()) == std::vector<std::string>{"a.txt", "b.txt", "c.txt"});
        CHECK(read_text(dir / "a.txt") == "new a");
        CHECK(read_text(dir / "c.txt") == "new c");
    }
    SUBCASE("a directory in place of one target: nothing is renamed") {
        fs::create_directory(dir / "b.txt");
        const std::vector<iod::pending_output> outputs{pending("a.txt", "new a"),
                                                       pending("b.txt", "new b")};
        const auto message =
            message_of<emofuse::io_error>([&] { iod::commit_together(outputs, "test"); });
        CHECK(message.find("b.txt' exists and is a directory") != std::string::npos);
        CHECK(read_text(dir / "a.txt") == "old a");
        CHECK(fs::exists(outputs[0].temporary)); // its owner removes it
    }
    SUBCASE("two outputs with one name: nothing is renamed") {
        const std::vector<iod::pending_output> outputs{pending("a.txt", "new a"),
                                                       pending("a.txt", "other a")};
        const auto message =
            message_of<emofuse::io_error>([&] { iod::commit_together(outputs, "test"); });
        CHECK(message.find("two outputs of one run are both named '") != std::string::npos);
        CHECK(read_text(dir / "a.txt") == "old a");
    }
    SUBCASE("a rename failing midway puts back what was replaced and removes what was new") {
        const std::vector<iod::pending_output> outputs{
            pending("a.txt", "new a"), pending("b.txt", "new b"), pending("c.txt", "new c"),
            iod::pending_output{dir / "vanished.tmp", dir / "d.txt"}};
        const auto message =
            message_of<emofuse::io_error>([&] { iod::commit_together(outputs, "test"); });
        CHECK(message.find("cannot move the written file onto '") != std::string::npos);
        CHECK(message.find("No such file or directory (no output was changed)") !=
              std::string::npos);
        // Every renamed temporary became a target, and each target was undone.
        CHECK(names_in(dir.path()) == std::vector<std::string>{"a.txt", "c.txt"});
        CHECK(read_text(dir / "a.txt") == "old a");
        CHECK(read_text(dir / "c.txt") == "old c");
        CHECK_FALSE(fs::exists(dir / "b.txt"));
        CHECK_FALSE(fs::exists(dir / "d.txt"));
    }
}

TEST_CASE("a signal removes the live temporaries, then ends the process with that signal") {
    scratch_dir dir;
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::signal(SIGTERM, SIG_DFL); // as in a fresh process (doctest installs handlers)
        iod::undo_outputs_on_signals();
        iod::output_file file(dir / "big.npy", "child");
        file.write(io_test::to_bytes("partial bytes"));
        std::raise(SIGTERM);
        ::_exit(0); // not reached: the default action of SIGTERM ends the process
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGTERM);
    CHECK(names_in(dir.path()).empty());
}

TEST_CASE("the signal handler is installed only where the default action was in place") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::signal(SIGTERM, SIG_DFL);
        std::signal(SIGHUP, SIG_IGN); // e.g. started under nohup: stays ignored
        iod::undo_outputs_on_signals();
        struct sigaction term {};
        struct sigaction hup {};
        ::sigaction(SIGTERM, nullptr, &term);
        ::sigaction(SIGHUP, nullptr, &hup);
        const bool ok =
            term.sa_handler == &iod::undo_outputs_and_reraise && hup.sa_handler == SIG_IGN;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
