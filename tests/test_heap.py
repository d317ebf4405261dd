"""The heap is frozen once when a process starts serving (in a child process: freezing the test run's own heap
would keep its garbage cycles)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import gc
from bot.heap import settle_heap
assert gc.get_freeze_count() == 0
first = settle_heap()
assert first > 1000 and gc.get_freeze_count() == first, (first, gc.get_freeze_count())
assert settle_heap() == 0 and gc.get_freeze_count() == first, "only once per process"
junk = [[i] for i in range(1000)]
gc.collect()
assert gc.get_freeze_count() == first, "later objects stay visible to the collector"
print("ok", first)
"""


def test_settle_heap_freezes_what_exists_once():
    out = subprocess.run([sys.executable, "-c", "import bot.engine\n" + CHILD], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ")
