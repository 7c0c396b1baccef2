#include "channel_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>

#include "interrupt.hpp"
#include "kpthin/pki.hpp"
#include "kpthin/toml.hpp"

namespace kpthin::cli {
namespace {

constexpr std::string_view kChecksumDomain = "kpthin-channel-v1";
// Files with read_capability or first_index: the same fields, then those two, each after a zero
// byte (empty when absent). Files without them keep the v1 sum, so older kpthin reads them.
constexpr std::string_view kChecksumDomainV2 = "kpthin-channel-v2";

std::string errno_text(int err) { return std::strerror(err); }

// First 8 bytes of BLAKE2b-256(domain ‖ 0 ‖ kind ‖ 0 ‖ capability ‖ index [‖ 0 ‖ read cap ‖ 0 ‖
// first index]), as hex. Catches truncation and accidental edits; it is not a MAC.
std::string checksum(const Channel& channel) {
  const bool v2 = channel.read_capability || channel.first_index;
  std::string_view domain = v2 ? kChecksumDomainV2 : kChecksumDomain;
  Bytes data(domain.begin(), domain.end());
  data.push_back(0);
  std::string_view name = kind_name(channel.kind);
  data.insert(data.end(), name.begin(), name.end());
  data.push_back(0);
  ByteView capability = channel.capability.reveal();
  data.insert(data.end(), capability.begin(), capability.end());
  data.insert(data.end(), channel.index.begin(), channel.index.end());
  if (v2) {
    for (const auto* extra : {&channel.read_capability, &channel.first_index}) {
      data.push_back(0);
      if (*extra) data.insert(data.end(), (*extra)->begin(), (*extra)->end());
    }
  }
  Hash256 digest = blake2b_256(view(data));
  wipe(data.data(), data.size());
  return to_hex(ByteView(digest.data(), 8));
}

[[noreturn]] void damaged(const std::string& source, const std::string& what) {
  fail(ExitCode::kConfig, "channel file " + source + " is invalid: " + what +
                              "; restore it, or recreate it with `kpthin keypair --import`");
}

}  // namespace

const char* kind_name(ChannelKind kind) { return kind == ChannelKind::kWrite ? "write" : "read"; }

std::string format_channel(const Channel& channel) {
  std::string text;
  text += "# kpthin channel file, see kpthin-channel(5).\n";
  if (channel.kind == ChannelKind::kWrite) {
    text += "# It holds a WRITE capability: anyone with this file can write to the channel.\n";
  }
  text += "kind = \"";
  text += kind_name(channel.kind);
  text += "\"\ncapability = \"";
  text += to_base64(channel.capability.reveal());
  text += "\"\nindex = \"";
  text += to_base64(view(channel.index));
  if (channel.read_capability) {
    text += "\"\nread_capability = \"";
    text += to_base64(view(*channel.read_capability));
  }
  if (channel.first_index) {
    text += "\"\nfirst_index = \"";
    text += to_base64(view(*channel.first_index));
  }
  text += "\"\nchecksum = \"";
  text += checksum(channel);
  text += "\"\n";
  return text;
}

Channel parse_channel(std::string_view text, const std::string& source) {
  TomlStrings toml = read_toml_strings(text);
  // The values include the capability: wipe them however this function is left.
  struct Wiper {
    std::map<std::string, std::string>& values;
    ~Wiper() {
      for (auto& [key, value] : values) wipe(value.data(), value.size());
    }
  } wiper{toml.values};
  if (toml.outcome == TomlStrings::Outcome::kSyntax) {
    damaged(source, "not valid TOML (" + toml.error + " at line " + std::to_string(toml.line) + ")");
  }
  if (toml.outcome == TomlStrings::Outcome::kNotString) {
    damaged(source, toml.error + " (line " + std::to_string(toml.line) + ")");
  }
  for (const auto& [key, value] : toml.values) {
    if (key != "kind" && key != "capability" && key != "index" && key != "read_capability" && key != "first_index" &&
        key != "checksum") {
      damaged(source, "unknown key \"" + key + "\"");
    }
  }
  auto get = [&](const char* key) -> std::string {
    auto found = toml.values.find(key);
    if (found == toml.values.end()) damaged(source, std::string("missing key \"") + key + "\"");
    return found->second;
  };
  Channel channel;
  std::string kind = get("kind");
  if (kind == "write") {
    channel.kind = ChannelKind::kWrite;
  } else if (kind == "read") {
    channel.kind = ChannelKind::kRead;
  } else {
    damaged(source, "kind must be \"read\" or \"write\", not \"" + kind + "\"");
  }
  std::string cap_text = get("capability");
  Bytes cap;
  if (!from_base64(cap_text, cap)) damaged(source, "capability is not valid base64");
  wipe(cap_text.data(), cap_text.size());
  std::size_t want = channel.kind == ChannelKind::kWrite ? kWriteCapSize : kReadCapSize;
  if (cap.size() != want) {
    std::size_t got = cap.size();
    wipe(cap.data(), cap.size());
    damaged(source, "a " + kind + " capability has " + std::to_string(want) + " bytes, this one " +
                        std::to_string(got));
  }
  channel.capability = SecretBytes(std::move(cap));
  if (!from_base64(get("index"), channel.index)) damaged(source, "index is not valid base64");
  if (channel.index.size() != kMessageBoxIndexSize) {
    damaged(source, "a box index has " + std::to_string(kMessageBoxIndexSize) + " bytes, this one " +
                        std::to_string(channel.index.size()));
  }
  if (toml.values.count("read_capability")) {
    if (channel.kind != ChannelKind::kWrite) damaged(source, "read_capability belongs in a write channel file only");
    Bytes read_cap;
    if (!from_base64(get("read_capability"), read_cap)) damaged(source, "read_capability is not valid base64");
    if (read_cap.size() != kReadCapSize) {
      damaged(source, "a read capability has " + std::to_string(kReadCapSize) + " bytes, this one " +
                          std::to_string(read_cap.size()));
    }
    channel.read_capability = std::move(read_cap);
  }
  if (toml.values.count("first_index")) {
    Bytes first;
    if (!from_base64(get("first_index"), first)) damaged(source, "first_index is not valid base64");
    if (first.size() != kMessageBoxIndexSize) {
      damaged(source, "a box index has " + std::to_string(kMessageBoxIndexSize) + " bytes, first_index " +
                          std::to_string(first.size()));
    }
    channel.first_index = std::move(first);
  }
  if (get("checksum") != checksum(channel)) {
    damaged(source, "checksum mismatch (the file was edited or damaged)");
  }
  return channel;
}

void create_channel_file(const std::filesystem::path& path, const Channel& channel, bool overwrite) {
  create_channel_files({{path, &channel}}, overwrite);
}

void create_channel_files(const std::vector<std::pair<std::filesystem::path, const Channel*>>& files,
                          bool overwrite) {
  std::vector<std::string> texts;
  texts.reserve(files.size());
  std::vector<NewFile> new_files;
  for (const auto& [path, channel] : files) {
    texts.push_back(format_channel(*channel));
    new_files.push_back({path, texts.back(), 0600});
  }
  try {
    create_files_together(new_files, overwrite);
  } catch (...) {
    for (auto& t : texts) wipe(t.data(), t.size());
    throw;
  }
  for (auto& t : texts) wipe(t.data(), t.size());
}

namespace {

// OpenSSH's rule for private keys: no access at all for group or others. A write channel file is
// a key (anyone who can read it can write to the channel), so it is not used until fixed.
void refuse_shared_write_file(const ChannelFile& file, mode_t mode) {
  if (file.channel().kind != ChannelKind::kWrite || (mode & 077) == 0) return;
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode & 07777));
  std::string name = file.path().string();
  if (file.real_path() != file.path()) name += " (a link to " + file.real_path().string() + ")";
  fail(ExitCode::kConfig, "channel file " + name + " holds a write capability but group or others may access it (mode " +
                              octal + "); anyone who can read it can write to the channel. Run `chmod 600 " +
                              file.real_path().string() + "` and retry");
}

}  // namespace

ChannelFile ChannelFile::open(const std::filesystem::path& path, std::optional<ChannelKind> expected,
                              std::chrono::milliseconds lock_wait) {
  ChannelFile file;
  file.path_ = path;
  auto deadline = lock_wait == std::chrono::milliseconds::max()
                      ? std::chrono::steady_clock::time_point::max()
                      : std::chrono::steady_clock::now() + lock_wait;
  struct stat held {};
  for (;;) {
    // Lock the file a link points to, not the link: saving replaces that file, and every
    // process using it, through whichever name, must wait for the same lock.
    file.real_path_ = resolve_links(path);
    int fd = ::open(file.real_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == ENOENT && file.real_path_ != path) {
        fail(ExitCode::kConfig, "channel file " + path.string() + " is a link to " + file.real_path_.string() +
                                    ", which does not exist; fix the link or create the file with `kpthin keypair`");
      }
      if (err == ENOENT) {
        fail(ExitCode::kConfig, "channel file " + path.string() +
                                    " does not exist; create one with `kpthin keypair NAME`");
      }
      fail(ExitCode::kConfig, "cannot open channel file " + path.string() + ": " + errno_text(err));
    }
    // Wait for the lock, staying responsive to Ctrl-C and the deadline.
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        int err = errno;
        ::close(fd);
        fail(ExitCode::kOther, "cannot lock " + path.string() + ": " + errno_text(err));
      }
      if (interrupted()) {
        ::close(fd);
        fail(ExitCode::kInterrupted, "interrupted while waiting for the lock on " + path.string());
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::close(fd);
        fail(ExitCode::kTimeout, path.string() +
                                     " is locked by another kpthin process; wait for it to finish");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // The file may have been replaced, or the link pointed elsewhere, while we waited; the lock
    // must be on the inode the name leads to now.
    struct stat current {};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &current) == 0 && held.st_ino == current.st_ino &&
        held.st_dev == current.st_dev) {
      file.lock_fd_ = fd;
      break;
    }
    ::close(fd);
  }
  std::string text = read_text_file(file.real_path_, ExitCode::kConfig);
  file.channel_ = parse_channel(text, path.string());
  wipe(text.data(), text.size());
  refuse_shared_write_file(file, held.st_mode);
  if (expected && *expected != file.channel_.kind) {
    std::string want = kind_name(*expected);
    fail(ExitCode::kUsage, path.string() + " is a " + kind_name(file.channel_.kind) +
                               " channel but this command needs a " + want + " channel (the ." +
                               want + " file made by `kpthin keypair`)");
  }
  return file;
}

ChannelFile::ChannelFile(ChannelFile&& other) noexcept
    : path_(std::move(other.path_)),
      real_path_(std::move(other.real_path_)),
      channel_(std::move(other.channel_)),
      lock_fd_(other.lock_fd_) {
  other.lock_fd_ = -1;
}

ChannelFile& ChannelFile::operator=(ChannelFile&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    path_ = std::move(other.path_);
    real_path_ = std::move(other.real_path_);
    channel_ = std::move(other.channel_);
    lock_fd_ = other.lock_fd_;
    other.lock_fd_ = -1;
  }
  return *this;
}

ChannelFile::~ChannelFile() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void ChannelFile::save_index(ByteView index) {
  if (index.size() == channel_.index.size() &&
      std::equal(index.begin(), index.end(), channel_.index.begin())) {
    return;
  }
  Channel updated = channel_;
  updated.index.assign(index.begin(), index.end());
  std::string text = format_channel(updated);
  int new_fd = -1;
  // The file behind a link is replaced in its own directory; the link itself stays.
  try {
    atomic_replace(real_path_, text, 0600, &new_fd);
  } catch (...) {
    wipe(text.data(), text.size());
    throw;
  }
  wipe(text.data(), text.size());
  // Keep holding a lock on the inode now under the name; the old one is gone.
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = new_fd;
  channel_.index = std::move(updated.index);
}

}  // namespace kpthin::cli
