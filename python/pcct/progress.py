"""Progress messages on stderr (silenced by --quiet)."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()

    def say(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:7.2f}s] {message}", file=sys.stderr, flush=True)

    def update(self, done: int, total: int) -> None:
        if self.quiet or total <= 0:
            return
        if self.tty:
            end = "\n" if done >= total else ""
            print(f"\r  {done}/{total} ({100.0 * done / total:5.1f}%)", end=end, file=sys.stderr, flush=True)
        elif done >= total:
            print(f"  {done}/{total} done", file=sys.stderr, flush=True)
