// Random bytes straight from the kernel's CSPRNG (getrandom(2)), for identifiers the client
// makes (query ids, its instance token). libsodium's randombytes_buf() reads the same source but
// wants sodium_init(), whose CPU feature probes cost ~40 us in a virtual machine (each CPUID
// traps to the hypervisor): a connect that hashes nothing should not pay for them.
#pragma once

#include <cstddef>

namespace kpthin::detail {

// Fills `size` bytes at `out`. Aborts if the kernel refuses (no getrandom(2): Linux < 3.17),
// because an identifier must never be predictable.
void system_random(void* out, std::size_t size);

}  // namespace kpthin::detail
