// Crash-safe file replacement for the CLI's small state files (channel files, copy state, read
// output): a temporary file in the target's directory, fsync, rename, directory fsync, so a crash
// leaves the old or the new content, never a torn file. Symbolic links are followed only where
// said: a channel file's owner chose its link, a received file's name comes from its sender.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "exit_codes.hpp"

namespace kpthin::cli {

// The name `path` finally refers to after following symbolic links (relative targets taken from
// the link's directory); `path` itself when it is not a link. The result need not exist (a dangling
// link yields its target). Throws CliError(kConfig) after 40 links (a loop).
std::filesystem::path resolve_links(const std::filesystem::path& path);

// Writes `contents` to `path` atomically with `mode`; a link at `path` is replaced, not followed
// (pass resolve_links(path) to replace the file it points to instead). If
// `keep_locked_fd` is given, the new file is flock'ed before it becomes visible and its fd is
// returned there (the caller owns it). Throws CliError(kOther) on failure; the previous content
// is then unchanged.
void atomic_replace(const std::filesystem::path& path, std::string_view contents, unsigned mode,
                    int* keep_locked_fd = nullptr);

struct NewFile {
  std::filesystem::path path;
  std::string_view contents;  // owned (and wiped) by the caller
  unsigned mode = 0600;
};

// Creates several files as a group: every one is written and fsynced under a temporary name
// before any becomes visible. Without `overwrite`, an existing name (even a dangling link) fails
// with CliError(kUsage) and nothing is created. With it, existing files are replaced (links
// followed) only after all new contents are safe on disk, and if any replacement fails the ones
// already made are undone, so the previous files are all still there (CliError(kOther)). A file
// another process holds flock'ed (a kpthin command using it) is not replaced (kOther).
void create_files_together(const std::vector<NewFile>& files, bool overwrite);

// Reads a whole file; throws CliError(code) with "cannot read <path>: <reason>" on failure, and
// CliError(kInterrupted) when a signal interrupted the read (a terminal as the file).
std::string read_text_file(const std::filesystem::path& path, ExitCode code_if_missing);

// fsync of a directory, so a rename in it survives a crash (best effort: errors are ignored,
// the rename itself already succeeded).
void fsync_directory(const std::filesystem::path& dir);

}  // namespace kpthin::cli
