#pragma once
// Rigorous subtree exclusion tests, one policy per metric (docs/tree.md, "Pruning").
//
// excluded(q, node, d_qc, aux_qc, t) returns true only if every point x in the subtree of
// `node` has a *computed* distance d(q, x) > t. It uses the triangle inequality of the exact
// metric and bounds on how far computed distances can be from exact ones, so rounding can
// never drop a true neighbour.
#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "pcct/metric/euclidean_space.hpp"
#include "pcct/metric/residual_space.hpp"

namespace pcct::tree {

constexpr double kUnit = 0x1p-53;  // unit roundoff of float64

/// Bounds (in the space of exact distances, or exact angles for the residual metric) of the
/// parent-child distance of a node and of its subtree radius.
struct Child {
  double lo = 0, hi = 0, reach = 0;
};
/// Bounds of the exact query-parent distance, and the largest exact distance a point at
/// computed distance <= t from the query can have. No point in the subtree of a child with
/// bounds c can be within t of the query when max(lo - c.hi, c.lo - hi) - c.reach > thr
/// (the triangle inequality through the parent; tested a SIMD vector of children at a time by
/// simd::Table::child_mask).
struct Visit {
  double lo = 0, hi = 0, thr = 0;
};

template <class Space>
struct PruneBounds;

// Euclidean: a computed distance is within a relative (dim + 8) u (doubled for safety) of the
// exact one, plus an absolute eta for squared terms that fall into float64's subnormal range
// (coordinates ~1e-154 apart or closer): each such rounding errs by up to 2^-1075 absolute,
// so the sum by (dim + 8) 2^-1075 and its square root by sqrt(dim + 8) 2^-537.5. Without eta,
// points ~1e-161 apart got wrong neighbours; elsewhere eta (~1e-161) changes nothing.
template <>
struct PruneBounds<EuclideanSpace> {
  struct Node {
    double rad = 0;  // max computed d(node, x) over the subtree
  };
  struct Query {};

  double delta = 0;  // relative error bound (with a safety factor of 2)
  double eta = 0;    // absolute error bound from subnormal squares (with a safety factor of 2)

  explicit PruneBounds(const EuclideanSpace& s)
      : delta(2.0 * (s.dim() + 8) * kUnit), eta(2.0 * std::sqrt(s.dim() + 8.0) * 0x1p-537) {}
  /// The bounds of the same points in another row order (nothing here depends on rows).
  PruneBounds permuted(std::span<const index_t> /*order*/) const { return *this; }
  Query query(const EuclideanSpace&, index_t) const { return {}; }
  Query indexed_query(index_t) const { return {}; }
  void init_node(Node& n, index_t /*row*/) const { n.rad = 0; }
  void absorb(Node& n, double d, double /*aux*/, const Node& /*child*/) const { n.rad = std::max(n.rad, d); }
  static double radius(const Node& n) { return n.rad; }
  void finalize(Node&) const {}
  static bool same(const Node& a, const Node& b) { return a.rad == b.rad; }

  // Bounds of the exact distance behind a computed one, d.
  double exact_lo(double d) const { return d * (1 - delta) - eta; }
  double exact_up(double d) const { return d * (1 + delta) + eta; }
  // The largest exact distance a point at computed distance <= t from the query can have.
  double exact_hi(double t) const { return (t + eta) * (1 + delta) * (1 + delta); }

  bool excluded(const Query&, const Node& n, double d_qc, double /*aux*/, double t) const {
    if (!(t < std::numeric_limits<double>::infinity())) return false;
    return exact_lo(d_qc) - exact_up(n.rad) > exact_hi(t) + std::numeric_limits<double>::min();
  }

  // Parent-child test: bounds on exact distances let a child's subtree be excluded from the
  // parent's distance alone (triangle inequality through the parent), before evaluating it.
  Child child(const Node& c, double d_pc, double /*aux*/, index_t, index_t) const {
    return {exact_lo(d_pc), exact_up(d_pc), exact_up(c.rad)};
  }
  Visit visit(const Query&, const Node&, double d_qp, double /*aux*/, double t) const {
    const double thr = t < std::numeric_limits<double>::infinity() ? exact_hi(t) : std::numeric_limits<double>::infinity();
    return {exact_lo(d_qp), exact_up(d_qp), thr};
  }
};

// Residual correlation: the angular bound. With theta = acos|rho| (a metric: the angle between
// residual features with the sign identified) the subtree of c lies within angle alpha_c of c,
// and is excluded when theta(q, c) - alpha_c > theta_t. Computed |rho| is within
// eps = kappa * max(w_q, w_subtree) + 8u of the exact value, w_x = (|V_x|^2 + var) / p_x
// (docs/numerics.md), and every step below widens the test by that much.
template <>
struct PruneBounds<ResidualSpace> {
  struct Node {
    double cos_rad = 1;  // min computed |rho(node, x)| over the subtree (cos of the angular radius)
    double rad = 0;      // max computed d(node, x) over the subtree (reported, not used to prune)
    double w = 0;        // max error weight w_x over the subtree
    // Kept current by init_node/absorb/finalize: cos and sin of the exact-angle radius bound
    // under the tree-wide error bound, so that excluded() needs no square root.
    double cos_a = 0, sin_a = 1;
  };
  struct Query {
    double w = 0;
    double eps = 0;     // bound on |computed |rho| - exact |rho|| for pairs with this query
    bool fast = false;  // eps equals the tree-wide bound, so finalized nodes can be used
    // Cache of the threshold terms for the last k-th distance t seen.
    mutable double t = -1, cos_t = 0, sin_t = 1, thr = 0;
  };

  double kappa = 0;
  std::vector<double> w;  // per row of the indexed space
  double w_max = 0;
  double eps_tree = 0;    // kappa * w_max + 8u: one error bound for every pair in the tree
  double variance = 1;

  explicit PruneBounds(const ResidualSpace& s)
      : kappa(2.0 * (2.0 * s.rank() + s.dim() + 16) * kUnit), variance(s.kernel().variance) {
    w.resize(s.size());
    for (index_t r = 0; r < s.size(); ++r) {
      w[r] = weight(s, r);
      w_max = std::max(w_max, w[r]);
    }
    eps_tree = eps_of(w_max);
  }
  /// The bounds of the same points with row r of the result = row order[r] here: the same
  /// weights, hence the same w_max and eps_tree (no weight is recomputed).
  PruneBounds permuted(std::span<const index_t> order) const {
    PruneBounds out = *this;
    for (size_t r = 0; r < order.size(); ++r) out.w[r] = w[order[r]];
    return out;
  }
  // Error bound of a computed |rho| for pairs whose larger weight is w.
  double eps_of(double w) const { return kappa * w + 8 * kUnit; }
  double weight(const ResidualSpace& s, index_t r) const {
    double vv = 0;
    const double* v = s.v_row(r);
    for (int t = 0; t < s.rank(); ++t) vv += v[t] * v[t];
    return 1.01 * (vv + variance) / s.p(r);  // 1% above the exact value covers this sum's rounding
  }
  // Using the tree-wide maximum weight costs nothing measurable (eps ~ 1e-5 against cosines
  // of order 0.1 to 1 on gold) and lets node terms be precomputed.
  Query query(const ResidualSpace& qs, index_t row) const { return query_of_weight(weight(qs, row)); }
  /// query() for a row of the indexed space itself, whose weight is already known (bit for bit
  /// the same: w was computed by weight()).
  Query indexed_query(index_t row) const { return query_of_weight(w[row]); }
  Query query_of_weight(double weight_value) const {
    Query q;
    q.w = weight_value;
    q.fast = q.w <= w_max;
    q.eps = q.fast ? eps_tree : eps_of(q.w);
    return q;
  }
  void init_node(Node& n, index_t row) const {
    n = Node{};
    n.w = w[row];
    finalize(n);
  }
  void absorb(Node& n, double d, double aux, const Node& child) const {
    n.cos_rad = std::min(n.cos_rad, aux);
    n.rad = std::max(n.rad, d);
    n.w = std::max(n.w, child.w);
    finalize(n);
  }
  static double radius(const Node& n) { return n.rad; }
  // Includes the derived terms: queries by id prune with cos_a and sin_a directly (the fast
  // path), so stale terms (e.g. not finalized after eps_tree grew) must fail validation.
  static bool same(const Node& a, const Node& b) {
    return a.cos_rad == b.cos_rad && a.rad == b.rad && a.w == b.w && a.cos_a == b.cos_a && a.sin_a == b.sin_a;
  }
  // Cosine and (upper bound of the) sine of the exact angular radius, given the error bound.
  static void radius_terms(double cos_rad, double eps, double& cos_a, double& sin_a) {
    cos_a = cos_rad - eps;
    if (!(cos_a > 0)) {
      cos_a = 0;  // the radius may reach pi/2: cos(alpha + theta) <= 0, nothing is excluded
      sin_a = 1;
      return;
    }
    // + 4u covers the rounding of 1 - c^2: a larger sine only lowers cos(alpha + theta).
    sin_a = std::sqrt(std::max(0.0, 1 - cos_a * cos_a) + 4 * kUnit);
  }
  /// Recomputes the derived terms; required for every node whenever eps_tree may have changed
  /// (a PruneBounds over a different point set: see CoverTreeIndex::grow).
  void finalize(Node& n) const { radius_terms(n.cos_rad, eps_tree, n.cos_a, n.sin_a); }

  // The angular bound: with theta = acos|rho| (a metric), the subtree of c lies within angle
  // alpha_c of c and is excluded when theta(q, c) - alpha_c > theta_t. Every term is a bound of
  // the exact value: |rho| is known to within eps, and a point at computed distance <= t has
  // exact |rho| >= 1 - t^2 - 24u - eps.
  // The terms of the largest exact angle of a point at computed distance <= t (cached per t).
  static void refresh(const Query& q, double t) {
    if (t == q.t) return;
    q.t = t;
    radius_terms(1.0 - t * t - 24 * kUnit, q.eps, q.cos_t, q.sin_t);
    q.thr = q.cos_t > 0 ? std::acos(q.cos_t) + 1e-15 : std::numeric_limits<double>::infinity();
  }
  bool excluded(const Query& q, const Node& n, double /*d_qc*/, double absrho_qc, double t) const {
    if (!(t < 1.0)) return false;  // d <= 1 always
    refresh(q, t);
    double cos_a = n.cos_a, sin_a = n.sin_a;
    if (!q.fast) radius_terms(n.cos_rad, q.eps, cos_a, sin_a);  // a new point heavier than the tree's
    const double cos_sum = cos_a * q.cos_t - sin_a * q.sin_t;  // cos(alpha + theta_t)
    return absrho_qc + q.eps < cos_sum - 8 * kUnit;
  }

  // Exact-angle bounds from a computed |rho| known to within eps (acos is accurate to 1 ulp;
  // 1e-15 covers it for angles in [0, pi/2]).
  static double angle_lo(double absrho, double eps) { return std::max(0.0, std::acos(std::min(1.0, absrho + eps)) - 1e-15); }
  static double angle_hi(double absrho, double eps) { return std::acos(std::max(0.0, absrho - eps)) + 1e-15; }

  Child child(const Node& c, double /*d_pc*/, double absrho_pc, index_t p_row, index_t c_row) const {
    const double eps = eps_of(std::max(w[p_row], w[c_row]));
    return {angle_lo(absrho_pc, eps), angle_hi(absrho_pc, eps), angle_hi(c.cos_rad, eps_of(c.w))};
  }
  Visit visit(const Query& q, const Node& /*p*/, double /*d_qp*/, double absrho_qp, double t) const {
    double thr = std::numeric_limits<double>::infinity();
    if (t < 1.0) {
      refresh(q, t);
      thr = q.thr;
    }
    return {angle_lo(absrho_qp, q.eps), angle_hi(absrho_qp, q.eps), thr};
  }
};

}  // namespace pcct::tree
