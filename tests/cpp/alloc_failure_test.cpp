// Failure atomicity of insert: every allocation an insert makes is failed in turn (a replaced
// global operator new), and each failed insert must leave the index exactly as it was. A
// separate test binary, as the replacement is global.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <vector>

#include "pcct/tree/cover_tree.hpp"
#include "pcct/tree/kd_tree.hpp"
#include "test_util.hpp"

namespace {
long g_fail_at = -1;  // the allocation to fail, counted from 0 while >= 0
long g_seen = 0;
}  // namespace

// Every unaligned form is replaced, so that each delete matches its new (AddressSanitizer checks);
// the nothrow forms (e.g. std::stable_sort's buffer, which it may do without) are not failed.
void* operator new(std::size_t n) {
  if (g_fail_at >= 0 && g_seen++ == g_fail_at) throw std::bad_alloc();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace pcct {
namespace {

constexpr index_t kN = 60, kMore = 20;

// Calls insert with the k-th allocation failing; true if it threw bad_alloc.
template <class Index, class... Args>
bool insert_failing_at(Index& index, long k, Args&&... args) {
  g_seen = 0;
  g_fail_at = k;
  bool failed = false;
  try {
    index.insert(std::forward<Args>(args)...);
  } catch (const std::bad_alloc&) {
    failed = true;
  }
  g_fail_at = -1;
  return failed;
}

template <class Index, class Make, class... Args>
void check_every_failure_leaves_the_index_unchanged(Make make, Args&&... args) {
  const auto all = QuerySet::all_points();
  const KnnParams params{3, false, 1};
  const KnnResult before = make()->knn(all, params);
  { auto warm = make(); warm->insert(args...); }  // one-time initialisations out of the way
  long total = 0;
  {
    auto index = make();
    insert_failing_at(*index, 1L << 60, args...);
    total = g_seen;
  }
  ASSERT_GT(total, 10);
  int failures = 0;
  for (long k = 0; k < total; ++k) {
    auto index = make();
    if (!insert_failing_at(*index, k, args...)) continue;
    ++failures;
    ASSERT_EQ(index->size(), kN) << "allocation " << k << " of " << total;
    const KnnResult after = index->knn(all, params);
    ASSERT_EQ(after.ids, before.ids) << "allocation " << k;
    ASSERT_EQ(after.distances, before.distances) << "allocation " << k;
    if constexpr (requires { index->build_info(); }) {
      ASSERT_TRUE(index->validate(1).ok) << "allocation " << k;
      const auto fresh = make();
      ASSERT_EQ(index->build_info().levels.size(), fresh->build_info().levels.size()) << "allocation " << k;
      ASSERT_EQ(index->build_info().distance_evaluations, fresh->build_info().distance_evaluations);
    } else {
      ASSERT_TRUE(index->validate().empty()) << "allocation " << k;
    }
  }
  EXPECT_GT(failures, total / 2);  // most allocations are the insert's own, and each one failed it
}

TEST(AllocationFailure, CoverTreeInsertChangesNothing) {
  const auto x = test::normal_matrix(kN, 2, 1), y = test::normal_matrix(kMore, 2, 2, 3.0);
  const auto more = EuclideanSpace::from_coords(MatrixView::row_major(y.data(), kMore, 2));
  for (TreeEngine engine : {TreeEngine::walk, TreeEngine::scan}) {
    auto make = [&] {
      CoverTreeParams p;
      p.n_threads = 1;
      p.engine = engine;
      return std::make_unique<CoverTreeIndex<EuclideanMetric>>(
          EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), kN, 2))), p);
    };
    check_every_failure_leaves_the_index_unchanged<CoverTreeIndex<EuclideanMetric>>(make, more, 1);
  }
}

TEST(AllocationFailure, KdTreeInsertChangesNothing) {
  const auto x = test::normal_matrix(kN, 2, 4), y = test::normal_matrix(kMore, 2, 5, 3.0);
  const auto more = EuclideanSpace::from_coords(MatrixView::row_major(y.data(), kMore, 2));
  auto make = [&] {
    return std::make_unique<KdTreeIndex>(
        EuclideanMetric(EuclideanSpace::from_coords(MatrixView::row_major(x.data(), kN, 2))));
  };
  check_every_failure_leaves_the_index_unchanged<KdTreeIndex>(make, more);
}

}  // namespace
}  // namespace pcct
