"""`make bench`: run every benchmark in this folder in turn; each prints its own table.

python benchmarks/run_all.py              # all of them
python benchmarks/run_all.py roster rpc   # only those whose name contains a word
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Arguments a benchmark gets here: loadsim's full default (100 communities, 4 replicas) runs alone (`make loadsim`).
ARGS = {"bench_loadsim": ["--quick"]}


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(word in s.stem for word in argv)]
    failed = []
    for script in scripts:
        print(f"\n### {script.stem}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script), *ARGS.get(script.stem, [])])
        print(f"({script.stem}: {time.monotonic() - started:.0f} s, exit {code})", flush=True)
        if code:
            failed.append(script.stem)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
