// emofuse/io/detail/temporary_files.hpp — the life of the temporary files every emofuse writer
// creates next to its target:
//   * names that carry the writing process's id (`words.csd.emofuse-tmp.<pid>.<n>`), so a
//     later run can tell a dead run's leftovers from a concurrent run's files;
//   * a registry of live temporaries that a signal handler empties with unlink()/rename()
//     alone (async-signal-safe), so Ctrl-C or `kill` leaves no partial output;
//   * a sweep of the leftovers of processes that are gone (SIGKILL, power loss);
//   * a commit that renames several outputs into place together or not at all.
#pragma once

#include <emofuse/core/error.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <signal.h>
#include <unistd.h>
#define EMOFUSE_IO_POSIX_FILES 1
#else
#include <process.h>
#define EMOFUSE_IO_POSIX_FILES 0
#endif

namespace emofuse::io::detail {

/// Marks a temporary output (`<target>.emofuse-tmp.<pid>.<n>`) and a replaced file kept
/// aside while several outputs are committed together (`<target>.emofuse-old.<pid>.<n>`).
inline constexpr std::string_view temporary_marker = ".emofuse-tmp.";
inline constexpr std::string_view backup_marker = ".emofuse-old.";

inline long current_process_id() noexcept {
#if EMOFUSE_IO_POSIX_FILES
    return static_cast<long>(::getpid());
#else
    return static_cast<long>(::_getpid());
#endif
}

/// `target` + marker + "<pid>.<n>", unique within this process.
inline std::filesystem::path sibling_name(const std::filesystem::path& target,
                                          std::string_view marker) {
    static std::atomic<unsigned long> counter{0};
    auto name = target;
    name += std::string(marker) + std::to_string(current_process_id()) + "." +
            std::to_string(counter++);
    return name;
}

inline std::filesystem::path temporary_path(const std::filesystem::path& target) {
    return sibling_name(target, temporary_marker);
}

// ---- registry of what a signal must undo -------------------------------------------------

/// One registered path: unlinked by the handler, or renamed onto `restore_to` when that is
/// set (a replaced file kept aside goes back in place).
struct cleanup_slot {
    std::atomic<int> state{0}; // 0 free, 1 being filled or emptied, 2 live
    char path[4096]{};
    char restore_to[4096]{};
};

static_assert(std::atomic<int>::is_always_lock_free, "the signal handler reads the slots");

/// A run has at most a few outputs per input; beyond this many, temporaries are still removed
/// on errors and by the next run's sweep, only not by a signal handler.
inline constexpr std::size_t cleanup_slot_count = 256;
inline std::array<cleanup_slot, cleanup_slot_count> cleanup_slots{};

/// Undoes every registered path: unlink, or rename back for a replaced file. Only
/// async-signal-safe calls, so a signal handler may call it (the tools' handler does).
inline void undo_registered_outputs() noexcept {
    for (auto& slot : cleanup_slots) {
        if (slot.state.load(std::memory_order_acquire) != 2) {
            continue;
        }
#if EMOFUSE_IO_POSIX_FILES
        if (slot.restore_to[0] != '\0') {
            (void)::rename(slot.path, slot.restore_to);
        } else {
            (void)::unlink(slot.path);
        }
#else
        if (slot.restore_to[0] != '\0') {
            (void)std::rename(slot.path, slot.restore_to);
        } else {
            (void)std::remove(slot.path);
        }
#endif
    }
}

/// Registers a path in the cleanup registry for its lifetime (or until release()).
class cleanup_entry {
public:
    cleanup_entry() = default;
    explicit cleanup_entry(const std::filesystem::path& path,
                           const std::filesystem::path& restore_to = {}) {
        const std::string text = path.string();
        const std::string restore = restore_to.string();
        if (text.size() >= sizeof(cleanup_slot::path) ||
            restore.size() >= sizeof(cleanup_slot::restore_to)) {
            return; // too long for a slot: left to the error path and the sweep
        }
        for (std::size_t index = 0; index < cleanup_slots.size(); ++index) {
            int expected = 0;
            auto& slot = cleanup_slots[index];
            if (slot.state.compare_exchange_strong(expected, 1, std::memory_order_acquire)) {
                std::memcpy(slot.path, text.c_str(), text.size() + 1);
                std::memcpy(slot.restore_to, restore.c_str(), restore.size() + 1);
                slot.state.store(2, std::memory_order_release);
                slot_ = index;
                return;
            }
        }
    }
    cleanup_entry(cleanup_entry&& other) noexcept : slot_(other.slot_) { other.slot_ = none; }
    cleanup_entry& operator=(cleanup_entry&& other) noexcept {
        if (this != &other) {
            release();
            slot_ = other.slot_;
            other.slot_ = none;
        }
        return *this;
    }
    cleanup_entry(const cleanup_entry&) = delete;
    cleanup_entry& operator=(const cleanup_entry&) = delete;
    ~cleanup_entry() { release(); }

    /// The path no longer needs undoing (it was committed or removed).
    void release() noexcept {
        if (slot_ != none) {
            cleanup_slots[slot_].state.store(0, std::memory_order_release);
            slot_ = none;
        }
    }

    [[nodiscard]] bool registered() const noexcept { return slot_ != none; }

private:
    static constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t slot_ = none;
};

inline void undo_outputs_and_reraise(int signal_number) noexcept {
    const int saved_errno = errno;
    undo_registered_outputs();
    // The handler was installed with SA_RESETHAND: the default action is back, so the signal
    // raised here terminates the process once the handler returns, with the usual status.
    std::raise(signal_number);
    errno = saved_errno;
}

/// Signals after which a run's outputs are undone before the process ends.
inline constexpr std::array<int, 4> cleanup_signals {
    SIGINT, SIGTERM,
#if EMOFUSE_IO_POSIX_FILES
        SIGHUP, SIGQUIT
#else
        SIGABRT, SIGABRT
#endif
};

/// Installs the handler that undoes registered outputs for SIGINT, SIGTERM, SIGHUP and
/// SIGQUIT, then re-raises the signal with its default action. A signal that already has a
/// handler or is ignored (e.g. SIGINT of a background job) keeps it. Call once from main.
inline void undo_outputs_on_signals() {
#if EMOFUSE_IO_POSIX_FILES
    for (const int signal_number : cleanup_signals) {
        struct sigaction current {};
        if (::sigaction(signal_number, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) {
            continue;
        }
        struct sigaction action {};
        action.sa_handler = &undo_outputs_and_reraise;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESETHAND;
        (void)::sigaction(signal_number, &action, nullptr);
    }
#else
    for (const int signal_number : cleanup_signals) {
        std::signal(signal_number, &undo_outputs_and_reraise);
    }
#endif
}

// ---- leftovers of dead processes -------------------------------------------------------

/// Whether no process `pid` exists (false when unsure: such files are kept).
inline bool process_is_gone(long pid) noexcept {
#if EMOFUSE_IO_POSIX_FILES
    if (pid <= 0 || pid == current_process_id()) {
        return false;
    }
    return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
#else
    (void)pid;
    return false;
#endif
}

/// For `<target><marker><pid>.<n>`: target and pid; nullopt for any other name.
struct sibling_parts {
    std::string target;
    long pid = 0;
};

inline std::optional<sibling_parts> parse_sibling_name(std::string_view name,
                                                       std::string_view marker) {
    const std::size_t at = name.rfind(marker);
    if (at == std::string_view::npos || at == 0) {
        return std::nullopt;
    }
    const std::string_view rest = name.substr(at + marker.size());
    const std::size_t dot = rest.find('.');
    const auto all_digits = [](std::string_view text) {
        return !text.empty() && text.size() <= 18 &&
               text.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (dot == std::string_view::npos || !all_digits(rest.substr(0, dot)) ||
        !all_digits(rest.substr(dot + 1))) {
        return std::nullopt;
    }
    long long pid = 0;
    std::from_chars(rest.data(), rest.data() + dot, pid);
    return sibling_parts{std::string(name.substr(0, at)), static_cast<long>(pid)};
}

/// What a sweep did.
struct sweep_result {
    std::vector<std::filesystem::path> removed;  // temporaries of dead runs
    std::vector<std::filesystem::path> restored; // replaced files put back (run died mid-commit)
};

/// Cleans `directory` of what emofuse runs that no longer exist left behind: their
/// temporaries are removed; a file one of them had set aside while committing goes back under
/// its name if nothing took that name, and is removed otherwise. Files of live processes and
/// every other file are left alone. Best effort: a file that cannot be removed is skipped.
inline sweep_result sweep_stale_outputs(const std::filesystem::path& directory) {
    namespace fs = std::filesystem;
    sweep_result result;
    std::error_code code;
    fs::directory_iterator entries(directory, code);
    for (; !code && entries != fs::directory_iterator(); entries.increment(code)) {
        const fs::path& path = entries->path();
        const std::string name = path.filename().string();
        std::error_code ignored;
        const auto status = entries->symlink_status(ignored);
        if (!fs::is_regular_file(status) && !fs::is_symlink(status)) {
            continue;
        }
        if (const auto parts = parse_sibling_name(name, temporary_marker);
            parts && process_is_gone(parts->pid)) {
            if (fs::remove(path, ignored)) {
                result.removed.push_back(path);
            }
        } else if (const auto kept = parse_sibling_name(name, backup_marker);
                   kept && process_is_gone(kept->pid)) {
            const fs::path target = path.parent_path() / kept->target;
            if (fs::exists(fs::symlink_status(target, ignored))) {
                if (fs::remove(path, ignored)) {
                    result.removed.push_back(path);
                }
            } else {
                fs::rename(path, target, ignored);
                if (!ignored) {
                    result.restored.push_back(target);
                }
            }
        }
    }
    return result;
}

// ---- committing several outputs together -------------------------------------------------

/// A finished temporary file and the name it gets on commit.
struct pending_output {
    std::filesystem::path temporary;
    std::filesystem::path target;
};

/// Throws io_error unless `target` is absent or a file that may be replaced (a regular file
/// or a symbolic link); a directory or device in its place is named.
inline void check_replaceable(const std::filesystem::path& target, std::string_view stage) {
    namespace fs = std::filesystem;
    std::error_code code;
    const auto status = fs::symlink_status(target, code);
    if (code && code != std::errc::no_such_file_or_directory) {
        throw io_error(emofuse::detail::concat_message(stage, ": output '", target.string(),
                                                       "': ", code.message()));
    }
    if (fs::exists(status) && !fs::is_regular_file(status) && !fs::is_symlink(status)) {
        throw io_error(emofuse::detail::concat_message(
            stage, ": output '", target.string(), "' exists and is ",
            fs::is_directory(status) ? "a directory" : "not a regular file",
            "; it is not replaced (remove it or choose another output)"));
    }
}

/// Renames every temporary onto its target, all or none. Each target is checked first; an
/// existing target is hard-linked aside (renamed when the file system has no hard links), so
/// a failed rename puts back every target already replaced and removes every new one, and a
/// signal meanwhile does the same through the cleanup registry. The temporaries not renamed
/// stay for their owners to remove. Messages carry the system's reason.
inline void commit_together(std::span<const pending_output> outputs, std::string_view stage) {
    namespace fs = std::filesystem;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        check_replaceable(outputs[i].target, stage);
        for (std::size_t j = 0; j < i; ++j) {
            if (outputs[j].target == outputs[i].target) {
                throw io_error(emofuse::detail::concat_message(
                    stage, ": two outputs of one run are both named '", outputs[i].target.string(),
                    "' (rename an input)"));
            }
        }
    }
    const auto move_failed = [&](const pending_output& output, const std::error_code& code) {
        return io_error(emofuse::detail::concat_message(
            stage, ": cannot move the written file onto '", output.target.string(),
            "': ", code.message(), outputs.size() > 1 ? " (no output was changed)" : ""));
    };
    if (outputs.size() == 1) { // one rename is atomic by itself
        std::error_code code;
        fs::rename(outputs[0].temporary, outputs[0].target, code);
        if (code) {
            throw move_failed(outputs[0], code);
        }
        return;
    }
    struct step {
        fs::path backup;     // empty: the target did not exist
        bool linked = false; // backup is a second name of the target (hard link)
        cleanup_entry undo;
    };
    std::vector<step> done;
    done.reserve(outputs.size());
    const auto undo_step = [&](step& item, const fs::path& target, bool replaced) noexcept {
        std::error_code ignored;
        if (item.backup.empty()) {
            if (replaced) {
                fs::remove(target, ignored);
            }
        } else if (item.linked && !replaced) {
            fs::remove(item.backup, ignored); // the target is still the old file
        } else {
            fs::rename(item.backup, target, ignored);
        }
        item.undo.release();
    };
    const auto roll_back = [&]() noexcept {
        for (std::size_t k = done.size(); k-- > 0;) {
            undo_step(done[k], outputs[k].target, true);
        }
    };
    for (const auto& output : outputs) {
        std::error_code code;
        step current;
        if (fs::exists(fs::symlink_status(output.target, code))) {
            current.backup = sibling_name(output.target, backup_marker);
            current.undo = cleanup_entry(current.backup, output.target);
            fs::create_hard_link(output.target, current.backup, code);
            current.linked = !code;
            if (code) {
                code.clear();
                fs::rename(output.target, current.backup, code);
            }
            if (code) {
                current.undo.release();
                roll_back();
                throw io_error(emofuse::detail::concat_message(
                    stage, ": cannot set the existing '", output.target.string(),
                    "' aside before replacing it: ", code.message(), " (no output was changed)"));
            }
        } else {
            current.undo = cleanup_entry(output.target);
        }
        fs::rename(output.temporary, output.target, code);
        if (code) {
            undo_step(current, output.target, false);
            roll_back();
            throw move_failed(output, code);
        }
        done.push_back(std::move(current));
    }
    // Committed: nothing may be undone any more; the set-aside old files go.
    for (auto& item : done) {
        item.undo.release();
    }
    for (const auto& item : done) {
        if (!item.backup.empty()) {
            std::error_code ignored;
            fs::remove(item.backup, ignored);
        }
    }
}

} // namespace emofuse::io::detail
