#include "write_marker.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "atomic_file.hpp"

namespace kpthin::cli {

UnfinishedMarker::UnfinishedMarker(const std::filesystem::path& channel_real_path)
    : path_(channel_real_path.string() + ".unfinished") {
  std::error_code ec;
  // A dangling link or anything else under the name counts: an unreadable marker is still one.
  found_ = std::filesystem::symlink_status(path_, ec).type() != std::filesystem::file_type::not_found && !ec;
  present_ = found_;
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
  static constexpr std::string_view kText =
      "a kpthin write to this channel did not finish; the next kpthin write checks the boxes it may still fill, "
      "then removes this file\n";
  [[maybe_unused]] ssize_t ignored = ::write(fd, kText.data(), kText.size());
  ::close(fd);
  fsync_directory(path_.parent_path());
  present_ = true;
}

void UnfinishedMarker::clear() {
  if (!present_) return;
  if (::unlink(path_.c_str()) == 0) fsync_directory(path_.parent_path());
  present_ = false;
}

}  // namespace kpthin::cli
