"""Import times of crmsim and each subpackage, each in a fresh interpreter (median of 5), next to
``import pandas`` (what any table tool pays first) and ``python -c pass``: ``import pkg`` (the
subpackages load a module on first use of one of its names, lazy_loader), and ``from pkg import *``
(every public name of the subpackage loaded, the worst a user can ask for).

    python benchmarks/bench_import.py

Heavy, feature-specific libraries (scikit-learn, OR-Tools, networkx, scipy.stats) load where a
feature uses them, not at import.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

MODULES = ["crmsim", "crmsim.leads", "crmsim.customers", "crmsim.finance", "crmsim.cpq", "crmsim.field",
           "crmsim.pipeline", "crmsim.graphs", "crmsim.sim", "crmsim.experiments", "crmsim.report", "crmsim.cli"]


def seconds(code: str, n: int = 5) -> float:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    base = seconds("pass")
    pandas = seconds("import pandas") - base
    print(f"interpreter start {base:.2f} s; import pandas {pandas:.2f} s (the peer)")
    print(f"{'module':<20} {'import s':>9} {'every name s':>13} {'/ pandas':>9}")
    for m in MODULES:
        t = seconds(f"import {m}") - base
        every = seconds(f"from {m} import *") - base
        print(f"{m:<20} {t:>9.2f} {every:>13.2f} {every / pandas:>9.2f}")
    t = seconds("import sys; sys.argv = ['crmsim', '--help']\nfrom crmsim.cli import build_parser; build_parser()")
    print(f"{'crmsim --help':<20} {t - base:>9.2f}")


if __name__ == "__main__":
    main()
