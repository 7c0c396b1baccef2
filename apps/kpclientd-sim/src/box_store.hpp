// The replicas' storage: write-once boxes keyed by box id. Survives simulated restarts (the
// replicas are not the daemon). Single-threaded like the rest of the simulator.
#pragma once

#include <cstring>
#include <unordered_map>

#include "channel_keys.hpp"

namespace kpsim {

struct BoxIdHash {
  std::size_t operator()(const BoxId& id) const noexcept {
    std::size_t h;
    std::memcpy(&h, id.data(), sizeof h);  // box ids are uniformly distributed hashes
    return h;
  }
};

struct StoredBox {
  bool tombstone = false;
  Bytes sealed;  // sealed payload; empty for tombstones
};

enum class WriteOutcome { kStored, kIdentical, kAlreadyExists };

class BoxStore {
 public:
  const StoredBox* find(const BoxId& id) const;

  // What put() would do, without doing it. A tombstone may replace any content (deleting is
  // what tombstones are for); anything else may only fill an empty box or repeat its content.
  WriteOutcome check(const BoxId& id, const StoredBox& box) const;
  WriteOutcome put(const BoxId& id, StoredBox box);

  std::size_t size() const { return boxes_.size(); }

 private:
  std::unordered_map<BoxId, StoredBox, BoxIdHash> boxes_;
};

}  // namespace kpsim
