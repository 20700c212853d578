"""Large buffers go back to the system when freed (glibc's malloc, on Linux).

glibc serves an allocation above its mmap threshold with a mapping of its own, unmapped
on free. The threshold is dynamic, though: freeing such a chunk raises it to that chunk's
size (up to 32 MiB), so the next 25 MiB ingest bodies come from the heap arenas of
whichever thread made them (the event loop's, the database driver's), where freed memory
stays resident and fragments. Under CPU contention the resident peak of 20 concurrent
25 MiB uploads reached 441 MiB with the 64 MiB ingest budget; with the threshold fixed at
1 MiB (fixing it also ends the adjustment) it stayed at 128–183 MiB
(`tests/faults/test_ingest_limits.py`). An operator's own `MALLOC_MMAP_THRESHOLD_` wins.
"""

import ctypes
import os
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
THRESHOLD_BYTES = 1 << 20


def unmap_large_allocations() -> bool:
    """Fix glibc's mmap threshold at 1 MiB for this process; False where it does not apply
    (not Linux, a C library without `mallopt`, or the operator set the variable)."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:  # musl and others: their own allocator, nothing to fix
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
