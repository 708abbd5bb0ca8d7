"""Deleting outputs without skewing the next timing.

On ext4 without a journal (the root file system of the machines these benchmarks run on), the
kernel avoids reusing an inode freed less than 5 s ago, or less than 305 s ago while its inode
table block is dirty (`recently_deleted()` in fs/ext4/ialloc.c): after a large deletion, every
mkdir and create walks past the freed inodes, and a tool that writes 100,000 files pays seconds
of system time for files it never saw (measured: the same platform build 3.5 s of system time,
22 s right after 700,000 files were deleted). So the benchmarks delete through `remove`, which
notes when, and call `wait` before their first timed run: it sleeps out what is left of that
window. SOPIXI_BENCH_NO_SETTLE=1 skips the wait (the figures may then carry another run's
deletions)."""
import os
import shutil
import time

WINDOW = 310  # seconds: 5 + 300, and a margin


def _stamp(work):
    return os.path.join(work, ".deleted-at")


def remove(path, work):
    """Deletes path (if there) and notes the time in `work`, where `wait` looks."""
    if not os.path.lexists(path):
        return
    shutil.rmtree(path, ignore_errors=True)
    os.sync()
    os.makedirs(work, exist_ok=True)
    with open(_stamp(work), "w") as fh:
        fh.write("%f\n" % time.time())


def wait(work):
    """Sleeps until WINDOW seconds have passed since the last `remove` noted in `work`."""
    if os.environ.get("SOPIXI_BENCH_NO_SETTLE") == "1":
        return
    try:
        with open(_stamp(work)) as fh:
            then = float(fh.read().strip())
    except (OSError, ValueError):
        return
    left = WINDOW - (time.time() - then)
    if left > 0:
        print("  waiting %.0f s: files deleted %.0f s ago still slow down creating new ones (benches/settle.py)"
              % (left, WINDOW - left), flush=True)
        time.sleep(left)
