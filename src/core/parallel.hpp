#pragma once
/// Exception-safe parallel loops over OpenMP.
///
/// Threading guarantee used throughout pcct: every parallel loop partitions work into
/// items whose results do not depend on which thread runs them or in what order, so
/// answers are bit-identical for every thread count.
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>

#include <omp.h>

#include "pcct/core/interrupt.hpp"
#include "pcct/core/threads.hpp"

namespace pcct {

/// Number of threads to use: `requested` if > 0, otherwise the OpenMP default capped at
/// kMaxThreads; throws std::invalid_argument when `requested` is above kMaxThreads.
int resolve_threads(int requested);

namespace detail {
/// False in a process forked after pcct had run OpenMP threads (e.g. a multiprocessing "fork"
/// worker): GNU libgomp's thread pool does not survive fork(), and the child's first parallel
/// region would wait forever for the parent's threads. Loops there run on the calling thread
/// (the same answers: they never depend on the thread count).
bool threads_usable();
/// Called before each multi-threaded region (one relaxed atomic store).
void note_threads_started();

/// One loop's view of the calling thread's InterruptScope: poll() (calling thread only) asks
/// the scope; stopped() tells every thread to skip its remaining items.
class InterruptPoll {
 public:
  bool stopped() const { return stop_.load(std::memory_order_relaxed); }
  void poll() {
    if (scope_ && !stopped() && scope_->poll()) stop_.store(true, std::memory_order_relaxed);
  }
  void throw_if_stopped() const {
    if (stopped()) throw Interrupted();
  }

 private:
  InterruptScope* scope_ = InterruptScope::current();
  std::atomic<bool> stop_{false};
};
}  // namespace detail

/// Runs body(item, thread_id) for item in [0, n) on `threads` threads (dynamic schedule).
/// The first exception thrown by any item is rethrown on the calling thread; with an
/// InterruptScope on the calling thread, a check that returns true skips the remaining items
/// and throws Interrupted.
template <class Body>
void parallel_for(std::int64_t n, int threads, Body&& body) {
  std::exception_ptr error;
  std::mutex error_mutex;
  detail::InterruptPoll interrupt;
  if (threads > 1 && n > 1 && !detail::threads_usable()) threads = 1;
  if (threads <= 1 || n <= 1) {
    for (std::int64_t i = 0; i < n && !interrupt.stopped(); ++i) {
      body(i, 0);
      interrupt.poll();
    }
    interrupt.throw_if_stopped();
    return;
  }
  detail::note_threads_started();
#pragma omp parallel num_threads(threads)
  {
    // Thread 0 of the team is the calling thread, the only one that may run the check.
    const int tid = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < n; ++i) {
      if (interrupt.stopped()) continue;
      try {
        body(i, tid);
        if (tid == 0) interrupt.poll();
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  }
  interrupt.throw_if_stopped();  // first: an error in an item skipped or cut short by the stop is not the story
  if (error) std::rethrow_exception(error);
}

}  // namespace pcct
