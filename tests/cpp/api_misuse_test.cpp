// Misuse of the public C++ API (found by a black-box review): each must give a named
// exception or a well-defined state, never a crash or a silent wrong answer.
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include "pcct/knn/brute_force.hpp"
#include "pcct/metric/metrics.hpp"
#include "pcct/tree/cover_tree.hpp"
#include "pcct/tree/kd_tree.hpp"
#include "test_util.hpp"

namespace pcct {
namespace {

using test::normal_matrix;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class F>
void expect_invalid(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << part << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

std::shared_ptr<ResidualModel> model_over(const std::vector<double>& x, index_t n, int d, const Kernel& k,
                                          index_t m = 16) {
  return test::residual_model(x, n, d, k, test::first_ids(n, m, n / m));
}

TEST(ApiMisuse, MovedFromIndexesAndModelsAreEmptyOrIntact) {
  const index_t n = 200;
  const auto x = normal_matrix(n, 2, 1);
  BruteForceIndex<EuclideanMetric> a{EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, 2)))};
  const auto want = a.knn(QuerySet::all_points(), KnnParams{3});
  auto b = std::move(a);
  EXPECT_EQ(b.knn(QuerySet::all_points(), KnnParams{3}).ids, want.ids);
  EXPECT_EQ(a.size(), 0);  // NOLINT(bugprone-use-after-move): the moved-from state is the test
  expect_invalid([&] { a.knn(QuerySet::all_points(), KnnParams{3}); }, "exceeds the number of points (0)");

  // The residual metric shares its model, so a moved-from index still answers.
  auto model = model_over(x, n, 2, Kernel{});
  BruteForceIndex<ResidualMetric> r{ResidualMetric(model)};
  const auto rwant = r.knn(QuerySet::all_points(), KnnParams{4});
  auto r2 = std::move(r);
  EXPECT_EQ(r.size(), n);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(r.knn(QuerySet::all_points(), KnnParams{4}).ids, rwant.ids);
  EXPECT_EQ(r2.knn(QuerySet::all_points(), KnnParams{4}).ids, rwant.ids);

  ResidualModel m = *model;
  ResidualModel m2 = std::move(m);
  EXPECT_EQ(m.size(), 0);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(m.rank(), 0);
  EXPECT_EQ(m2.size(), n);
  EXPECT_EQ(m2.rank(), 16);
}

TEST(ApiMisuse, TreesOverAnEmptySpaceAreRefusedOrEmpty) {
  const auto x = normal_matrix(50, 2, 4);
  EuclideanMetric full(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), 50, 2)));
  EuclideanMetric moved = std::move(full);
  expect_invalid([&] { CoverTreeIndex<EuclideanMetric> t{full}; }, "needs at least one point");  // NOLINT
  expect_invalid([] { CoverTreeIndex<EuclideanMetric> t{EuclideanMetric(EuclideanSpace{})}; },
                 "needs at least one point");
  KdTreeIndex kd{EuclideanMetric(EuclideanSpace{})};
  EXPECT_EQ(kd.size(), 0);
  expect_invalid([&] { kd.knn(QuerySet::all_points(), KnnParams{1}); }, "exceeds the number of points (0)");
  EXPECT_EQ(CoverTreeIndex<EuclideanMetric>{moved}.size(), 50);
}

TEST(ApiMisuse, EuclideanPointsOutOfIdOrderAreRefused) {
  // Every engine reads a metric's ids as its rows; a permuted or external space would make the
  // trees write outside their id tables and the brute force answer with wrong ids.
  const auto x = normal_matrix(40, 2, 6);
  const auto s = EuclideanSpace::from_coords(MatrixView::row_major(x.data(), 40, 2));
  std::vector<index_t> order(40);
  for (index_t i = 0; i < 40; ++i) order[i] = 39 - i;
  expect_invalid([&] { EuclideanMetric m(s.permuted(order)); }, "must be in id order (row 0 holds id 39)");
  std::vector<index_t> half(order.begin(), order.begin() + 20);
  expect_invalid([&] { EuclideanMetric m(s.permuted(half)); }, "must be in id order");
  auto external = s;
  external.mark_external();
  expect_invalid([&] { EuclideanMetric m(external); }, "must be in id order (row 0 holds id -1)");
}

TEST(ApiMisuse, RowListsOutOfRangeAndEmptyDataAreRefused) {
  // Public helpers that take row numbers check them (they read rows without further checks).
  const auto x = normal_matrix(3, 2, 7);
  const auto s = EuclideanSpace::from_coords(MatrixView::row_major(x.data(), 3, 2));
  auto expect_range = [](auto&& f, const std::string& part) {
    try {
      f();
      ADD_FAILURE() << "no exception; expected one mentioning '" << part << "'";
    } catch (const std::out_of_range& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_range([&] { (void)s.permuted(std::vector<index_t>{0, 7}); }, "row 7 at position 1 is out of range [0, 3)");
  expect_range([&] { (void)s.permuted(std::vector<index_t>{-1}); }, "row -1 at position 0");
  const auto model = model_over(normal_matrix(40, 2, 8), 40, 2, Kernel{}, 8);
  expect_range([&] { (void)model->space().permuted(std::vector<index_t>{40}); }, "row 40 at position 0");
  expect_range([&] { (void)ResidualModel::metric_problem(model->space(), 0, 41); }, "rows [0, 41) are not within");
  expect_range([&] { (void)ResidualModel::metric_problem(model->space(), 5, 4); }, "rows [5, 4)");
  EXPECT_EQ(ResidualModel::metric_problem(model->space(), 0, 40), "");
  // A brute force over no points (a 0-row permutation keeps the dimension) was a division by zero.
  const auto empty = s.permuted(std::vector<index_t>{});
  const std::vector<index_t> rows{0, 1}, qids{-1, -1};
  expect_invalid([&] { (void)brute_force_search(empty, s, rows, qids, KnnParams{1, false, 1}); },
                 "the data have no points");
}

TEST(ApiMisuse, BruteForceRefusesQueriesOfAnotherModel) {
  // Query rows from another factorisation (other inducing points) or another kernel have the
  // same dimension and rank, and would give distances of no metric.
  const auto x = normal_matrix(60, 2, 9);
  const auto a = test::residual_model(x, 60, 2, Kernel{}, test::first_ids(60, 8, 7));
  const auto b = test::residual_model(x, 60, 2, Kernel{}, test::first_ids(60, 8, 5));
  Kernel wide;
  wide.lengthscale = {2.0};
  const auto c = test::residual_model(x, 60, 2, wide, test::first_ids(60, 8, 7));
  const std::vector<index_t> rows{0, 1}, qids{0, 1};
  for (const auto* other : {&b->space(), &c->space()})
    expect_invalid([&] { (void)brute_force_search(a->space(), *other, rows, qids, KnnParams{3, false, 1}); },
                   "queries come from another kernel or factorisation than the data");
  const auto same = brute_force_search(a->space(), a->space(), rows, qids, KnnParams{3, false, 1});
  EXPECT_EQ(same.ids[0], 0);
}

TEST(ApiMisuse, NullModelIsRefused) {
  expect_invalid([] { ResidualMetric metric(nullptr); }, "null pointer");
}

TEST(ApiMisuse, BadViewsAreRefusedBeforeAnyRead) {
  const auto x = normal_matrix(30, 2, 2);
  expect_invalid([] { EuclideanSpace::from_coords(MatrixView{nullptr, 10, 3, 3, 1}); }, "null pointer");
  expect_invalid([&] { EuclideanSpace::from_coords(MatrixView{x.data(), 10, -3, 2, 1}); }, "negative shape");
  expect_invalid([&] { EuclideanSpace::from_coords(MatrixView{x.data(), 2, (index_t{1} << 32) + 2, 2, 0}); },
                 "too many columns");
  expect_invalid([&] { EuclideanSpace::from_coords(MatrixView{x.data(), 3, 2, LLONG_MAX / 2 + 1, 1}); }, "overflow");
  expect_invalid([&] { EuclideanSpace::from_coords(MatrixView{x.data(), 2, 2, LLONG_MIN, 1}); }, "overflow");
  // One row never steps by its row stride, whatever it is.
  EXPECT_EQ(EuclideanSpace::from_coords(MatrixView{x.data(), 1, 2, LLONG_MIN, 1}).coord(0, 1), x[1]);
  const auto xv = MatrixView::row_major(x.data(), 30, 2);
  expect_invalid([&] { ResidualModel::from_inducing(xv, Kernel{}, IdView{nullptr, 3, 1}); }, "null pointer");
  expect_invalid([&] { ResidualModel::from_inducing(xv, Kernel{}, IdView{nullptr, -3, 1}); }, "negative size");
  std::vector<double> v(30 * 2, 0.1), p(30, 1.0);
  expect_invalid([&] { ResidualModel::from_factors(xv, Kernel{}, MatrixView{v.data(), 30, -3, 2, 1}, VectorView{p.data(), 30, 1}); },
                 "negative shape");
  expect_invalid([&] { ResidualModel::from_factors(xv, Kernel{}, MatrixView::row_major(v.data(), 30, 2), VectorView{nullptr, 30, 1}); },
                 "null pointer");
  expect_invalid([] { ResidualSpace s(Kernel{}, 2, -9, 5); }, "rank and n >= 0");

  BruteForceIndex<EuclideanMetric> e{EuclideanMetric(EuclideanSpace::from_coords(xv))};
  const index_t ids[] = {1, 2};
  expect_invalid([&] { e.knn(QuerySet::by_ids(IdView{ids, -5, 1}), KnnParams{1}); }, "negative size");
  expect_invalid([&] { e.knn(QuerySet::by_ids(IdView{nullptr, 2, 1}), KnnParams{1}); }, "null pointer");
  expect_invalid([&] { e.knn(QuerySet::by_coords(MatrixView{nullptr, 2, 2, 2, 1}), KnnParams{1}); }, "null pointer");
}

TEST(ApiMisuse, NoCoordinateQueriesGiveAnEmptyAnswer) {
  const auto x = normal_matrix(40, 2, 3);
  const auto xv = MatrixView::row_major(x.data(), 40, 2);
  const auto model = model_over(x, 40, 2, Kernel{});
  CoverTreeIndex<ResidualMetric> t{ResidualMetric(model)};
  BruteForceIndex<EuclideanMetric> e{EuclideanMetric(EuclideanSpace::from_coords(xv))};
  for (const Index* index : {static_cast<const Index*>(&t), static_cast<const Index*>(&e)}) {
    const auto r = index->knn(QuerySet::by_coords(MatrixView{x.data(), 0, 2, 2, 1}), KnnParams{3});
    EXPECT_EQ(r.queries, 0);
    EXPECT_TRUE(r.ids.empty());
    expect_invalid([&] { index->knn(QuerySet::by_coords(MatrixView{x.data(), 0, 3, 3, 1}), KnnParams{3}); },
                   "columns but the points have dimension 2");
  }
}

TEST(ApiMisuse, InsertRefusesEditedRowsAndAnotherKernel) {
  const index_t n = 600;
  const auto x = normal_matrix(n + 3, 2, 4);
  const auto model = model_over(x, n, 2, Kernel{}, 13);  // rank 13: V rows padded to 16
  CoverTreeIndex<ResidualMetric> t{ResidualMetric(model)};
  const auto y = MatrixView::row_major(x.data() + n * 2, 3, 2);
  const auto before = t.knn(QuerySet::all_points(), KnnParams{5});
  const auto refused = [&](auto edit, const std::string& part) {
    auto s = model->embed(y);
    edit(s);
    expect_invalid([&] { t.insert(s); }, part);
    EXPECT_EQ(t.size(), n);
    EXPECT_TRUE(t.validate().ok);
    EXPECT_EQ(t.knn(QuerySet::all_points(), KnnParams{5}).ids, before.ids);
  };
  refused([](ResidualSpace& s) { s.p_mut(1) = kNaN; }, "has p = nan");
  refused([](ResidualSpace& s) { s.p_mut(1) = 0.0; }, "outside [1e-150, 1e150]");
  refused([](ResidualSpace& s) { s.v_row_mut(2)[0] = kNaN; }, "V entry");
  refused([](ResidualSpace& s) { s.set_scaled_coord(0, 1, kNaN); }, "coordinate");
  refused([](ResidualSpace& s) { s.set_scaled_coord(0, 1, 1e200); }, "coordinate");
  refused([](ResidualSpace& s) { s.v_row_mut(0)[s.rank()] = 0.5; }, "padding");
  Kernel other;
  other.lengthscale = {0.05};
  const auto model2 = model_over(x, n, 2, other, 13);
  expect_invalid([&] { t.insert(model2->embed(y)); }, "different kernel");
  Kernel louder;
  louder.variance = 2.0;
  expect_invalid([&] { t.insert(model_over(x, n, 2, louder, 13)->embed(y)); }, "different kernel");
  // Same kernel and rank, other inducing points: another L^{-1} K(U, .), so K - V V^T of the
  // mixed rows is not a covariance (a review found 18% of old-new pairs at d = 0).
  const auto other_inducing = test::residual_model(x, n, 2, Kernel{}, test::first_ids(n, 13, 31));
  expect_invalid([&] { t.insert(other_inducing->embed(y)); }, "another model's inducing points");
  // Rows of user factors into an index built from inducing points, and the reverse.
  const auto e = model->embed(y);
  std::vector<double> vy(static_cast<size_t>(3) * 13), py(3);
  for (index_t i = 0; i < 3; ++i) {
    std::copy_n(e.v_row(i), 13, vy.data() + i * 13);
    py[i] = e.p(i);
  }
  const auto user = ResidualModel::from_factors(y, Kernel{}, MatrixView::row_major(vy.data(), 3, 13), VectorView{py.data(), 3, 1});
  expect_invalid([&] { t.insert(user.space()); }, "user factors against this model's inducing points");
  const auto user_model = std::make_shared<ResidualModel>(user);
  CoverTreeIndex<ResidualMetric> u{ResidualMetric(user_model)};
  expect_invalid([&] { u.insert(e); }, "against user factors");
  EXPECT_EQ(t.size(), n);
  t.insert(model->embed(y));  // the same model is accepted
  EXPECT_EQ(t.size(), n + 3);
  EXPECT_TRUE(t.validate().ok);
}

TEST(ApiMisuse, OutOfRangeEnumsAndThreadCountsAreRefused) {
  Kernel k;
  k.type = static_cast<KernelType>(42);
  expect_invalid([&] { k.validate(2); }, "kernel type 42");
  const auto x = normal_matrix(50, 2, 5);
  expect_invalid([&] { model_over(x, 50, 2, k); }, "kernel type 42");
  CoverTreeParams cp;
  cp.engine = static_cast<TreeEngine>(7);
  const auto model = model_over(x, 50, 2, Kernel{});
  expect_invalid([&] { CoverTreeIndex<ResidualMetric> t(ResidualMetric(model), cp); }, "engine 7");
  BruteForceIndex<ResidualMetric> b{ResidualMetric(model)};
  expect_invalid([&] { b.knn(QuerySet::all_points(), KnnParams{2, false, -7}); }, "n_threads must be 0");
  // Also where there is no work to do (an empty id list returns before any thread starts).
  const index_t none[] = {0};
  expect_invalid([&] { b.knn(QuerySet::by_ids(IdView{none, 0, 1}), KnnParams{2, false, -7}); }, "n_threads must be 0");
  QuerySet bad_kind;
  bad_kind.kind = static_cast<QuerySet::Kind>(9);
  expect_invalid([&] { b.knn(bad_kind, KnnParams{2}); }, "query kind 9");
}

}  // namespace
}  // namespace pcct
