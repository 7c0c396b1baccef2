// libsodium must be initialised once before its primitives are used: every wrapper in libkpthin
// that hashes calls ensure_sodium() first (a function-local static makes this thread-safe). Its
// stateless helpers (sodium_memzero, sodium_memcmp, base64) need no initialisation, and the
// client's random identifiers come from system_random.hpp, so processes that do not hash never
// pay for sodium_init()'s CPU feature probes.
#pragma once

namespace kpthin::detail {

// Initialises libsodium exactly once. Aborts if libsodium cannot be initialised, because every
// later hash would be unsafe.
void ensure_sodium();

}  // namespace kpthin::detail
