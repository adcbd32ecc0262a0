// Stopping long calls through an InterruptScope (Ctrl-C in Python): the call throws
// Interrupted, and what it was building or changing is left as it was.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/parallel.hpp"
#include "pcct/core/interrupt.hpp"
#include "pcct/knn/brute_force.hpp"
#include "pcct/metric/metrics.hpp"
#include "pcct/tree/cover_tree.hpp"
#include "test_util.hpp"

namespace pcct {
namespace {

using test::normal_matrix;

// A loop of `items` items of ~1 ms each.
void slow_loop(std::int64_t items, int threads) {
  parallel_for(items, threads, [](std::int64_t, int) { std::this_thread::sleep_for(std::chrono::milliseconds(1)); });
}

TEST(Interrupt, ALoopStopsSoonAfterTheCheckSaysSo) {
  for (int threads : {1, 2}) {
    int checks = 0;
    const auto t0 = std::chrono::steady_clock::now();
    InterruptScope scope([&] { return ++checks == 3; });
    EXPECT_THROW(slow_loop(100000, threads), Interrupted) << threads << " threads";  // 100 s uninterrupted
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(checks, 3);
    EXPECT_LT(seconds, 10.0) << "checked about every 50 ms";
  }
}

TEST(Interrupt, ChecksCountAcrossShortLoopsAndOnlyOnTheScopesThread) {
  // A call made of many loops shorter than the interval is still checked.
  int checks = 0;
  {
    InterruptScope scope([&] { return ++checks == 2; });
    EXPECT_THROW(
        for (int i = 0; i < 100000; ++i) slow_loop(4, 2), Interrupted);
    EXPECT_EQ(checks, 2);
    // Another thread's loops never see this scope.
    std::thread other([] { EXPECT_NO_THROW(slow_loop(120, 1)); });
    other.join();
  }
  EXPECT_EQ(InterruptScope::current(), nullptr);
  EXPECT_NO_THROW(slow_loop(120, 2));  // the scope has ended
  EXPECT_EQ(checks, 2);
}

TEST(Interrupt, ANestedScopeRestoresTheOuterOne) {
  InterruptScope outer([] { return false; });
  {
    InterruptScope inner([] { return true; });
    EXPECT_EQ(InterruptScope::current(), &inner);
    EXPECT_THROW(slow_loop(100000, 2), Interrupted);
  }
  EXPECT_EQ(InterruptScope::current(), &outer);
  EXPECT_NO_THROW(slow_loop(120, 2));
}

TEST(Interrupt, AnInterruptedBuildQueryOrInsertLeavesNothingChanged) {
  const index_t n = 20000, extra = 20000;
  const int d = 4;
  const auto x = normal_matrix(n + extra, d, 7);
  const auto all = EuclideanSpace::from_coords(MatrixView::row_major(x.data(), n, d));
  const auto more = EuclideanSpace::from_coords(MatrixView::row_major(x.data() + n * d, extra, d));
  CoverTreeIndex<EuclideanMetric> tree{EuclideanMetric(all)};
  const KnnParams params{5, false, 2};
  const auto before = tree.knn(QuerySet::all_points(), params);
  const auto stop_now = [] { return true; };
  {
    // The check runs 50 ms into the scope: each call below takes longer than that.
    InterruptScope scope(stop_now);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    EXPECT_THROW(CoverTreeIndex<EuclideanMetric>{EuclideanMetric(all)}, Interrupted);
  }
  {
    InterruptScope scope(stop_now);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    EXPECT_THROW(tree.knn(QuerySet::all_points(), params), Interrupted);
  }
  EXPECT_EQ(tree.size(), n);
  EXPECT_TRUE(tree.validate().ok);
  const auto after = tree.knn(QuerySet::all_points(), params);
  EXPECT_EQ(after.ids, before.ids);
  EXPECT_EQ(after.distances, before.distances);
  {
    InterruptScope scope([] { return false; });  // a check that never stops changes nothing
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    const auto checked = tree.knn(QuerySet::all_points(), params);
    EXPECT_EQ(checked.ids, before.ids);
    EXPECT_EQ(checked.distances, before.distances);
  }
  for (int stop_at = 1;; ++stop_at) {  // stopped at each of its checks in turn, then not at all
    int checks = 0;
    InterruptScope scope([&] { return ++checks == stop_at; });
    try {
      tree.insert(more, 1);
    } catch (const Interrupted&) {
      ASSERT_EQ(tree.size(), n) << "stopped at check " << stop_at;
      const auto now = tree.knn(QuerySet::all_points(), params);
      ASSERT_EQ(now.ids, before.ids) << "stopped at check " << stop_at;
      continue;
    }
    EXPECT_EQ(tree.size(), n + extra);  // stop_at - 1 checks stopped it (none if it took under 50 ms)
    break;
  }
}

}  // namespace
}  // namespace pcct
