// kpclientd-sim --store: boxes live on replicas, not in kpclientd, so they must outlive a kill -9
// of the simulator; and the log format itself (torn last record, damage, foreign files).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "box_log.hpp"
#include "sim_ops.hpp"

using namespace kpthin;
using namespace kpsim_test;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the temp dir, removed with its content.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "kpsim-store-XXXXXX").string();
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<kpsim::BoxLogRecord> load(const fs::path& file, kpthin::Status* status = nullptr, std::uint64_t* torn = nullptr) {
  std::vector<kpsim::BoxLogRecord> seen;
  kpsim::BoxLog log;
  auto s = log.open(file.string(), [&](const kpsim::BoxLogRecord& r) { seen.push_back(r); });
  if (status) *status = s;
  if (torn) *torn = log.torn_bytes_dropped();
  return seen;
}

// Opens the log at `file` (replaying nothing) and appends each batch with one append().
void append_batches(const fs::path& file, const std::vector<std::vector<kpsim::BoxLogRecord>>& batches) {
  kpsim::BoxLog log;
  REQUIRE(log.open(file.string(), [](const kpsim::BoxLogRecord&) {}).ok());
  for (const auto& batch : batches) REQUIRE(log.append(batch).ok());
}

kpsim::BoxLogRecord box_record(std::uint8_t id, std::string_view sealed) {
  kpsim::BoxLogRecord r;
  r.id.fill(id);
  r.sealed.assign(sealed.begin(), sealed.end());
  return r;
}

}  // namespace

TEST_CASE("--store: written boxes, tombstones and applied copies survive kill -9 and restart") {
  TempDir dir;
  const std::string store = (dir.path / "boxes").string();
  Bytes second_index;
  {
    SimProcess sim({"--store", store});
    RawClient c(sim.target());
    c.handshake(token_of(1));
    const RawChannel ch = raw_keypair(c, 1);
    CHECK(write_box(c, ch, ch.first_index, bytes_of("before the crash")) == 0);
    NextMessageBoxIndex n;
    n.message_box_index = ch.first_index;
    second_index = c.call<NextMessageBoxIndexReply>(n)->next_message_box_index;
    const Encrypted tomb = encrypt_write(c, ch, second_index, {});
    CHECK(resend(c, write_request(ch, tomb))->error_code == 0);

    const RawChannel dest = raw_keypair(c, 2);
    const RawChannel temp = raw_keypair(c, 3);
    write_stream(c, temp, copy_elements(c, dest, bytes_of("copied before the crash")));
    CHECK(copy_command(c, temp)->error_code == 0);
    CHECK(sim.stat("copies_applied") == 1);
    CHECK(sim.terminate(SIGKILL) == 128 + SIGKILL);
  }
  SimProcess sim({"--store", store});
  CHECK(sim.stat("boxes") > 0);
  RawClient c(sim.target());
  c.handshake(token_of(1));
  const RawChannel ch = raw_keypair(c, 1);
  CHECK(*read_box(c, ch, ch.first_index)->plaintext == bytes_of("before the crash"));
  CHECK(read_box(c, ch, second_index)->error_code == 11);  // the tombstone
  // Write-once across the restart: other content in the stored box is refused.
  CHECK(write_box(c, ch, ch.first_index, bytes_of("other"), true) == 10);
  // The courier remembers the applied copy: a replay succeeds without applying it again.
  const RawChannel dest = raw_keypair(c, 2);
  const RawChannel temp = raw_keypair(c, 3);
  CHECK(copy_command(c, temp)->error_code == 0);
  CHECK(sim.stat("copies_applied") == 0);
  CHECK(*read_box(c, dest, dest.first_index)->plaintext == bytes_of("copied before the crash"));
  CHECK(fs::status(store).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("--store: without the flag nothing survives a restart of the process") {
  // The control for the test above: a fresh sim has none of the old boxes.
  SimProcess first;
  RawClient c(first.target());
  c.handshake(token_of(2));
  const RawChannel ch = raw_keypair(c, 4);
  CHECK(write_box(c, ch, ch.first_index, bytes_of("memory only")) == 0);
  CHECK(first.terminate(SIGKILL) == 128 + SIGKILL);
  SimProcess second;
  RawClient again(second.target());
  again.handshake(token_of(2));
  CHECK(read_box(again, ch, ch.first_index)->error_code == 1);  // BoxIDNotFound
}

TEST_CASE("box log: a torn last record is dropped, the rest replays, appends continue") {
  TempDir dir;
  const fs::path file = dir.path / "log";
  kpsim::BoxLogRecord copy;
  copy.kind = kpsim::BoxLogRecord::Kind::kCopyApplied;
  copy.id.fill(9);
  append_batches(file, {{box_record(1, "one")}, {box_record(2, "two"), copy}});
  const auto whole = fs::file_size(file);
  CHECK(load(file).size() == 3);

  for (std::uintmax_t cut : {1, 5, 16, 40}) {
    CAPTURE(cut);
    fs::copy_file(file, dir.path / "torn", fs::copy_options::overwrite_existing);
    fs::resize_file(dir.path / "torn", whole - cut);
    kpthin::Status status;
    std::uint64_t torn = 0;
    const auto seen = load(dir.path / "torn", &status, &torn);
    CHECK(status.ok());
    CHECK(torn > 0);
    REQUIRE(seen.size() == 2);  // "one", "two"; the copy record was torn
    CHECK(seen[1].sealed == bytes_of("two"));
    CHECK(fs::file_size(dir.path / "torn") < whole - cut);  // truncated to whole records
  }
  // After dropping a torn record, new appends are read back after the surviving ones.
  append_batches(dir.path / "torn", {{box_record(3, "three")}});
  const auto seen = load(dir.path / "torn");
  REQUIRE(seen.size() == 3);
  CHECK(seen[2].sealed == bytes_of("three"));
}

TEST_CASE("box log: damage before the last record and foreign files are refused") {
  TempDir dir;
  const fs::path file = dir.path / "log";
  append_batches(file, {{box_record(1, "first record")}, {box_record(2, "second record")}});
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);  // inside the first record's id
    f.put('\x7f');
  }
  kpthin::Status status;
  load(file, &status);
  CHECK_FALSE(status.ok());
  CHECK(status.message().find("damaged") != std::string::npos);

  std::ofstream(dir.path / "other") << "not a box store\n";
  load(dir.path / "other", &status);
  CHECK_FALSE(status.ok());
  CHECK(status.message().find("not a kpclientd-sim box store") != std::string::npos);
}
