#include "channel_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <toml++/toml.h>

#include "interrupt.hpp"
#include "kpthin/pki.hpp"

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

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Creates a temporary file next to `path`, writes and fsyncs `contents`. Returns its fd (open)
// and fills `temp_path`.
int write_temp(const std::filesystem::path& path, std::string_view contents, unsigned mode,
               std::string& temp_path, bool sync = true) {
  temp_path = path.string() + ".tmp.XXXXXX";
  int fd = ::mkstemp(temp_path.data());
  if (fd < 0) {
    int err = errno;
    fail(ExitCode::kOther, "cannot create a temporary file next to " + path.string() + ": " +
                               errno_text(err) + "; check that the directory is writable");
  }
  if (::fchmod(fd, mode) != 0 || !write_all(fd, contents) || (sync && ::fsync(fd) != 0)) {
    int err = errno;
    ::close(fd);
    ::unlink(temp_path.c_str());
    fail(ExitCode::kOther, "cannot write " + path.string() + ": " + errno_text(err) +
                               "; the previous content is unchanged");
  }
  return fd;
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
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    damaged(source, std::string("not valid TOML (") + std::string(e.description()) + " at line " +
                        std::to_string(e.source().begin.line) + ")");
  }
  for (const auto& [key, value] : table) {
    std::string_view k = key.str();
    if (k != "kind" && k != "capability" && k != "index" && k != "read_capability" && k != "first_index" &&
        k != "checksum") {
      damaged(source, "unknown key \"" + std::string(k) + "\"");
    }
    if (!value.is_string()) damaged(source, "key \"" + std::string(k) + "\" must be a string");
  }
  auto get = [&](const char* key) -> std::string {
    auto value = table[key].value<std::string>();
    if (!value) damaged(source, std::string("missing key \"") + key + "\"");
    return *value;
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
  if (table.contains("read_capability")) {
    if (channel.kind != ChannelKind::kWrite) damaged(source, "read_capability belongs in a write channel file only");
    Bytes read_cap;
    if (!from_base64(get("read_capability"), read_cap)) damaged(source, "read_capability is not valid base64");
    if (read_cap.size() != kReadCapSize) {
      damaged(source, "a read capability has " + std::to_string(kReadCapSize) + " bytes, this one " +
                          std::to_string(read_cap.size()));
    }
    channel.read_capability = std::move(read_cap);
  }
  if (table.contains("first_index")) {
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

void atomic_replace(const std::filesystem::path& path, std::string_view contents, unsigned mode,
                    int* keep_locked_fd) {
  std::string temp_path;
  int fd = write_temp(path, contents, mode, temp_path);
  // Lock the new inode before it becomes visible, so there is no instant where another process
  // could lock the file under this name.
  if (keep_locked_fd) ::flock(fd, LOCK_EX);
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(temp_path.c_str());
    fail(ExitCode::kOther, "cannot replace " + path.string() + ": " + errno_text(err) +
                               "; the previous content is unchanged");
  }
  fsync_directory(path.parent_path());
  if (keep_locked_fd) {
    *keep_locked_fd = fd;
  } else {
    ::close(fd);
  }
}

void create_channel_file(const std::filesystem::path& path, const Channel& channel, bool overwrite) {
  create_channel_files({{path, &channel}}, overwrite);
}

void create_channel_files(const std::vector<std::pair<std::filesystem::path, const Channel*>>& files,
                          bool overwrite) {
  std::vector<std::string> temps;
  std::vector<int> fds;
  auto remove_temps = [&] {
    for (const auto& t : temps) ::unlink(t.c_str());
  };
  auto close_fds = [&] {
    for (int fd : fds) ::close(fd);
    fds.clear();
  };
  try {
    // Write every file first and fsync afterwards: the first fsync's journal commit carries the
    // others' data too, so the later ones are nearly free.
    for (const auto& [path, channel] : files) {
      std::string text = format_channel(*channel);
      std::string temp_path;
      int fd = write_temp(path, text, 0600, temp_path, false);
      wipe(text.data(), text.size());
      fds.push_back(fd);
      temps.push_back(temp_path);
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (::fsync(fds[i]) != 0) {
        int err = errno;
        fail(ExitCode::kOther, "cannot write " + files[i].first.string() + ": " + errno_text(err));
      }
    }
    close_fds();
  } catch (...) {
    close_fds();
    remove_temps();
    throw;
  }
  std::vector<std::filesystem::path> created;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& path = files[i].first;
    // link() fails if the name exists, which rename() would silently replace.
    int rc = overwrite ? ::rename(temps[i].c_str(), path.c_str()) : ::link(temps[i].c_str(), path.c_str());
    int err = errno;
    if (rc != 0) {
      remove_temps();
      for (const auto& c : created) ::unlink(c.c_str());
      if (err == EEXIST) {
        fail(ExitCode::kUsage, path.string() + " already exists; choose another name or pass --force");
      }
      fail(ExitCode::kOther, "cannot create " + path.string() + ": " + errno_text(err));
    }
    created.push_back(path);
  }
  if (!overwrite) remove_temps();
  fsync_directory(files.empty() ? std::filesystem::path() : files.front().first.parent_path());
}

std::string read_text_file(const std::filesystem::path& path, ExitCode code_if_missing) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    fail(code_if_missing, "cannot read " + path.string() + ": " + errno_text(err));
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      fail(code_if_missing, "cannot read " + path.string() + ": " + errno_text(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

ChannelFile ChannelFile::open(const std::filesystem::path& path, std::optional<ChannelKind> expected,
                              std::chrono::milliseconds lock_wait) {
  ChannelFile file;
  file.path_ = path;
  auto deadline = lock_wait == std::chrono::milliseconds::max()
                      ? std::chrono::steady_clock::time_point::max()
                      : std::chrono::steady_clock::now() + lock_wait;
  for (;;) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
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
    // The file may have been replaced while we waited; the lock must be on the current inode.
    struct stat held {}, current {};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &current) == 0 && held.st_ino == current.st_ino &&
        held.st_dev == current.st_dev) {
      file.lock_fd_ = fd;
      break;
    }
    ::close(fd);
  }
  std::string text = read_text_file(path, ExitCode::kConfig);
  file.channel_ = parse_channel(text, path.string());
  wipe(text.data(), text.size());
  if (expected && *expected != file.channel_.kind) {
    std::string want = kind_name(*expected);
    fail(ExitCode::kUsage, path.string() + " is a " + kind_name(file.channel_.kind) +
                               " channel but this command needs a " + want + " channel (the ." +
                               want + " file made by `kpthin keypair`)");
  }
  return file;
}

ChannelFile::ChannelFile(ChannelFile&& other) noexcept
    : path_(std::move(other.path_)), channel_(std::move(other.channel_)), lock_fd_(other.lock_fd_) {
  other.lock_fd_ = -1;
}

ChannelFile& ChannelFile::operator=(ChannelFile&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    path_ = std::move(other.path_);
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
  atomic_replace(path_, text, 0600, &new_fd);
  wipe(text.data(), text.size());
  // Keep holding a lock on the inode now under the name; the old one is gone.
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = new_fd;
  channel_.index = std::move(updated.index);
}

}  // namespace kpthin::cli
