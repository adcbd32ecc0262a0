#pragma once
// Releasing the GIL for C++ work, and stopping that work on Ctrl-C.
//
// While a call made on the main thread runs without the GIL, SIGINT's C-level handler is
// wrapped (from the first such call on): the wrapper calls Python's own C handler, which
// marks the signal pending as usual, and notes the signal in an atomic flag, which pcct's
// parallel loops poll (pcct::InterruptScope). The loops stop, the call unwinds with
// pcct::Interrupted (releasing the index's locks), and the exception translator runs
// Python's handler: KeyboardInterrupt. Nothing here takes the GIL during the call, and no
// Python code runs inside it, so a handler cannot re-enter an index whose locks the call
// holds. Only when SIGINT has Python's default handler: a custom handler (or SIG_IGN) runs
// after the call returns, and calls on other threads are never stopped (Python handles
// signals on the main thread only).
#include <nanobind/nanobind.h>

#include <atomic>
#include <csignal>
#include <functional>

#include "pcct/core/interrupt.hpp"

namespace pcct_python {

namespace nb = nanobind;

struct SigintWatch {
  static_assert(std::atomic<bool>::is_always_lock_free);
  static inline std::atomic<bool> pending{false};
  // Python's own C-level signal handler (one function serves every signal with a Python-level
  // handler), found by the first call on the main thread; the wrapper always calls this one,
  // never whatever handler it replaced, so a library that chains to "the previous handler"
  // cannot make a loop.
  static inline PyOS_sighandler_t python_c_handler = nullptr;

  static void on_sigint(int sig) {  // async-signal-safe: Python's handler, then an atomic store
    python_c_handler(sig);          // first: whoever sees `pending` finds Python's flag set too
    pending.store(true, std::memory_order_release);
  }

  // Set once at import (init below), so that a call pays no Python-level lookups: the main
  // thread's id (renewed in a forked child, whose main thread is the forking one), and
  // _signal.getsignal, SIGINT and default_int_handler, kept for the process's life (a static
  // nb::object would be released after the interpreter finalized, crashing the exit).
  // `signal.getsignal` is avoided: its enum conversion costs ~2 us per call.
  static inline std::atomic<unsigned long> main_thread{0};
  static inline PyObject* signal_module = nullptr;
  static inline PyObject* getsignal = nullptr;
  static inline PyObject* sigint_number = nullptr;
  static inline PyObject* default_handler = nullptr;

  static void init() {
    nb::module_ module = nb::module_::import_("_signal");
    main_thread = nb::cast<unsigned long>(nb::module_::import_("threading").attr("main_thread")().attr("ident"));
    nb::module_::import_("os").attr("register_at_fork")(
        nb::arg("after_in_child") = nb::cpp_function([] { main_thread = PyThread_get_thread_ident(); }));
    getsignal = nb::object(module.attr("getsignal")).release().ptr();
    sigint_number = nb::object(module.attr("SIGINT")).release().ptr();
    default_handler = nb::object(module.attr("default_int_handler")).release().ptr();
    signal_module = module.release().ptr();
  }

  // Python's C handler, read off SIGRTMAX (main thread, GIL held; tried once). If SIGRTMAX has
  // a Python handler, its C handler is Python's; if it has none at all, it gets one for a
  // moment, and its C-level action is put back exactly with sigaction. Signals already
  // pending are handled first (signal.signal would run them and could raise midway); an
  // error is raised from the call, never swallowed. Without SIGRTMAX, or with a foreign C
  // handler on it, Ctrl-C does not stop calls.
  static bool find_python_c_handler() {
    static bool tried = false;
    if (tried) return python_c_handler != nullptr;
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
    tried = true;
    nb::handle module(signal_module);
    if (!nb::hasattr(module, "SIGRTMAX")) return false;
    const int probe = nb::cast<int>(module.attr("SIGRTMAX"));
    struct sigaction saved {};
    if (sigaction(probe, nullptr, &saved) != 0 || (saved.sa_flags & SA_SIGINFO)) return false;
    const nb::object python_level = nb::handle(getsignal)(probe);
    PyOS_sighandler_t found = SIG_DFL;
    if (PyCallable_Check(python_level.ptr())) {
      found = saved.sa_handler;  // Python put its own handler there
    } else if (saved.sa_handler == SIG_DFL && python_level.ptr() != Py_None) {
      try {
        module.attr("signal")(probe, nb::handle(default_handler));
        found = PyOS_getsig(probe);
        module.attr("signal")(probe, python_level);
      } catch (const nb::python_error&) {
        sigaction(probe, &saved, nullptr);
        throw;
      }
      sigaction(probe, &saved, nullptr);
    }
    if (found == SIG_DFL || found == SIG_IGN || found == SIG_ERR) return false;
    python_c_handler = found;
    return true;
  }

  // With the GIL held, at the start of a call. True if a SIGINT during the call will be noted.
  // The wrapper, once installed, stays: Python replaces it whenever SIGINT's handler is set
  // again (signal.signal), and it is re-installed here while SIGINT's C handler is Python's
  // own and its Python handler the default one. A SIGINT noted after the last call but not
  // yet handled by Python (e.g. between two releases of one binding call) is handled now.
  static bool start() {
    if (!getsignal || PyThread_get_thread_ident() != main_thread) return false;
    if (pending.exchange(false, std::memory_order_acquire) && PyErr_CheckSignals() != 0) throw nb::python_error();
    if (!find_python_c_handler()) return false;
    PyObject* handler = PyObject_CallOneArg(getsignal, sigint_number);
    if (!handler) {
      PyErr_Clear();
      return false;
    }
    const bool python_default = handler == default_handler;
    Py_DECREF(handler);
    if (!python_default) return false;
    const PyOS_sighandler_t current = PyOS_getsig(SIGINT);
    if (current == python_c_handler) {
      PyOS_setsig(SIGINT, &on_sigint);
    } else if (current != &on_sigint) {
      return false;  // another library's handler sits on SIGINT: leave it alone
    }
    return true;
  }
};

// Releases the GIL for its lifetime; on the main thread, Ctrl-C stops pcct's loops meanwhile.
class ReleaseGil {
 public:
  // interruptible = false for quick reads (size, dim): they skip the sigaction query.
  explicit ReleaseGil(bool interruptible = true)
      : watching_(interruptible && SigintWatch::start()),
        scope_(watching_ ? std::function<bool()>([] { return SigintWatch::pending.load(std::memory_order_acquire); })
                         : std::function<bool()>()) {}
  ReleaseGil(const ReleaseGil&) = delete;
  ReleaseGil& operator=(const ReleaseGil&) = delete;

 private:
  bool watching_;
  pcct::InterruptScope scope_;
  nb::gil_scoped_release release_;
};

// The exception translator's part: a call stopped by Ctrl-C raises what Python's handler
// raises (KeyboardInterrupt), now that the call's locks are released.
inline void raise_interrupted() {
  SigintWatch::pending.store(false, std::memory_order_relaxed);  // Python's flag was set first (on_sigint)
  if (PyErr_CheckSignals() == 0 && !PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
}

}  // namespace pcct_python
