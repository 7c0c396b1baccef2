// Channel files (kpthin-channel(5)): a capability and the current box index, kept on disk so
// that positions survive across invocations and capabilities never appear on a command line.
//
// Contract: files are created mode 0600; every change is an atomic replace (temporary file in
// the same directory, fsync, rename, directory fsync) made while holding an exclusive flock on
// the file, so a crash leaves either the old or the new content, never a torn file. A channel
// file name that is a symbolic link stands for the file it points to: that file is locked, read
// and replaced, and the link stays. Parsing is strict: an unknown key, a wrong kind, a capability
// or index of the wrong size, or a checksum mismatch is an error (exit code 3) naming the file and
// what to do. A write channel file that group or others may access is refused (exit 3) with the
// chmod to run, as OpenSSH refuses such a key file.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atomic_file.hpp"
#include "exit_codes.hpp"
#include "kpthin/bytes.hpp"

namespace kpthin::cli {

enum class ChannelKind { kRead, kWrite };

const char* kind_name(ChannelKind kind);

struct Channel {
  ChannelKind kind = ChannelKind::kRead;
  SecretBytes capability;  // 168-byte write cap or 136-byte read cap
  Bytes index;             // 104-byte MessageBoxIndex of the next box to use
  // Write files only: the channel's 136-byte read capability, so a writer can read back a box
  // the replica reports as occupied. Absent in files written before kpthin kept it.
  std::optional<Bytes> read_capability;
  // The 104-byte index of the channel's first box (box numbers count from it). Absent in older
  // files.
  std::optional<Bytes> first_index;
};

// TOML text of a channel file, checksum included.
std::string format_channel(const Channel& channel);

// Parses channel file text; throws CliError(kConfig) naming `source` on any defect.
Channel parse_channel(std::string_view text, const std::string& source);

// Creates a new channel file atomically. Refuses (CliError kUsage) to replace an existing file
// unless `overwrite` is set.
void create_channel_file(const std::filesystem::path& path, const Channel& channel, bool overwrite);
// The same for several files as a group (create_files_together): on any failure the previous
// files, if any, are all still in place and no new one is left.
void create_channel_files(const std::vector<std::pair<std::filesystem::path, const Channel*>>& files,
                          bool overwrite);

// An open channel file, exclusively locked until destroyed.
class ChannelFile {
 public:
  // Opens, locks (waiting at most `lock_wait`) and parses `path` (the file it links to, if it is a
  // link). Fails with kConfig if it is a write channel that group or others may access. If
  // `expected` is set and the file is of the other kind, fails with kUsage and says which file to
  // use instead.
  static ChannelFile open(const std::filesystem::path& path, std::optional<ChannelKind> expected,
                          std::chrono::milliseconds lock_wait = std::chrono::milliseconds::max());

  ChannelFile(ChannelFile&& other) noexcept;
  ChannelFile& operator=(ChannelFile&& other) noexcept;
  ChannelFile(const ChannelFile&) = delete;
  ChannelFile& operator=(const ChannelFile&) = delete;
  ~ChannelFile();

  const Channel& channel() const { return channel_; }
  const std::filesystem::path& path() const { return path_; }
  // The file behind path() once symbolic links are followed (path() itself if it is no link).
  const std::filesystem::path& real_path() const { return real_path_; }

  // Replaces the stored index atomically (no-op if unchanged). Throws CliError(kOther) if the
  // file cannot be written; the old content is then still in place.
  void save_index(ByteView index);

 private:
  ChannelFile() = default;
  std::filesystem::path path_;
  std::filesystem::path real_path_;
  Channel channel_;
  int lock_fd_ = -1;
};

}  // namespace kpthin::cli
