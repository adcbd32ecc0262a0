#pragma once
/// Stopping a long call from outside (Ctrl-C in Python).
///
/// While an InterruptScope lives on a thread, the parallel loops that thread starts call its
/// check on that thread, between work items, about every 50 ms (counted across loops, so a
/// call made of many short loops is checked too). When the check returns true
/// the loop runs no further items and throws Interrupted, which unwinds the call like any
/// other error: a build creates nothing, an insert changes nothing (it commits only at its
/// end), a query returns nothing. Without a scope (the default) nothing is checked.
#include <chrono>
#include <functional>
#include <stdexcept>
#include <utility>

namespace pcct {

/// Thrown by a call that an InterruptScope's check stopped.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

class InterruptScope {
 public:
  /// `check` runs on the thread that created the scope; it returns true to stop the call.
  explicit InterruptScope(std::function<bool()> check);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  /// This thread's innermost scope, or nullptr.
  static InterruptScope* current();
  /// Runs the check if 50 ms have passed since the scope began or the last check; true = stop.
  bool poll();

 private:
  std::function<bool()> check_;
  InterruptScope* outer_;
  std::chrono::steady_clock::time_point next_;
};

}  // namespace pcct
