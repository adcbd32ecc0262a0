"""Ctrl-C stops a long call: pcct's loops run Python's signal handlers about every 50 ms."""
import signal
import subprocess
import sys
import time

import numpy as np

CHILD = r"""
import os, signal, threading, time
import numpy as np
import pcct

x = np.random.default_rng(0).normal(size=(100_000, 32))  # all-points k-NN: ~25 s on 2 cores
index = pcct.cover_tree(x, algorithm="brute")
ref = index.knn(3, x[:5])


class Custom(Exception):
    pass


def raise_custom(signum, frame):
    raise Custom("from the handler")


signal.signal(signal.SIGUSR1, raise_custom)
calls = [("function", signal.SIGINT, lambda: pcct.brute_force_knn(x, k=1)),
         ("index", signal.SIGINT, lambda: index.knn(1)),
         ("handler", signal.SIGUSR1, lambda: index.knn(1))]
for what, sig, call in calls:
    threading.Timer(0.3, lambda: os.kill(os.getpid(), sig)).start()
    t0 = time.perf_counter()
    try:
        call()
        print(what, "completed", time.perf_counter() - t0)
    except (KeyboardInterrupt, Custom) as e:
        print(what, type(e).__name__, time.perf_counter() - t0)
after = index.knn(3, x[:5])
print("same after", all(np.array_equal(a, b) for a, b in zip(ref, after)))
"""


def test_a_signal_stops_a_long_call_and_raises_the_handlers_exception():
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    lines = [line.split() for line in r.stdout.splitlines()]
    got = {line[0]: line[1:] for line in lines}
    for what, exc in (("function", "KeyboardInterrupt"), ("index", "KeyboardInterrupt"), ("handler", "Custom")):
        assert got[what][0] == exc, r.stdout
        # Uninterrupted, each call takes ~25 s; stopped, it returns within ~50 ms of the signal.
        assert float(got[what][1]) < 10.0, r.stdout
    assert got["same"] == ["after", "True"], r.stdout


def test_the_cli_reports_an_interrupt_and_writes_nothing(tmp_path):
    coords = tmp_path / "x.npy"
    np.save(coords, np.random.default_rng(1).normal(size=(100_000, 32)))
    out = tmp_path / "ids.npy"
    p = subprocess.Popen([sys.executable, "-m", "pcct.cli", "knn", "--coords", str(coords), "--k", "1",
                          "--algorithm", "brute", "--out", str(out), "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)  # past the start-up and the reading of the file, into the ~25 s search
    t0 = time.perf_counter()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=600)
    assert time.perf_counter() - t0 < 10.0
    assert p.returncode == 130 and err.strip().endswith("pcct: interrupted"), err
    assert sorted(f.name for f in tmp_path.iterdir()) == ["x.npy"]
