#pragma once
// Cover-tree levels: level l has radius base^l. Levels run from floor() - 1 (the
// "duplicate" level) to top(). Points within radius(floor()) of a node are treated as its
// duplicates: separation is only required between points farther apart than that.
#include <cmath>
#include <vector>

namespace pcct::tree {

class LevelScale {
 public:
  /// Levels needed below the top so that radius(floor) <= radius(top) * 1e-15.
  static int depth_for(double base) { return static_cast<int>(std::ceil(15.0 * std::log(10.0) / std::log(base))); }

  LevelScale() = default;
  LevelScale(double base, int top)
      : base_(base), log2_base_inv_(1.0 / std::log2(base)), top_(top), floor_(top - depth_for(base)) {
    fill();
  }

  double base() const { return base_; }
  int top() const { return top_; }
  int floor() const { return floor_; }
  /// base^level for level in [floor() - 1, top()].
  double radius(int level) const { return r_[level - (floor_ - 1)]; }
  /// Smallest level >= floor() whose radius is >= d (d <= radius(top()) expected).
  int level_of(double d) const {
    if (!(d > radius(floor_))) return floor_;
    // Start from the binary exponent (no log on this hot path), then step to the exact level.
    int l = static_cast<int>(std::floor(std::ilogb(d) * log2_base_inv_));
    if (l < floor_) l = floor_;
    if (l > top_) l = top_;
    while (l < top_ && radius(l) < d) ++l;
    while (l > floor_ && radius(l - 1) >= d) --l;
    return l;
  }
  /// Raises the top level (the root's level) so that radius(top) >= d.
  void raise_top_to_cover(double d) {
    while (radius(top_) < d) {
      ++top_;
      fill();
    }
  }

 private:
  void fill() {
    r_.resize(top_ - floor_ + 2);
    for (int l = floor_ - 1; l <= top_; ++l) r_[l - (floor_ - 1)] = std::pow(base_, l);
  }

  double base_ = 2.0;
  double log2_base_inv_ = 1.0;
  int top_ = 0;
  int floor_ = 0;
  std::vector<double> r_;
};

}  // namespace pcct::tree
