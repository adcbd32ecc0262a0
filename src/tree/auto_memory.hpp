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
  int calls_since_probe = 0;  // small calls that followed this choice since it was measured
};

class AutoMemory {
 public:
  AutoMemory() { entries_.reserve(kEntries); }  // store() then never allocates

  // The choice for (k, mode) if it has been followed fewer than `max_follows` times since it
  // was measured, counting this call (read and count under one lock, so that concurrent
  // callers neither lose counts nor write an older choice back).
  std::optional<AutoChoice> follow(std::int64_t k, bool predecessor, int max_follows) {
    std::lock_guard lock(mutex_);
    Entry* e = entry(k, predecessor);
    if (!e || e->choice.calls_since_probe >= max_follows) return std::nullopt;
    e->used = ++clock_;
    ++e->choice.calls_since_probe;
    return e->choice;
  }

  // A follower measured `engine`'s cost per query anew; kept unless a concurrent call has
  // meanwhile chosen the other engine.
  void measured(std::int64_t k, bool predecessor, TreeEngine engine, double cost) {
    std::lock_guard lock(mutex_);
    Entry* e = entry(k, predecessor);
    if (e && e->choice.engine == engine) e->choice.cost = cost;
  }

  // Keeps the kEntries most recently used keys.
  void store(std::int64_t k, bool predecessor, const AutoChoice& choice) {
    std::lock_guard lock(mutex_);
    Entry* slot = entry(k, predecessor);
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
  Entry* entry(std::int64_t k, bool predecessor) {
    for (Entry& e : entries_)
      if (e.k == k && e.predecessor == predecessor) return &e;
    return nullptr;
  }

  static constexpr std::size_t kEntries = 8;
  std::mutex mutex_;
  std::vector<Entry> entries_;
  std::uint64_t clock_ = 0;
};

}  // namespace pcct::tree
