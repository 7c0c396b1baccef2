// The replicas' storage: write-once boxes keyed by box id, and the courier's record of applied
// copy commands. Survives simulated restarts (the replicas and couriers are not the daemon) and,
// with persist_to(), a kill -9 of the simulator itself. Single-threaded like the rest of the
// simulator.
#pragma once

#include <cstring>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "box_log.hpp"
#include "channel_keys.hpp"
#include "kpthin/status.hpp"

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
  // Loads the boxes and applied copies recorded in `path` (see BoxLog) and records every later
  // change there before put()/put_all() return, so whatever the simulator has answered for is
  // still there after it is killed and started again on the same file.
  kpthin::Status persist_to(const std::string& path);
  const BoxLog& log() const { return log_; }

  const StoredBox* find(const BoxId& id) const;

  // What put() would do, without doing it. A tombstone may replace any content (deleting is
  // what tombstones are for); anything else may only fill an empty box or repeat its content.
  WriteOutcome check(const BoxId& id, const StoredBox& box) const;
  WriteOutcome put(const BoxId& id, StoredBox box);

  // put() for each change in order, recorded as one unit (all or none survive a crash), and,
  // if `copy` is given, the copy command with that write-cap hash marked as applied with them.
  std::vector<WriteOutcome> put_all(std::vector<std::pair<BoxId, StoredBox>> changes, const kpthin::Hash256* copy);
  bool copy_applied(const kpthin::Hash256& copy) const { return copies_.count(copy) > 0; }

  std::size_t size() const { return boxes_.size(); }

 private:
  void record(std::vector<BoxLogRecord> records);

  std::unordered_map<BoxId, StoredBox, BoxIdHash> boxes_;
  std::set<kpthin::Hash256> copies_;
  BoxLog log_;
};

}  // namespace kpsim
