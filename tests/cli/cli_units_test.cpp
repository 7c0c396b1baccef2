// Unit tests of the CLI's plumbing: durations, exit-code mapping, channel files, pigeonhole-cp
// genkey text, file framing and the input splitter. No daemon needed.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include "channel_file.hpp"
#include "duration.hpp"
#include "exit_codes.hpp"
#include "file_framing.hpp"
#include "genkey_text.hpp"
#include "input_splitter.hpp"
#include "cli_test_support.hpp"
#include "kpthin/errors.hpp"

using namespace kpthin;
using namespace kpthin::cli;
using namespace kpthin::cli::test;
using std::chrono::milliseconds;

TEST_CASE("durations: units, combinations and refusals") {
  CHECK(parse_duration("30s") == milliseconds(30'000));
  CHECK(parse_duration("2m") == milliseconds(120'000));
  CHECK(parse_duration("500ms") == milliseconds(500));
  CHECK(parse_duration("1h") == milliseconds(3'600'000));
  CHECK(parse_duration("1m30s") == milliseconds(90'000));
  CHECK(parse_duration("1.5s") == milliseconds(1'500));
  CHECK(parse_duration("10") == milliseconds(10'000));
  CHECK(parse_duration("0s") == milliseconds(0));
  CHECK(parse_duration("0.4ms") == milliseconds(0));  // fractions of a millisecond round half up
  CHECK(parse_duration("0.5ms") == milliseconds(1));
  CHECK(parse_duration("2.5ms") == milliseconds(3));
  CHECK(parse_duration("1.0015s") == milliseconds(1'002));
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("5 s"));
  CHECK_FALSE(parse_duration("5x"));
  CHECK_FALSE(parse_duration("1m30"));
  CHECK_FALSE(parse_duration("1..2s"));
  CHECK_FALSE(parse_duration("99999999999h"));
  CHECK(format_duration(milliseconds(250)) == "250ms");
  CHECK(format_duration(milliseconds(1500)) == "1.5s");
  CHECK(format_duration(milliseconds(123'000)) == "2m03s");
}

TEST_CASE("exit codes: every kpthin error class maps to its documented code") {
  CHECK(exit_code_for(Status()) == ExitCode::kOk);
  CHECK(exit_code_for(Status(make_error_code(replica_errc::box_id_not_found))) == ExitCode::kBoxNotFound);
  CHECK(exit_code_for(Status(make_error_code(replica_errc::tombstone))) == ExitCode::kTombstone);
  CHECK(exit_code_for(Status(make_error_code(replica_errc::box_already_exists))) == ExitCode::kBoxAlreadyExists);
  CHECK(exit_code_for(Status(make_error_code(replica_errc::storage_full))) == ExitCode::kProtocol);
  CHECK(exit_code_for(Status(make_error_code(thin_errc::copy_command_failed))) == ExitCode::kCopyFailed);
  CHECK(exit_code_for(Status(make_error_code(thin_errc::invalid_request))) == ExitCode::kProtocol);
  CHECK(exit_code_for(Status(make_error_code(thin_errc::connection_lost))) == ExitCode::kDaemonUnreachable);
  CHECK(exit_code_for(Status(make_error_code(thin_errc::payload_too_large))) == ExitCode::kUsage);
  CHECK(exit_code_for(Status(make_error_code(local_errc::timeout))) == ExitCode::kTimeout);
  CHECK(exit_code_for(Status(make_error_code(local_errc::cancelled))) == ExitCode::kInterrupted);
  CHECK(exit_code_for(Status(make_error_code(local_errc::dial_failed))) == ExitCode::kDaemonUnreachable);
  CHECK(exit_code_for(Status(make_error_code(local_errc::disconnected))) == ExitCode::kDaemonUnreachable);
  CHECK(exit_code_for(Status(make_error_code(local_errc::config_invalid))) == ExitCode::kConfig);
  CHECK(exit_code_for(Status(make_error_code(local_errc::malformed_message))) == ExitCode::kProtocol);
  CHECK(exit_code_for(Status(make_error_code(local_errc::io_error))) == ExitCode::kOther);
  CHECK(exit_code_for(Status(std::error_code(ECONNREFUSED, std::system_category()))) == ExitCode::kDaemonUnreachable);
  CHECK(static_cast<int>(ExitCode::kInterrupted) == 130);
  // fail_status keeps the code and says what was being done plus a hint.
  std::string m = message_of([] { fail_status(Status(make_error_code(local_errc::timeout), "waited"), "reading x"); });
  CHECK(m.find("reading x") == 0);
  CHECK(m.find("--timeout") != std::string::npos);
}

TEST_CASE("channel files: round trip, mode 0600, atomic save, strict parsing") {
  TempDir dir;
  auto path = dir.path / "c.write";
  create_channel_file(path, sample_channel(ChannelKind::kWrite), false);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // Never replaced silently.
  CHECK(code_of([&] { create_channel_file(path, sample_channel(ChannelKind::kWrite), false); }) == ExitCode::kUsage);

  {
    ChannelFile file = ChannelFile::open(path, ChannelKind::kWrite);
    CHECK(file.channel().kind == ChannelKind::kWrite);
    CHECK(file.channel().capability.size() == kWriteCapSize);
    CHECK(file.channel().index == pattern_bytes(kMessageBoxIndexSize, 9));
    Bytes next = pattern_bytes(kMessageBoxIndexSize, 77);
    file.save_index(view(next));
    CHECK(file.channel().index == next);
  }
  ChannelFile again = ChannelFile::open(path, std::nullopt);
  CHECK(again.channel().index == pattern_bytes(kMessageBoxIndexSize, 77));
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // No temporary files left behind.
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("channel files: wrong kind is a usage error naming the right file") {
  TempDir dir;
  auto path = dir.path / "c.read";
  create_channel_file(path, sample_channel(ChannelKind::kRead), false);
  std::string m = message_of([&] { ChannelFile::open(path, ChannelKind::kWrite); });
  CHECK(m.find("is a read channel") != std::string::npos);
  CHECK(code_of([&] { ChannelFile::open(path, ChannelKind::kWrite); }) == ExitCode::kUsage);
}

TEST_CASE("channel files: damage is detected (exit 3) and the file is left alone") {
  TempDir dir;
  auto path = dir.path / "c.write";
  create_channel_file(path, sample_channel(ChannelKind::kWrite), false);
  const std::string good = slurp(path);

  auto expect_config_error = [&](const std::string& text, const char* needle) {
    spit(path, text);
    std::string m = message_of([&] { ChannelFile::open(path, std::nullopt); });
    CHECK_MESSAGE(m.find(needle) != std::string::npos, m);
    CHECK(code_of([&] { ChannelFile::open(path, std::nullopt); }) == ExitCode::kConfig);
    CHECK(slurp(path) == text);
  };
  expect_config_error(good.substr(0, good.size() / 2), "invalid");                 // truncated
  expect_config_error(good + "extra = \"x\"\n", "unknown key \"extra\"");
  std::string tampered = good;
  std::size_t cap_at = tampered.find("capability = \"") + 20;
  tampered[cap_at] = tampered[cap_at] == 'A' ? 'B' : 'A';
  expect_config_error(tampered, "checksum");
  // A capability of the wrong size (a read cap in a write file).
  Channel wrong = sample_channel(ChannelKind::kRead);
  std::string text = format_channel(wrong);
  std::size_t k = text.find("kind = \"read\"");
  text.replace(k, 13, "kind = \"write\"");
  expect_config_error(text, "168 bytes, this one 136");
  expect_config_error("kind = \"sideways\"\n", "kind must be");
  expect_config_error("", "missing key");
  CHECK(code_of([&] { ChannelFile::open(dir.path / "absent.write", std::nullopt); }) == ExitCode::kConfig);
}

TEST_CASE("channel files: the read capability and the first index survive load and save") {
  TempDir dir;
  auto path = dir.path / "c.write";
  Channel channel = sample_channel(ChannelKind::kWrite);
  channel.read_capability = pattern_bytes(kReadCapSize, 5);
  channel.first_index = pattern_bytes(kMessageBoxIndexSize, 11);
  create_channel_file(path, channel, false);
  const std::string text = slurp(path);
  CHECK(text.find("read_capability = \"" + to_base64(view(*channel.read_capability)) + "\"") != std::string::npos);
  CHECK(text.find("first_index = \"" + to_base64(view(*channel.first_index)) + "\"") != std::string::npos);
  {
    ChannelFile file = ChannelFile::open(path, ChannelKind::kWrite);
    REQUIRE(file.channel().read_capability);
    CHECK(*file.channel().read_capability == *channel.read_capability);
    REQUIRE(file.channel().first_index);
    CHECK(*file.channel().first_index == *channel.first_index);
    file.save_index(view(pattern_bytes(kMessageBoxIndexSize, 77)));
  }
  // Saving a position keeps both.
  ChannelFile again = ChannelFile::open(path, ChannelKind::kWrite);
  CHECK(again.channel().index == pattern_bytes(kMessageBoxIndexSize, 77));
  REQUIRE(again.channel().read_capability);
  CHECK(*again.channel().read_capability == *channel.read_capability);
  REQUIRE(again.channel().first_index);
  CHECK(*again.channel().first_index == *channel.first_index);

  // A read file has a first index too, but no second capability.
  Channel reader = sample_channel(ChannelKind::kRead);
  reader.first_index = pattern_bytes(kMessageBoxIndexSize, 11);
  Channel parsed = parse_channel(format_channel(reader), "r.read");
  REQUIRE(parsed.first_index);
  CHECK(*parsed.first_index == *reader.first_index);
  CHECK(!parsed.read_capability);
  reader.kind = ChannelKind::kWrite;  // formatting does not check, parsing does
  std::string misplaced = format_channel(Channel{ChannelKind::kRead, reader.capability, reader.index,
                                                 pattern_bytes(kReadCapSize, 5), std::nullopt});
  CHECK(message_of([&] { parse_channel(misplaced, "r.read"); }).find("read_capability belongs in a write") !=
        std::string::npos);
}

TEST_CASE("channel files: older files without the new keys still load and keep their format") {
  TempDir dir;
  auto path = dir.path / "old.write";
  // Written by an older kpthin: kind, capability, index and the v1 checksum only (the sum was
  // computed independently: BLAKE2b-256 of "kpthin-channel-v1", 0, "write", 0, cap, index).
  spit(path, "kind = \"write\"\ncapability = \"" + to_base64(view(pattern_bytes(kWriteCapSize, 1))) +
                 "\"\nindex = \"" + to_base64(view(pattern_bytes(kMessageBoxIndexSize, 9))) +
                 "\"\nchecksum = \"7e2e54eb67ef0fd5\"\n");
  ::chmod(path.c_str(), 0600);
  {
    ChannelFile file = ChannelFile::open(path, ChannelKind::kWrite);
    CHECK(!file.channel().read_capability);
    CHECK(!file.channel().first_index);
    file.save_index(view(pattern_bytes(kMessageBoxIndexSize, 78)));
  }
  // Still in the old format, so an older kpthin can go on using it.
  const std::string saved = slurp(path);
  CHECK(saved.find("read_capability") == std::string::npos);
  CHECK(saved.find("first_index") == std::string::npos);
  CHECK(ChannelFile::open(path, ChannelKind::kWrite).channel().index == pattern_bytes(kMessageBoxIndexSize, 78));
}

TEST_CASE("channel files: the new keys are checked like the others") {
  Channel channel = sample_channel(ChannelKind::kWrite);
  channel.read_capability = pattern_bytes(kReadCapSize, 5);
  channel.first_index = pattern_bytes(kMessageBoxIndexSize, 11);
  const std::string good = format_channel(channel);
  auto config_error = [&](const std::string& text, const char* needle) {
    std::string m = message_of([&] { parse_channel(text, "c.write"); });
    CHECK_MESSAGE(m.find(needle) != std::string::npos, m);
    CHECK(code_of([&] { parse_channel(text, "c.write"); }) == ExitCode::kConfig);
  };
  // Edited first index: the checksum covers it.
  std::string edited = good;
  std::size_t at = edited.find("first_index = \"") + 20;
  edited[at] = edited[at] == 'A' ? 'B' : 'A';
  config_error(edited, "checksum");
  // Dropped read capability: the checksum covers its presence.
  std::string dropped = good;
  std::size_t from = dropped.find("read_capability");
  dropped.erase(from, dropped.find('\n', from) + 1 - from);
  config_error(dropped, "checksum");
  // Wrong size.
  Channel short_cap = channel;
  short_cap.read_capability = pattern_bytes(kReadCapSize - 1, 5);
  config_error(format_channel(short_cap), "a read capability has 136 bytes, this one 135");
  Channel short_first = channel;
  short_first.first_index = pattern_bytes(12, 5);
  config_error(format_channel(short_first), "first_index 12");
}

TEST_CASE("channel files: a second opener waits for the lock and sees the saved index") {
  TempDir dir;
  auto path = dir.path / "c.write";
  create_channel_file(path, sample_channel(ChannelKind::kWrite), false);
  ChannelFile holder = ChannelFile::open(path, ChannelKind::kWrite);
  CHECK(code_of([&] { ChannelFile::open(path, ChannelKind::kWrite, milliseconds(30)); }) == ExitCode::kTimeout);
  Bytes next = pattern_bytes(kMessageBoxIndexSize, 42);
  holder.save_index(view(next));
  // Still locked after the replace: the lock moved to the new inode.
  CHECK(code_of([&] { ChannelFile::open(path, ChannelKind::kWrite, milliseconds(30)); }) == ExitCode::kTimeout);
  {
    ChannelFile released = std::move(holder);
  }
  ChannelFile next_opener = ChannelFile::open(path, ChannelKind::kWrite, milliseconds(0));
  CHECK(next_opener.channel().index == next);
}

TEST_CASE("genkey text: pigeonhole-cp format round trip, partial texts, bad sizes") {
  GenkeyText values{pattern_bytes(kReadCapSize, 3), SecretBytes(pattern_bytes(kWriteCapSize, 4)),
                    pattern_bytes(kMessageBoxIndexSize, 5)};
  std::string text = format_genkey_text(values);
  CHECK(text.starts_with("Read Capability (share with recipient):\n"));
  CHECK(text.find("\n\nWrite Capability (keep secret):\n") != std::string::npos);
  CHECK(text.find("\n\nFirst Index:\n") != std::string::npos);
  GenkeyText back = parse_genkey_text(text, "t");
  CHECK(*back.read_cap == *values.read_cap);
  CHECK(back.write_cap->reveal().size() == kWriteCapSize);
  CHECK(*back.index == *values.index);

  // Read capability only, no First Index: the index comes from the capability's tail.
  std::string only_read = "Read Capability (share with recipient):\n" + to_base64(view(*values.read_cap)) + "\n";
  GenkeyText r = parse_genkey_text(only_read, "t");
  CHECK_FALSE(r.write_cap);
  CHECK(*r.index == index_embedded_in(view(*values.read_cap)));

  CHECK(code_of([] { parse_genkey_text("hello\n", "t"); }) == ExitCode::kUsage);
  CHECK(code_of([] { parse_genkey_text("Read Capability:\nAAAA\n", "t"); }) == ExitCode::kUsage);
  CHECK(code_of([] { parse_genkey_text("Write Capability:\n!!!\n", "t"); }) == ExitCode::kUsage);
  CHECK(message_of([] { parse_genkey_text("Read Capability:\nAAAA\n", "t"); }).find("136 bytes") != std::string::npos);
}

TEST_CASE("file framing: pigeonhole-cp's CBOR {name,size} header") {
  Bytes header = encode_file_header({"photo.jpg", 4096});
  // serde_cbor: map(2) "name" text "size" uint16
  Bytes expected = {0xa2, 0x64, 'n', 'a', 'm', 'e', 0x69, 'p', 'h', 'o', 't', 'o', '.', 'j', 'p', 'g',
                    0x64, 's', 'i', 'z', 'e', 0x19, 0x10, 0x00};
  CHECK(header == expected);
  Bytes box = header;
  box.push_back('x');
  std::size_t length = 0;
  auto decoded = decode_file_header(view(box), length);
  REQUIRE(decoded);
  CHECK(decoded->name == "photo.jpg");
  CHECK(decoded->size == 4096);
  CHECK(length == header.size());
  // Key order does not matter; anything else is refused.
  Bytes swapped = {0xa2, 0x64, 's', 'i', 'z', 'e', 0x01, 0x64, 'n', 'a', 'm', 'e', 0x61, 'a'};
  REQUIRE(decode_file_header(view(swapped), length));
  Bytes truncated(header.begin(), header.end() - 2);
  CHECK_FALSE(decode_file_header(view(truncated), length));
  Bytes not_a_map = {'h', 'i'};
  CHECK_FALSE(decode_file_header(view(not_a_map), length));
  CHECK(unsafe_file_name_reason("ok.txt").empty());
  CHECK_FALSE(unsafe_file_name_reason("../x").empty());
  CHECK_FALSE(unsafe_file_name_reason("..").empty());
  CHECK_FALSE(unsafe_file_name_reason("a\nb").empty());
  CHECK_FALSE(unsafe_file_name_reason(std::string(256, 'a')).empty());
}

namespace {
std::vector<std::string> split_all(const std::string& input, SplitMode mode, std::size_t limit) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < input.size()) {
      ssize_t n = ::write(fds[1], input.data() + off, std::min<std::size_t>(input.size() - off, 1000));
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
  });
  std::vector<std::string> out;
  InputSplitter splitter(fds[0], mode, limit);
  try {
    while (auto m = splitter.next()) out.emplace_back(m->begin(), m->end());
  } catch (...) {
    writer.join();
    ::close(fds[0]);
    throw;
  }
  writer.join();
  ::close(fds[0]);
  return out;
}
}  // namespace

TEST_CASE("input splitter: lines keep their newline, chunks are exact, long lines refused") {
  CHECK(parse_split("lines")->lines);
  CHECK(parse_split("4k")->chunk == 4096);
  CHECK(parse_split("100")->chunk == 100);
  CHECK(parse_split("box")->chunk == 0);
  CHECK_FALSE(parse_split("0"));
  CHECK_FALSE(parse_split("words"));

  std::string input;
  for (int i = 1; i <= 5000; ++i) input += std::to_string(i) + "\n";
  input += "tail-without-newline";
  auto lines = split_all(input, SplitMode{true, 0}, 100);
  REQUIRE(lines.size() == 5001);
  CHECK(lines[0] == "1\n");
  CHECK(lines.back() == "tail-without-newline");
  std::string joined;
  for (auto& l : lines) joined += l;
  CHECK(joined == input);

  auto chunks = split_all(input, SplitMode{false, 333}, 1000);
  for (std::size_t i = 0; i + 1 < chunks.size(); ++i) CHECK(chunks[i].size() == 333);
  joined.clear();
  for (auto& c : chunks) joined += c;
  CHECK(joined == input);

  CHECK(split_all("", SplitMode{true, 0}, 10).empty());
  std::string long_line(50, 'x');
  CHECK(code_of([&] { split_all("ok\n" + long_line + "\n", SplitMode{true, 0}, 20); }) == ExitCode::kUsage);
  CHECK(code_of([&] { split_all(long_line, SplitMode{true, 0}, 20); }) == ExitCode::kUsage);
  CHECK(message_of([&] { split_all("ok\n" + long_line + "\n", SplitMode{true, 0}, 20); }).find("line 2") !=
        std::string::npos);
}
