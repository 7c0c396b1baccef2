#include "write_marker.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "atomic_file.hpp"

namespace kpthin::cli {
namespace {

constexpr std::string_view kText =
    "a kpthin command writing to this channel did not finish; the next kpthin write checks the boxes it may "
    "still fill, then removes this file\n";
constexpr std::string_view kTombstoneKey = "tombstones-through-box ";

// The box number after kTombstoneKey on a line of `text`, if there is one.
std::optional<std::uint64_t> parse_record(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (line.substr(0, kTombstoneKey.size()) != kTombstoneKey) continue;
    line.remove_prefix(kTombstoneKey.size());
    std::uint64_t box = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), box);
    if (ec == std::errc() && ptr == line.data() + line.size() && box != 0) return box;
  }
  return std::nullopt;
}

// The marker's text (at most a few hundred bytes); empty if it cannot be read.
std::string read_marker(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return {};
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

UnfinishedMarker::UnfinishedMarker(const std::filesystem::path& channel_real_path)
    : path_(channel_real_path.string() + ".unfinished") {
  std::error_code ec;
  // A dangling link or anything else under the name counts: an unreadable marker is still one.
  found_ = std::filesystem::symlink_status(path_, ec).type() != std::filesystem::file_type::not_found && !ec;
  present_ = found_;
  if (found_) tombstones_through_ = parse_record(read_marker(path_));
}

void UnfinishedMarker::set() {
  if (present_) return;
  // Only the name matters, so the directory fsync alone makes it durable (the text is for a person
  // who finds the file; a crash may leave it empty, which counts the same).
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int err = errno;
    fail(ExitCode::kOther, "cannot create " + path_.string() + ": " + std::strerror(err) +
                               "; nothing was sent; check that the directory is writable");
  }
  [[maybe_unused]] ssize_t ignored = ::write(fd, kText.data(), kText.size());
  ::close(fd);
  fsync_directory(path_.parent_path());
  present_ = true;
}

void UnfinishedMarker::write_text(const std::optional<std::uint64_t>& last_box) {
  std::string text(kText);
  if (last_box) {
    text += "a kpthin tombstone --next may still delete the boxes up to this box number; the next run tombstones "
            "them first:\n";
    text += std::string(kTombstoneKey) + std::to_string(*last_box) + "\n";
  }
  // Replaced whole (fsynced, renamed), so a crash leaves the old record or the new one.
  atomic_replace(path_, text, 0600);
  present_ = true;
  tombstones_through_ = last_box;
}

void UnfinishedMarker::set_tombstones(std::uint64_t last_box) {
  try {
    write_text(last_box);
  } catch (const CliError& e) {
    fail(ExitCode::kOther, std::string(e.what()) + "; nothing was sent; check that the directory is writable");
  }
}

void UnfinishedMarker::tombstones_done() {
  if (!tombstones_through_) return;
  if (!found_) {
    clear();
    return;
  }
  try {
    write_text(std::nullopt);
  } catch (const CliError&) {
    // The record stays: the next run tombstones those boxes again, which changes nothing.
  }
}

void UnfinishedMarker::clear() {
  if (!present_) return;
  if (::unlink(path_.c_str()) == 0) fsync_directory(path_.parent_path());
  present_ = false;
  tombstones_through_.reset();
}

}  // namespace kpthin::cli
