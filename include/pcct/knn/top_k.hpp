#pragma once
/// Bounded collector of the k smallest (distance, id) pairs, ordered lexicographically so
/// that ties are broken by the smaller id. Storage is supplied by the caller (per-thread
/// arenas), so collecting allocates nothing.
#include <algorithm>
#include <limits>

#include "pcct/core/matrix_view.hpp"

namespace pcct {

struct Neighbour {
  double dist;
  index_t id;
  friend bool operator<(const Neighbour& a, const Neighbour& b) {
    return a.dist < b.dist || (a.dist == b.dist && a.id < b.id);
  }
};

class TopK {
 public:
  TopK() = default;
  /// storage holds k >= 1 entries (not checked: built once per query in the hot paths).
  TopK(Neighbour* storage, int k) : heap_(storage), k_(k) {}

  int size() const { return size_; }
  bool full() const { return size_ == k_; }
  /// Distance a candidate must not exceed to enter (+inf until full).
  double bound() const { return full() ? heap_[0].dist : std::numeric_limits<double>::infinity(); }

  /// Offers a candidate; returns true if it entered.
  bool push(double dist, index_t id) {
    const Neighbour c{dist, id};
    if (size_ < k_) {
      heap_[size_++] = c;
      std::push_heap(heap_, heap_ + size_);
      return true;
    }
    if (!(c < heap_[0])) return false;
    replace_top(c);
    return true;
  }

  /// Writes the k entries sorted ascending, padding with (-1, +inf). Destroys the heap.
  void write_sorted(index_t* ids, double* dists) {
    std::sort(heap_, heap_ + size_);
    for (int i = 0; i < size_; ++i) {
      ids[i] = heap_[i].id;
      dists[i] = heap_[i].dist;
    }
    for (int i = size_; i < k_; ++i) {
      ids[i] = -1;
      dists[i] = std::numeric_limits<double>::infinity();
    }
    size_ = 0;
  }

  /// Writes the k entries sorted ascending into `out`, padding with (+inf, -1).
  void write_sorted(Neighbour* out) {
    std::sort(heap_, heap_ + size_);
    std::copy_n(heap_, size_, out);
    std::fill(out + size_, out + k_, Neighbour{std::numeric_limits<double>::infinity(), -1});
    size_ = 0;
  }

 private:
  // Replaces the largest entry by c (smaller) in one sift-down: about half the comparisons of
  // pop_heap + push_heap, on the same binary max-heap layout as std::push_heap.
  void replace_top(const Neighbour& c) {
    int i = 0;
    for (;;) {
      const int l = 2 * i + 1;
      if (l >= size_) break;
      const int m = l + 1 < size_ && heap_[l] < heap_[l + 1] ? l + 1 : l;
      if (!(c < heap_[m])) break;
      heap_[i] = heap_[m];
      i = m;
    }
    heap_[i] = c;
  }

  Neighbour* heap_ = nullptr;
  int k_ = 0;
  int size_ = 0;
};

}  // namespace pcct
