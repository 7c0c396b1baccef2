#include "box_store.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace kpsim {

kpthin::Status BoxStore::persist_to(const std::string& path) {
  auto status = log_.open(path, [this](const BoxLogRecord& r) {
    switch (r.kind) {
      case BoxLogRecord::Kind::kBox: boxes_[r.id] = StoredBox{false, r.sealed}; break;
      case BoxLogRecord::Kind::kTombstone: boxes_[r.id] = StoredBox{true, {}}; break;
      case BoxLogRecord::Kind::kCopyApplied: copies_.insert(r.id); break;
    }
  });
  if (status.ok() && log_.torn_bytes_dropped())
    spdlog::warn("box store {}: dropped a torn last record ({} bytes) left by a crash", path, log_.torn_bytes_dropped());
  return status;
}

const StoredBox* BoxStore::find(const BoxId& id) const {
  const auto it = boxes_.find(id);
  return it == boxes_.end() ? nullptr : &it->second;
}

WriteOutcome BoxStore::check(const BoxId& id, const StoredBox& box) const {
  const StoredBox* existing = find(id);
  if (!existing) return WriteOutcome::kStored;
  if (existing->tombstone == box.tombstone && existing->sealed == box.sealed) return WriteOutcome::kIdentical;
  if (box.tombstone) return WriteOutcome::kStored;
  return WriteOutcome::kAlreadyExists;
}

WriteOutcome BoxStore::put(const BoxId& id, StoredBox box) {
  std::vector<std::pair<BoxId, StoredBox>> one;
  one.emplace_back(id, std::move(box));
  return put_all(std::move(one), nullptr).front();
}

std::vector<WriteOutcome> BoxStore::put_all(std::vector<std::pair<BoxId, StoredBox>> changes,
                                            const kpthin::Hash256* copy) {
  std::vector<WriteOutcome> outcomes;
  std::vector<BoxLogRecord> records;
  for (auto& [id, box] : changes) {
    const WriteOutcome outcome = check(id, box);
    outcomes.push_back(outcome);
    if (outcome != WriteOutcome::kStored) continue;
    if (log_.is_open())
      records.push_back({box.tombstone ? BoxLogRecord::Kind::kTombstone : BoxLogRecord::Kind::kBox, id, box.sealed});
    boxes_[id] = std::move(box);
  }
  if (copy) {
    copies_.insert(*copy);
    if (log_.is_open()) records.push_back({BoxLogRecord::Kind::kCopyApplied, *copy, {}});
  }
  record(std::move(records));
  return outcomes;
}

void BoxStore::record(std::vector<BoxLogRecord> records) {
  // A replica that cannot store must not answer as if it had: stop before any reply goes out.
  if (auto status = log_.append(records); !status.ok()) {
    spdlog::critical("{}; stopping so that no reply claims a box that is not stored", status.message());
    std::exit(1);
  }
}

}  // namespace kpsim
