#include "core/parallel.hpp"
#include "pcct/core/simd_level.hpp"

#include <omp.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <utility>

#include "pcct/core/errors.hpp"

namespace pcct {

namespace {
std::atomic<bool> g_threads_started{false};
std::atomic<bool> g_forked_after_threads{false};

void mark_child_after_fork() {
  if (g_threads_started.load(std::memory_order_relaxed)) g_forked_after_threads.store(true, std::memory_order_relaxed);
}

// Registered when the library is loaded; runs in the child of every fork().
[[maybe_unused]] const int g_atfork_registered = pthread_atfork(nullptr, nullptr, mark_child_after_fork);
}  // namespace

namespace detail {
bool threads_usable() { return !g_forked_after_threads.load(std::memory_order_relaxed); }
void note_threads_started() {
  if (!g_threads_started.load(std::memory_order_relaxed)) g_threads_started.store(true, std::memory_order_relaxed);
}
}  // namespace detail

namespace {
thread_local InterruptScope* t_interrupt_scope = nullptr;
constexpr std::chrono::milliseconds kInterruptInterval{50};
}  // namespace

InterruptScope::InterruptScope(std::function<bool()> check)
    : check_(std::move(check)), outer_(t_interrupt_scope),
      next_(std::chrono::steady_clock::now() + kInterruptInterval) {
  t_interrupt_scope = this;
}
InterruptScope::~InterruptScope() { t_interrupt_scope = outer_; }
InterruptScope* InterruptScope::current() { return t_interrupt_scope; }
bool InterruptScope::poll() {
  if (std::chrono::steady_clock::now() < next_) return false;
  const bool stop = check_ && check_();
  next_ = std::chrono::steady_clock::now() + kInterruptInterval;  // after the check: a slow check is not re-run at once
  return stop;
}

int resolve_threads(int requested) {
  require_thread_count(requested);
  if (requested > 0) return requested;
  // OpenMP's default (OMP_NUM_THREADS, or the cores) is capped at the limit rather than
  // refused: the user never asked for it.
  const int n = omp_get_max_threads();
  return n > kMaxThreads ? kMaxThreads : n > 0 ? n : 1;
}

int default_threads() { return resolve_threads(0); }

}  // namespace pcct
