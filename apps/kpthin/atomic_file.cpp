#include "atomic_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "interrupt.hpp"

namespace kpthin::cli {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// "NAME" or "NAME (a link to TARGET)", so messages name what the user typed and what changed.
std::string describe(const std::filesystem::path& path, const std::filesystem::path& target) {
  if (path == target) return path.string();
  return path.string() + " (a link to " + target.string() + ")";
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

// Creates a temporary file next to `target`, writes (and with `sync`, fsyncs) `contents`.
// Returns its open fd and fills `temp_path`; on failure nothing is left behind.
int write_temp(const std::filesystem::path& target, const std::string& name, std::string_view contents,
               unsigned mode, std::string& temp_path, bool sync) {
  temp_path = target.string() + ".tmp.XXXXXX";
  int fd = ::mkstemp(temp_path.data());
  if (fd < 0) {
    int err = errno;
    fail(ExitCode::kOther, "cannot create a temporary file next to " + name + ": " + errno_text(err) +
                               "; check that the directory is writable");
  }
  if (::fchmod(fd, mode) != 0 || !write_all(fd, contents) || (sync && ::fsync(fd) != 0)) {
    int err = errno;
    ::close(fd);
    ::unlink(temp_path.c_str());
    fail(ExitCode::kOther, "cannot write " + name + ": " + errno_text(err) + "; the previous content is unchanged");
  }
  return fd;
}

// Takes a non-blocking exclusive flock on an existing regular file, the lock every kpthin
// command holds on a channel file it uses. Returns the fd, or -1 if there is no such file.
int lock_existing(const std::filesystem::path& target, const std::string& name) {
  int fd = ::open(target.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      fail(ExitCode::kOther, name + " is in use by another kpthin command; wait for it to finish, then retry");
    }
    fail(ExitCode::kOther, "cannot lock " + name + ": " + errno_text(err));
  }
  return fd;
}

// A second name for the existing file `target` (a hard link), so it can be put back if a later
// step of a group replacement fails. "" if there is no regular file to keep.
std::string keep_previous(const std::filesystem::path& target, const std::string& name) {
  struct stat st {};
  if (::lstat(target.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  std::string backup = target.string() + ".old.XXXXXX";
  int fd = ::mkstemp(backup.data());
  if (fd >= 0) {
    ::close(fd);
    ::unlink(backup.c_str());
  }
  if (fd < 0 || ::link(target.c_str(), backup.c_str()) != 0) {
    int err = errno;
    fail(ExitCode::kOther, "cannot keep the previous " + name + " while replacing it: " + errno_text(err) +
                               "; nothing was changed");
  }
  return backup;
}

}  // namespace

std::filesystem::path resolve_links(const std::filesystem::path& path) {
  std::filesystem::path current = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return current;
    std::error_code ec;
    std::filesystem::path target = std::filesystem::read_symlink(current, ec);
    if (ec) return current;  // opening it will report the reason
    current = target.is_absolute() ? target : current.parent_path() / target;
  }
  fail(ExitCode::kConfig, path.string() + " is a chain of more than 40 symbolic links (a loop?); "
                                          "point it at the file itself");
}

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void atomic_replace(const std::filesystem::path& path, std::string_view contents, unsigned mode,
                    int* keep_locked_fd) {
  std::string temp_path;
  int fd = write_temp(path, path.string(), contents, mode, temp_path, true);
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

void create_files_together(const std::vector<NewFile>& files, bool overwrite) {
  std::vector<std::filesystem::path> targets;
  std::vector<std::string> names;
  for (const NewFile& f : files) {
    // Without overwrite a link is an existing name like any other: link() below refuses it.
    targets.push_back(overwrite ? resolve_links(f.path) : f.path);
    names.push_back(describe(f.path, targets.back()));
  }
  std::vector<std::string> temps;
  std::vector<std::string> backups(files.size());
  std::vector<int> locks;
  auto clean_up = [&] {
    for (const auto& t : temps) ::unlink(t.c_str());
    for (const auto& b : backups) {
      if (!b.empty()) ::unlink(b.c_str());
    }
    for (int fd : locks) ::close(fd);
  };
  try {
    // Write every file first and fsync afterwards: the first fsync's journal commit carries the
    // others' data too, so the later ones are nearly free.
    std::vector<int> fds;
    try {
      for (std::size_t i = 0; i < files.size(); ++i) {
        std::string temp_path;
        fds.push_back(write_temp(targets[i], names[i], files[i].contents, files[i].mode, temp_path, false));
        temps.push_back(temp_path);
      }
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (::fsync(fds[i]) != 0) {
          int err = errno;
          fail(ExitCode::kOther, "cannot write " + names[i] + ": " + errno_text(err) + "; nothing was changed");
        }
      }
    } catch (...) {
      for (int fd : fds) ::close(fd);
      throw;
    }
    for (int fd : fds) ::close(fd);
    if (overwrite) {
      for (std::size_t i = 0; i < files.size(); ++i) {
        if (int fd = lock_existing(targets[i], names[i]); fd >= 0) locks.push_back(fd);
        backups[i] = keep_previous(targets[i], names[i]);
      }
    }
  } catch (...) {
    clean_up();
    throw;
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    // link() fails if the name exists, which rename() would silently replace.
    int rc = overwrite ? ::rename(temps[i].c_str(), targets[i].c_str()) : ::link(temps[i].c_str(), targets[i].c_str());
    if (rc == 0) continue;
    int err = errno;
    std::string kept;
    for (std::size_t j = 0; j < i; ++j) {
      if (backups[j].empty()) {
        ::unlink(targets[j].c_str());
      } else if (::rename(backups[j].c_str(), targets[j].c_str()) == 0) {
        backups[j].clear();
      } else {
        kept += "; the previous " + names[j] + " is kept as " + backups[j];
        backups[j].clear();
      }
    }
    clean_up();
    if (!overwrite && err == EEXIST) {
      fail(ExitCode::kUsage, names[i] + " already exists; choose another name or pass --force");
    }
    fail(ExitCode::kOther, std::string("cannot ") + (overwrite ? "replace " : "create ") + names[i] + ": " +
                               errno_text(err) + (kept.empty() ? "; nothing was changed" : kept));
  }
  if (overwrite) temps.clear();  // renamed into place
  clean_up();
  std::set<std::filesystem::path> dirs;
  for (const auto& t : targets) dirs.insert(t.parent_path());
  for (const auto& d : dirs) fsync_directory(d);
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
    ssize_t n;
    try {
      // A terminal (`keypair --import -`) stops at the first Ctrl-C.
      n = read_unless_interrupted(fd, buf, sizeof buf);
    } catch (...) {
      ::close(fd);
      throw;
    }
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

}  // namespace kpthin::cli
