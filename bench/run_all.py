"""`make bench`: run every benchmark in this folder; each prints its line(s) of figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name.startswith("_") or script.name == "run_all.py":
            continue
        proc = subprocess.run(
            [sys.executable, str(script)], cwd=HERE, capture_output=True, text=True, check=False
        )
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        if proc.returncode != 0 or not lines:
            failed += 1
            print(f"{script.stem} error=exit_{proc.returncode}", flush=True)
            sys.stderr.write(proc.stderr[-3000:])
        else:
            for line in lines:
                print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
