// Targets for command-line values and the input splitter.
#include <sys/mman.h>
#include <unistd.h>

#include "duration.hpp"
#include "exit_codes.hpp"
#include "fuzz_targets.hpp"
#include "input_splitter.hpp"

namespace kpthin::fuzz {
namespace {

std::string text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A file descriptor reading `bytes` (a memory file, rewound), closed on destruction.
struct MemoryInput {
  int fd;
  explicit MemoryInput(ByteView bytes) : fd(::memfd_create("kpthin-fuzz", MFD_CLOEXEC)) {
    expect(fd >= 0, "memfd_create failed");
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      expect(n > 0, "write to memfd failed");
      done += static_cast<std::size_t>(n);
    }
    ::lseek(fd, 0, SEEK_SET);
  }
  ~MemoryInput() { ::close(fd); }
};

}  // namespace

int duration(const std::uint8_t* data, std::size_t size) {
  auto parsed = cli::parse_duration(text_of(data, size));
  if (!parsed) return 0;
  expect(parsed->count() >= 0, "a parsed duration is negative");
  expect(!cli::format_duration(*parsed).empty(), "a duration formats as nothing");
  return 0;
}

int split_spec(const std::uint8_t* data, std::size_t size) {
  auto mode = cli::parse_split(text_of(data, size));
  if (mode) expect(!(mode->lines && mode->chunk != 0), "--split gave both lines and a chunk size");
  return 0;
}

// The first byte picks the mode and the box limit; the rest is the input. The messages must
// concatenate back to the input, none over the limit, chunks full except the last.
int input_splitter(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  cli::SplitMode mode;
  mode.lines = (data[0] & 1) != 0;
  std::size_t limit = 1 + (data[0] >> 1) % 64;
  if (!mode.lines) mode.chunk = (data[0] & 2) ? 0 : 1 + (data[0] >> 2) % limit;
  ByteView input(data + 1, size - 1);
  MemoryInput in(input);
  cli::InputSplitter splitter(in.fd, mode, limit);
  Bytes joined;
  std::size_t chunk = mode.lines ? 0 : mode.chunk ? std::min(mode.chunk, limit) : limit;
  std::size_t short_chunks = 0;
  try {
    while (auto message = splitter.next()) {
      expect(!message->empty() && message->size() <= limit, "a message is empty or over the limit");
      if (mode.lines) {
        auto newline = std::find(message->begin(), message->end(), '\n');
        expect(newline == message->end() || newline + 1 == message->end(), "a line message holds two lines");
      } else if (message->size() != chunk) {
        ++short_chunks;
      }
      joined.insert(joined.end(), message->begin(), message->end());
    }
  } catch (const cli::CliError& e) {
    expect(mode.lines && e.code() == cli::ExitCode::kUsage, std::string("unexpected splitter error: ") + e.what());
    return 0;
  }
  expect(short_chunks <= 1, "more than one short chunk");
  expect(joined.size() == input.size() && std::equal(joined.begin(), joined.end(), input.begin()),
         "messages do not concatenate back to the input");
  expect(splitter.messages() > 0 || input.empty(), "message count wrong");
  return 0;
}

}  // namespace kpthin::fuzz
