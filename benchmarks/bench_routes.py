"""Day routes: crmsim's plan_route (quality "fast" and "better", and "better" under a clock) vs
OR-Tools' default set-up as its TSP guide writes it (a Python distance callback,
PATH_CHEAPEST_ARC, the default local search), on the TSPLIB instances bundled in data/tsplib
and on random 50-stop days. Prints time and gap to the optimum (TSPLIB) or to the best route
found (random days), each measured in the same run.

    python benchmarks/bench_routes.py [--days 20] [--limit-ms 200]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def ortools_default(dist: np.ndarray) -> list[int]:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    d = np.rint(dist).astype(np.int64).tolist()
    manager = pywrapcp.RoutingIndexManager(len(d), 1, 0)
    routing = pywrapcp.RoutingModel(manager)

    def cb(i, j):
        return d[manager.IndexToNode(i)][manager.IndexToNode(j)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(cb))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    sol = routing.SolveWithParameters(params)
    order, i = [], sol.Value(routing.NextVar(routing.Start(0)))
    while not routing.IsEnd(i):
        order.append(manager.IndexToNode(i))
        i = sol.Value(routing.NextVar(i))
    return [0, *order]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    from crmsim.field.routes import (
        distance_matrix,
        plan_route,
        read_tsplib,
        read_tsplib_tour,
        tour_length,
    )

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=20, help="random 50-stop days")
    ap.add_argument("--limit-ms", type=int, default=200, help="the clock of the 'better, clocked' run")
    a = ap.parse_args()
    # speed 60: one distance unit is one minute, the solver's integer costs keep 1/100 of a unit
    runs = {
        "OR-Tools default": lambda d: ortools_default(d),
        "crmsim fast": lambda d: [0, *plan_route(d, speed_per_hour=60, quality="fast").order],
        "crmsim better": lambda d: [0, *plan_route(d, speed_per_hour=60, quality="better").order],
        f"crmsim better {a.limit_ms} ms": lambda d: [0, *plan_route(d, speed_per_hour=60, solutions=10**6,
                                                                    time_limit_ms=a.limit_ms).order],
    }
    plan_route(distance_matrix(np.random.default_rng(0).random((5, 2)), "euclidean"))  # import OR-Tools once
    cases = []
    for name in ("att48", "berlin52", "eil51"):
        _, _, d = read_tsplib(ROOT / "data" / "tsplib" / f"{name}.tsp")
        cases.append((name, d, tour_length(read_tsplib_tour(ROOT / "data" / "tsplib" / f"{name}.opt.tour"), d)))
    rng = np.random.default_rng(7)
    for k in range(a.days):
        cases.append((f"day{k}", distance_matrix(rng.random((51, 2)) * 30, "euclidean") * 10, None))
    res = {r: ([], []) for r in runs}
    for name, d, opt in cases:
        lens = {}
        for r, fn in runs.items():
            el, order = timed(lambda fn=fn, d=d: fn(d))
            lens[r] = tour_length(order, d)
            res[r][0].append(el)
        best = opt if opt is not None else min(lens.values())
        for r in runs:
            res[r][1].append(lens[r] / best - 1)
        if opt is not None:
            print(f"{name:<9} optimum {opt:>8.0f}  " + "  ".join(
                f"{r}: {res[r][1][-1]:+.1%} {res[r][0][-1] * 1000:.0f} ms" for r in runs))
    base = np.mean(res["OR-Tools default"][0])
    for r, (t, g) in res.items():
        print(f"{r:<22} TSPLIB mean gap {np.mean(g[:3]):5.2%}  all {len(g)} cases: mean gap {np.mean(g):5.2%}  "
              f"mean {np.mean(t) * 1000:7.1f} ms  max {np.max(t) * 1000:7.1f} ms  ({np.mean(t) / base:.2f}x OR-Tools default time)")


if __name__ == "__main__":
    main()
