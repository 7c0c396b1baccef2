// libsodium must be initialised once before use; every wrapper in libkpthin that touches
// libsodium calls ensure_sodium() first (a function-local static makes this thread-safe).
#pragma once

namespace kpthin::detail {

// Initialises libsodium exactly once. Aborts if libsodium cannot be initialised, because every
// later call (CSPRNG, hashing, wiping) would be unsafe.
void ensure_sodium();

}  // namespace kpthin::detail
