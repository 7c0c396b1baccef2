#include "system_random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace kpthin::detail {

void system_random(void* out, std::size_t size) {
  auto* p = static_cast<std::uint8_t*>(out);
  while (size > 0) {
    // Requests above 256 bytes may return short, and a signal may interrupt any of them.
    const ssize_t n = ::getrandom(p, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace kpthin::detail
