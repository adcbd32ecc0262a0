"""Ctrl-C stops a long call: while a main-thread call runs, SIGINT sets a flag pcct's loops poll
about every 50 ms; the call unwinds and Python's handler raises KeyboardInterrupt."""
import signal
import subprocess
import sys

import numpy as np

CHILD = r"""
import os, signal, threading, time
import numpy as np
import pcct

rng = np.random.default_rng(0)
x = rng.normal(size=(100_000, 32))     # all-points brute force on 2 threads: 10-25 s
x3 = rng.normal(size=(1_000_000, 3))   # a cover tree of all of them on 2 threads: 10-25 s
tree = pcct.cover_tree(x3[:100_000], algorithm="tree", n_threads=2)
probe = x3[:5]
ref = pcct.brute_force_knn(x3[:100_000], 3, queries=probe)


def signal_after(delay):
    threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT)).start()


def timed(what, call):
    signal_after(0.3)
    t0 = time.perf_counter()
    try:
        call()
        print(what, "completed", time.perf_counter() - t0)
    except KeyboardInterrupt:
        print(what, "KeyboardInterrupt", time.perf_counter() - t0)


timed("function", lambda: pcct.brute_force_knn(x, k=1, n_threads=2))
timed("build", lambda: pcct.cover_tree(x3, algorithm="tree", n_threads=2))
timed("insert", lambda: tree.insert(x3[100_000:], n_threads=2))
timed("query", lambda: pcct.cover_tree(x, algorithm="brute").knn(1, n_threads=2))
same = tree.n_points == 100_000 and all(np.array_equal(a, b) for a, b in zip(tree.knn(3, probe), ref))
print("unchanged", same)

# A handler of its own, reading the index the call is using: pcct does not stop the call;
# the handler runs after it, when the index is free (before, it ran inside and deadlocked).
seen = []
signal.signal(signal.SIGINT, lambda signum, frame: seen.append(tree.n_points))
signal_after(0.2)
tree.knn(1, x3[:200_000], n_threads=2)
time.sleep(0.5)
print("handler", seen == [100_000])

# Back to the default handler: the wrapper pcct keeps on SIGINT between calls still lets Python
# raise KeyboardInterrupt exactly once for a signal outside any call.
signal.signal(signal.SIGINT, signal.default_int_handler)
tree.knn(1, probe)


def sigint_raises():  # a SIGINT outside any call: True if Python raised KeyboardInterrupt for it
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
    except KeyboardInterrupt:
        return True
    return False


print("outside", [sigint_raises() for _ in range(3)] == [True, True, True])

# A library that chains to the previous C handler (faulthandler, registered after pcct's
# wrapper) neither loops nor loses the signal; a call under it is not stopped by pcct.
import faulthandler
faulthandler.register(signal.SIGINT, chain=True)
tree.knn(1, probe)
chained = sigint_raises()
faulthandler.unregister(signal.SIGINT)
print("faulthandler", chained and sigint_raises())
"""


def test_ctrl_c_stops_long_calls_and_leaves_the_index_unchanged():
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    got = {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines()}
    for what in ("function", "build", "insert", "query"):
        assert got[what][0] == "KeyboardInterrupt", r.stdout
        # Uninterrupted, each takes 10 s or more on 2 threads; stopped, ~50 ms after the signal.
        assert float(got[what][1]) < 3.0, r.stdout
    assert got["unchanged"] == ["True"], r.stdout
    assert got["handler"] == ["True"], r.stdout
    assert got["outside"] == ["True"] and got["faulthandler"] == ["True"], r.stdout


def test_the_cli_reports_an_interrupt_and_writes_nothing(tmp_path):
    coords = tmp_path / "x.npy"
    np.save(coords, np.random.default_rng(1).normal(size=(100_000, 32)))
    out = tmp_path / "ids.npy"
    p = subprocess.Popen([sys.executable, "-m", "pcct.cli", "knn", "--coords", str(coords), "--k", "1",
                          "--algorithm", "brute", "--threads", "2", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:  # progress lines; the search (10-25 s on 2 threads) starts after this one
        if "querying" in line:
            break
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=600)
    # The CLI says so and ends by SIGINT itself, as Python does, so a calling shell loop stops.
    assert p.returncode == -signal.SIGINT and "pcct: interrupted" in err, (p.returncode, err)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["x.npy"]


def test_exit_while_a_daemon_thread_is_in_a_call():
    # Calls on other threads never take the GIL inside: the interpreter can finalize while a
    # daemon thread is in a long call (taking the GIL there aborted the process at exit).
    child = ("import threading, numpy as np, pcct\n"
             "x = np.random.default_rng(0).normal(size=(50_000, 32))\n"
             "t = threading.Thread(target=lambda: pcct.brute_force_knn(x, k=1, n_threads=1), daemon=True)\n"
             "t.start()\n"
             "t.join(0.5)\n"
             "print('exiting', t.is_alive())\n")
    for _ in range(3):
        r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0 and r.stdout.strip() == "exiting True", (r.returncode, r.stdout, r.stderr)


def test_ctrl_c_works_when_pcct_was_first_imported_in_a_thread():
    # Python's C handler is found by the first call on the main thread (not at import, which
    # may happen in any thread), and the probe leaves SIGRTMAX as it was.
    child = ("import os, signal, threading, time\n"
             "import numpy as np\n"
             "t = threading.Thread(target=lambda: __import__('pcct')); t.start(); t.join()\n"
             "import pcct\n"
             "x = np.random.default_rng(0).normal(size=(100_000, 32))\n"
             "threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
             "t0 = time.perf_counter()\n"
             "try:\n"
             "    pcct.brute_force_knn(x, k=1, n_threads=2)\n"
             "    print('completed', time.perf_counter() - t0)\n"
             "except KeyboardInterrupt:\n"
             "    print('KeyboardInterrupt', time.perf_counter() - t0)\n"
             "print('SIGRTMAX', signal.getsignal(signal.SIGRTMAX) == signal.SIG_DFL)\n")
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [line.split() for line in r.stdout.splitlines()]
    assert lines[0][0] == "KeyboardInterrupt" and float(lines[0][1]) < 3.0, r.stdout
    assert lines[1] == ["SIGRTMAX", "True"], r.stdout
