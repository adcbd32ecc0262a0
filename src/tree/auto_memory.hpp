#pragma once
// What "auto" learned from earlier calls of one cover-tree index: for each (k, predecessor
// mode) the tree engine its last sample or probe found cheaper, and that engine's measured
// cost per query. Calls too small to sample follow it (docs/tree.md, "auto"). It changes which
// engine answers a query, never an answer (every engine's answers are bit-identical).
// knn() is const and may run on several threads at once, so the memory is guarded.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "pcct/tree/cover_tree.hpp"

namespace pcct::tree {

struct AutoChoice {
  TreeEngine engine = TreeEngine::scan;
  double cost = 0;            // the engine's cost per query, in brute-force evaluations
  int calls_since_probe = 0;  // small calls that followed this choice without a probe
};

class AutoMemory {
 public:
  AutoMemory() { entries_.reserve(kEntries); }  // store() then never allocates

  std::optional<AutoChoice> find(std::int64_t k, bool predecessor) {
    std::lock_guard lock(mutex_);
    for (Entry& e : entries_)
      if (e.k == k && e.predecessor == predecessor) {
        e.used = ++clock_;
        return e.choice;
      }
    return std::nullopt;
  }

  // Keeps the kEntries most recently used keys.
  void store(std::int64_t k, bool predecessor, const AutoChoice& choice) {
    std::lock_guard lock(mutex_);
    Entry* slot = nullptr;
    for (Entry& e : entries_)
      if (e.k == k && e.predecessor == predecessor) slot = &e;
    if (!slot && entries_.size() < kEntries) slot = &entries_.emplace_back();
    if (!slot)
      for (Entry& e : entries_)
        if (!slot || e.used < slot->used) slot = &e;
    *slot = Entry{k, predecessor, choice, ++clock_};
  }

  // The tree changed (insert): what was measured on the old one no longer holds.
  void clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
  }

 private:
  struct Entry {
    std::int64_t k = 0;
    bool predecessor = false;
    AutoChoice choice;
    std::uint64_t used = 0;
  };
  static constexpr std::size_t kEntries = 8;
  std::mutex mutex_;
  std::vector<Entry> entries_;
  std::uint64_t clock_ = 0;
};

}  // namespace pcct::tree
