"""Run every benchmark script in bench/ in sequence (`make bench`; `--quick` for a smoke run).

A benchmark is a `bench_*.py` module with a `main(argv)`; each runs in its own process
so one's event loop, pools and children never skew the next.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench.common import REPO_ROOT, bench_env

BENCH_DIR = Path(__file__).resolve().parent


def scripts() -> list[str]:
    return sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.run_all", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument("only", nargs="*", help="run only these (e.g. bench_delivery)")
    args = parser.parse_args(argv)
    failed: list[str] = []
    for name in args.only or scripts():
        command = [sys.executable, "-m", f"bench.{name}"] + (["--quick"] if args.quick else [])
        print(f"\n=== {name} {'(quick)' if args.quick else ''}", flush=True)
        started = time.monotonic()
        code = subprocess.call(command, cwd=REPO_ROOT, env=bench_env())
        print(f"=== {name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
