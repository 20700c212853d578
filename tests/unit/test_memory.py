"""`unmap_large_allocations` fixes glibc's mmap threshold (this machine's C library), and
leaves an operator's own `MALLOC_MMAP_THRESHOLD_` alone. What it is for, a bounded resident
peak under concurrent large uploads, is `tests/faults/test_ingest_limits.py`."""

import platform

import pytest

from app.ops.memory import unmap_large_allocations


def test_glibc_takes_the_fixed_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert platform.libc_ver()[0] == "glibc"  # the C library CI and the Docker image run
    assert unmap_large_allocations() is True


def test_an_operators_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "4194304")
    assert unmap_large_allocations() is False
