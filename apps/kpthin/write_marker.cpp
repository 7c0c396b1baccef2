#include "write_marker.hpp"

#include <unistd.h>

#include <string>

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
  // The text is for a person who finds the file; kpthin only looks at whether it exists.
  atomic_replace(path_,
                 "a kpthin write to this channel did not finish; the next kpthin write checks the boxes it may "
                 "still fill, then removes this file\n",
                 0600);
  present_ = true;
}

void UnfinishedMarker::clear() {
  if (!present_) return;
  if (::unlink(path_.c_str()) == 0) fsync_directory(path_.parent_path());
  present_ = false;
}

}  // namespace kpthin::cli
