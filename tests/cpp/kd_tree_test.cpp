// The kd-tree against the brute force (exact equality: same distance kernels).
#include <gtest/gtest.h>

#include "pcct/knn/brute_force.hpp"
#include "pcct/tree/kd_tree.hpp"
#include "test_util.hpp"

namespace pcct {
namespace {

using test::Shape;
using test::points;

void expect_same(const KnnResult& a, const KnnResult& b, const std::string& what) {
  test::expect_same(a, b, what, "kd");
}

TEST(KdTree, MatchesBruteForceOnEveryShape) {
  for (Shape shape : {Shape::gaussian, Shape::clusters, Shape::duplicates, Shape::line, Shape::identical, Shape::grid}) {
    for (int d : {1, 2, 3, 8, 20}) {
      for (index_t n : {1, 5, 17, 600}) {
        const auto x = points(shape, n, d, 3 + n + d);
        EuclideanMetric m(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, d)));
        KdTreeIndex kd(m);
        ASSERT_TRUE(kd.validate().empty()) << kd.validate()[0];
        BruteForceIndex<EuclideanMetric> brute(m);
        const std::string what = "shape " + std::to_string(static_cast<int>(shape)) + " d=" + std::to_string(d) +
                                 " n=" + std::to_string(n);
        for (int k : {1, 7, static_cast<int>(n)}) {
          if (k > n) continue;
          for (bool pred : {false, true})
            for (int threads : {1, 3})
              expect_same(kd.knn(QuerySet::all_points(), KnnParams{k, pred, threads}),
                          brute.knn(QuerySet::all_points(), KnnParams{k, pred, threads}), what);
        }
        const auto qx = points(Shape::gaussian, 9, d, 99);
        const auto qs = QuerySet::by_coords(MatrixView::row_major(qx.data(), 9, d));
        const int k = static_cast<int>(std::min<index_t>(n, 4));
        expect_same(kd.knn(qs, KnnParams{k, false, 2}), brute.knn(qs, KnnParams{k, false, 2}), what + " coords");
      }
    }
  }
}

TEST(KdTree, InsertRebuildsExactly) {
  const auto x = points(Shape::clusters, 900, 3, 4);
  KdTreeIndex kd{EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), 400, 3)))};
  kd.insert(EuclideanSpace::from_coords(MatrixView::row_major(x.data() + 3 * 400, 500, 3)));
  ASSERT_EQ(kd.size(), 900);
  ASSERT_TRUE(kd.validate().empty());
  BruteForceIndex<EuclideanMetric> brute{EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), 900, 3)))};
  for (bool pred : {false, true})
    expect_same(kd.knn(QuerySet::all_points(), KnnParams{6, pred, 2}),
                brute.knn(QuerySet::all_points(), KnnParams{6, pred, 2}), "insert");
  EXPECT_THROW(kd.insert(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), 2, 2))), std::invalid_argument);
}

}  // namespace
}  // namespace pcct
