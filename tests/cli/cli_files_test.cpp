// Unit tests of how the CLI keeps its files safe: saving a channel file through a symbolic link,
// replacing a channel file pair all or nothing, refusing a write channel file others can read,
// and reading a damaged copy state file. No daemon needed.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "channel_file.hpp"
#include "cli_test_support.hpp"
#include "copy_state.hpp"

using namespace kpthin;
using namespace kpthin::cli;
using namespace kpthin::cli::test;
using std::chrono::milliseconds;

namespace {

std::size_t entries_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("channel files: saving through a symbolic link replaces the file it points to") {
  TempDir dir;
  std::filesystem::create_directory(dir.path / "store");
  auto real = dir.path / "store" / "c.write";
  auto link = dir.path / "c.write";
  create_channel_file(real, sample_channel(ChannelKind::kWrite), false);
  std::filesystem::create_symlink("store/c.write", link);  // relative, as `ln -s` makes it

  Bytes first = pattern_bytes(kMessageBoxIndexSize, 50);
  Bytes second = pattern_bytes(kMessageBoxIndexSize, 51);
  {
    ChannelFile file = ChannelFile::open(link, ChannelKind::kWrite);
    CHECK(file.real_path() == dir.path / "store" / "c.write");
    // The lock is on the real file: another user of it, under its own name, must wait.
    CHECK(code_of([&] { ChannelFile::open(real, ChannelKind::kWrite, milliseconds(20)); }) == ExitCode::kTimeout);
    file.save_index(view(first));
    CHECK(code_of([&] { ChannelFile::open(real, ChannelKind::kWrite, milliseconds(20)); }) == ExitCode::kTimeout);
    file.save_index(view(second));
  }
  CHECK(std::filesystem::is_symlink(link));
  CHECK(std::filesystem::read_symlink(link) == "store/c.write");
  CHECK(ChannelFile::open(real, ChannelKind::kWrite).channel().index == second);
  CHECK(ChannelFile::open(link, ChannelKind::kWrite).channel().index == second);
  CHECK(mode_of(real) == 0600);
  CHECK(entries_in(dir.path) == 2);  // the link and store/, no temporary file
  CHECK(entries_in(dir.path / "store") == 1);

  // A link to a link to a missing file says which file is missing.
  std::filesystem::create_symlink("gone.write", dir.path / "hop.write");
  std::filesystem::create_symlink("hop.write", dir.path / "dangling.write");
  std::string m = message_of([&] { ChannelFile::open(dir.path / "dangling.write", std::nullopt); });
  CHECK_MESSAGE(m.find("is a link to " + (dir.path / "gone.write").string() + ", which does not exist") !=
                    std::string::npos,
                m);
  std::filesystem::create_symlink("loop.write", dir.path / "loop.write");
  CHECK(code_of([&] { ChannelFile::open(dir.path / "loop.write", std::nullopt); }) == ExitCode::kConfig);
}

TEST_CASE("channel files: a write channel file group or others can access is refused with the chmod to run") {
  TempDir dir;
  auto path = dir.path / "c.write";
  create_channel_file(path, sample_channel(ChannelKind::kWrite), false);
  ::chmod(path.c_str(), 0644);
  std::string m = message_of([&] { ChannelFile::open(path, ChannelKind::kWrite); });
  CHECK_MESSAGE(m.find("`chmod 600 " + path.string() + "`") != std::string::npos, m);
  CHECK_MESSAGE(m.find("mode 0644") != std::string::npos, m);
  CHECK(code_of([&] { ChannelFile::open(path, ChannelKind::kWrite); }) == ExitCode::kConfig);
  ::chmod(path.c_str(), 0620);  // group-writable only: still refused, as OpenSSH does
  CHECK(code_of([&] { ChannelFile::open(path, ChannelKind::kWrite); }) == ExitCode::kConfig);
  ::chmod(path.c_str(), 0600);
  CHECK(code_of([&] { ChannelFile::open(path, ChannelKind::kWrite); }) == ExitCode::kOk);
  ::chmod(path.c_str(), 0400);
  CHECK(code_of([&] { ChannelFile::open(path, ChannelKind::kWrite); }) == ExitCode::kOk);

  // Through a link the target's mode counts (a link's own mode means nothing on Linux), and the
  // chmod named is for the target.
  ::chmod(path.c_str(), 0640);
  std::filesystem::create_symlink("c.write", dir.path / "alias.write");
  m = message_of([&] { ChannelFile::open(dir.path / "alias.write", ChannelKind::kWrite); });
  CHECK_MESSAGE(m.find("`chmod 600 " + path.string() + "`") != std::string::npos, m);

  // A read channel may be shared.
  auto read = dir.path / "c.read";
  create_channel_file(read, sample_channel(ChannelKind::kRead), false);
  ::chmod(read.c_str(), 0644);
  CHECK(code_of([&] { ChannelFile::open(read, ChannelKind::kRead); }) == ExitCode::kOk);
}

TEST_CASE("channel files: replacing a pair is all or nothing") {
  TempDir dir;
  auto write = dir.path / "c.write";
  auto read = dir.path / "c.read";
  Channel old_write = sample_channel(ChannelKind::kWrite);
  Channel old_read = sample_channel(ChannelKind::kRead);
  create_channel_files({{write, &old_write}, {read, &old_read}}, false);
  const std::string write_before = slurp(write);
  Channel new_write{ChannelKind::kWrite, SecretBytes(pattern_bytes(kWriteCapSize, 2)), pattern_bytes(kMessageBoxIndexSize, 3),
                    std::nullopt, std::nullopt};
  Channel new_read{ChannelKind::kRead, SecretBytes(pattern_bytes(kReadCapSize, 2)), pattern_bytes(kMessageBoxIndexSize, 3),
                   std::nullopt, std::nullopt};

  // The second replacement fails (the name is a directory) after the first one was made.
  std::filesystem::rename(read, dir.path / "c.read.saved");
  std::filesystem::create_directory(read);
  std::string m = message_of([&] { create_channel_files({{write, &new_write}, {read, &new_read}}, true); });
  CHECK_MESSAGE(m.find("cannot replace " + read.string()) != std::string::npos, m);
  CHECK_MESSAGE(m.find("nothing was changed") != std::string::npos, m);
  CHECK(slurp(write) == write_before);
  CHECK(mode_of(write) == 0600);
  CHECK(entries_in(dir.path) == 3);  // c.write, c.read/, c.read.saved: no temporary or backup left

  // A file in use by a kpthin command is not replaced under it.
  std::filesystem::remove(read);
  std::filesystem::rename(dir.path / "c.read.saved", read);
  {
    ChannelFile in_use = ChannelFile::open(read, ChannelKind::kRead);
    m = message_of([&] { create_channel_files({{write, &new_write}, {read, &new_read}}, true); });
    CHECK_MESSAGE(m.find("in use by another kpthin command") != std::string::npos, m);
    CHECK(slurp(write) == write_before);
  }

  // When nothing fails both are replaced and nothing else is left behind.
  create_channel_files({{write, &new_write}, {read, &new_read}}, true);
  CHECK(ChannelFile::open(write, ChannelKind::kWrite).channel().index == new_write.index);
  CHECK(ChannelFile::open(read, ChannelKind::kRead).channel().index == new_read.index);
  CHECK(entries_in(dir.path) == 2);

  // Replacing through a link replaces the file it points to, in that file's directory.
  std::filesystem::create_directory(dir.path / "store");
  std::filesystem::rename(write, dir.path / "store" / "c.write");
  std::filesystem::create_symlink("store/c.write", write);
  create_channel_files({{write, &old_write}, {read, &old_read}}, true);
  CHECK(std::filesystem::is_symlink(write));
  CHECK(ChannelFile::open(dir.path / "store" / "c.write", ChannelKind::kWrite).channel().index == old_write.index);
  CHECK(entries_in(dir.path) == 3);  // c.write (link), c.read, store/
  CHECK(entries_in(dir.path / "store") == 1);
}

TEST_CASE("copy state: a damaged state file is exit 3 naming the file and the field") {
  TempDir dir;
  auto path = dir.path / "c.state";
  std::vector<Bytes> elements = {pattern_bytes(100, 1), pattern_bytes(50, 2)};
  CopyState state;
  state.temp_write_cap = SecretBytes(pattern_bytes(kWriteCapSize, 5));
  state.temp_start_index = pattern_bytes(kMessageBoxIndexSize, 6);
  state.temp_next_index = state.temp_start_index;
  state.total = elements.size();
  state.destinations.push_back({"d.write", pattern_bytes(kMessageBoxIndexSize, 7), pattern_bytes(kMessageBoxIndexSize, 8)});
  save_copy_elements(path, elements, state);
  save_copy_state(path, state);
  std::vector<Bytes> loaded;
  CHECK(load_copy_state(path, loaded).total == 2);
  CHECK(loaded == elements);
  const nlohmann::json good = nlohmann::json::parse(slurp(path));

  auto expect_damage = [&](const std::string& text, const std::string& needle) {
    spit(path, text);
    std::string m = message_of([&] { load_copy_state(path, loaded); });
    CHECK_MESSAGE(m.find(path.string()) != std::string::npos, m);
    CHECK_MESSAGE(m.find(needle) != std::string::npos, m);
    CHECK(code_of([&] { load_copy_state(path, loaded); }) == ExitCode::kConfig);
  };
  auto with = [&](const char* key, const nlohmann::json& value) {
    nlohmann::json j = good;
    j[key] = value;
    return j.dump();
  };
  auto without = [&](const char* key) {
    nlohmann::json j = good;
    j.erase(key);
    return j.dump();
  };
  expect_damage(with("elements_written", "1"), "field \"elements_written\" must be a whole number, not string");
  expect_damage(with("elements_total", -2), "field \"elements_total\" must be a whole number");
  expect_damage(with("version", "1"), "field \"version\" must be a whole number");
  expect_damage(with("version", 2), "this kpthin reads version 1");
  expect_damage(with("phase", 3), "field \"phase\" must be a string, not number");
  expect_damage(with("temp_write_capability", "***"), "field \"temp_write_capability\" is not valid base64");
  expect_damage(with("buffer", 12), "field \"buffer\" must be a string");
  expect_damage(with("elements_blake2b", nlohmann::json::array()), "field \"elements_blake2b\" must be a string");
  expect_damage(with("destinations", nlohmann::json::array({5})), "field \"destinations[0]\" must be an object");
  nlohmann::json bad_channel = good;
  bad_channel["destinations"][0]["channel"] = true;
  expect_damage(bad_channel.dump(), "field \"destinations[0].channel\" must be a string, not boolean");
  expect_damage(without("temp_next_index"), "field \"temp_next_index\" is missing");
  expect_damage(good.dump().substr(0, 40), "not valid JSON");
  expect_damage("[1, 2]", "not a JSON object");
  spit(path, good.dump());
  std::filesystem::remove(elements_path(path));
  expect_damage(good.dump(), "elements file " + elements_path(path).string() + " is missing");

  // No state file at all: nothing to resume, and how to start a copy.
  std::filesystem::remove(path);
  std::string m = message_of([&] { load_copy_state(path, loaded); });
  CHECK_MESSAGE(m.find("there is no interrupted copy to resume") != std::string::npos, m);
  CHECK_MESSAGE(m.find("kpthin copy --state " + path.string()) != std::string::npos, m);
  CHECK_MESSAGE(m.find("cannot read") == std::string::npos, m);
  CHECK(code_of([&] { load_copy_state(path, loaded); }) == ExitCode::kConfig);
}
