// A second, independent CBOR decoder (libcbor underneath) to check libkpthin's against.
#pragma once

#include "cbor_value.hpp"
#include "kpthin/bytes.hpp"
#include "kpthin/status.hpp"

namespace kpthin::fuzz {

// What cbor::decode returned before issue 13 for `input`: the same tree, or the same error.
Result<cbor::Value> decode_with_libcbor(ByteView input, const cbor::DecodeLimits& limits = {});

}  // namespace kpthin::fuzz
