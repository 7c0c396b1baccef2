#include "box_store.hpp"

namespace kpsim {

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
  const WriteOutcome outcome = check(id, box);
  if (outcome == WriteOutcome::kStored) boxes_[id] = std::move(box);
  return outcome;
}

}  // namespace kpsim
