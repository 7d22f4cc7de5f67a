"""Day routes for field visits (FEATURES SFE): the order to visit the planned stops from a start
point, with travel times, time windows and service times, solved with Google OR-Tools' routing
solver: a construction heuristic and local search to a local optimum incl. 2-opt / Or-opt moves
(``quality="fast"``), then guided local search for a fixed number of solutions on routes of more
than 12 stops (``"better"``, the default). The matrices go to the solver's C++ side (no Python
call per arc); an optional clock in milliseconds bounds the whole solve.

Distances: ``haversine`` (lat/lon in degrees, km), ``euclidean`` (x/y), ``att`` (TSPLIB pseudo-
Euclidean) or a matrix you pass. :func:`read_tsplib` loads TSPLIB instances.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from crmsim.errors import need

__all__ = ["Route", "QUALITIES", "distance_matrix", "haversine_km", "plan_route", "tour_length", "read_tsplib",
           "read_tsplib_tour", "frame"]

EARTH_KM = 6371.0088


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km (vectorised, degrees in).

    Examples
    --------
    >>> round(float(haversine_km(52.52, 13.405, 48.137, 11.575)), 1)     # Berlin - Munich
    504.3
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.minimum(1.0, a)))


def distance_matrix(points: np.ndarray, metric: Literal["haversine", "euclidean", "att"] = "haversine") -> np.ndarray:
    """Pairwise distances of ``points`` (n x 2: lat/lon for haversine, else x/y).

    Examples
    --------
    >>> distance_matrix(np.array([[0.0, 0.0], [3.0, 4.0]]), "euclidean").tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    """
    p = np.asarray(points, dtype=float)
    if metric == "haversine":
        return haversine_km(p[:, None, 0], p[:, None, 1], p[None, :, 0], p[None, :, 1])
    d = p[:, None, :] - p[None, :, :]
    if metric == "euclidean":
        return np.sqrt((d**2).sum(-1))
    r = np.sqrt((d**2).sum(-1) / 10.0)  # TSPLIB ATT: round up pseudo-Euclidean
    t = np.rint(r)
    return np.where(t < r, t + 1, t)


def tour_length(order, dist: np.ndarray, *, closed: bool = True) -> float:
    """Length of a tour (list of node indices) on a distance matrix.

    Examples
    --------
    >>> d = distance_matrix(np.array([[0, 0], [0, 3], [4, 3], [4, 0]], dtype=float), "euclidean")
    >>> tour_length([0, 1, 2, 3], d), tour_length([0, 1, 2, 3], d, closed=False)
    (14.0, 10.0)
    """
    o = list(order)
    legs = [dist[a, b] for a, b in zip(o, o[1:])]
    if closed and len(o) > 1:
        legs.append(dist[o[-1], o[0]])
    return float(sum(legs))


@dataclass(frozen=True)
class Route:
    """A solved route: ``order`` of stop positions (the start is not included), arrival and
    departure minutes for each, the travel time and distance, and stops left out (infeasible).

    Examples
    --------
    >>> pts = np.array([[0, 0], [0, 3], [4, 3], [4, 0]], dtype=float)
    >>> r = plan_route(distance_matrix(pts, "euclidean"), speed_per_hour=60, service_minutes=10, quality="fast")
    >>> r.distance, r.travel_minutes, len(r.arrival), r.dropped
    (14.0, 14.0, 3, [])
    """

    order: list[int]
    arrival: list[float]
    departure: list[float]
    travel_minutes: float
    distance: float
    dropped: list[int]


#: The search each ``quality`` runs: first solution + local search, or that then guided local search.
QUALITIES = ("fast", "better")


def plan_route(dist: np.ndarray, *, speed_per_hour: float = 30.0, service_minutes=0.0,
               windows: list[tuple[float, float]] | None = None, start_minute: float = 0.0,
               day_end_minute: float | None = None, return_to_start: bool = True,
               quality: Literal["fast", "better"] = "better", solutions: int = 200,
               time_limit_ms: int | None = None, allow_drop: bool = False,
               drop_penalty: float = 1e6) -> Route:
    """Order the stops 1..n-1 of ``dist`` (node 0 is the start) to minimise travel.

    Parameters
    ----------
    dist : (n x n) distances; node 0 is the start (a rep's home or office).
    speed_per_hour : distance units per hour (km/h for haversine).
    service_minutes : time on site, a scalar or one per node (node 0's is ignored).
    windows : (open, close) minute of the day per node (node 0: the working day); a stop must be
        *started* inside its window; waiting for a window to open is allowed.
    day_end_minute : latest return (or last departure) time.
    quality : ``"fast"``: the cheapest-arc construction and local search to a local optimum
        (deterministic; a few ms for a 50-stop day); ``"better"``: then guided local search for
        ``solutions`` more solutions (routes of more than 12 stops; deterministic for a given
        ``solutions``).
    time_limit_ms : a clock for the whole solve, in milliseconds: the search stops when it runs
        out and the best route so far is returned (results then depend on the machine's speed).
        Unset, only the solution budget bounds the search.
    allow_drop : let infeasible stops be left out (at ``drop_penalty`` each) instead of failing.

    Examples
    --------
    >>> pts = np.array([[0, 0], [0, 3], [4, 3], [4, 0]], dtype=float)
    >>> r = plan_route(distance_matrix(pts, "euclidean"), speed_per_hour=60, quality="fast")
    >>> r.order in ([1, 2, 3], [3, 2, 1]), r.distance
    (True, 14.0)
    """
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {list(QUALITIES)}, got {quality!r}")
    if time_limit_ms is not None and time_limit_ms < 1:
        raise ValueError(f"time_limit_ms must be >= 1, got {time_limit_ms}")
    t0 = time.perf_counter()
    n = len(dist)
    travel = np.rint(np.asarray(dist, dtype=float) / speed_per_hour * 60.0 * 100).astype(np.int64)  # 1/100 min
    svc = np.broadcast_to(np.asarray(service_minutes, dtype=float), (n,)).copy()
    svc[0] = 0.0
    svc_i = np.rint(svc * 100).astype(np.int64)
    ends = [0] if return_to_start else [n]  # an extra dummy end node when routes are open
    m = n if return_to_start else n + 1
    if not return_to_start:
        travel = np.pad(travel, ((0, 1), (0, 1)))
        svc_i = np.append(svc_i, 0)
    need("ortools", "plan_route (day routes)")
    from ortools.constraint_solver import (  # OR-Tools loads when a route is planned
        pywrapcp,
        routing_enums_pb2,
    )

    manager = pywrapcp.RoutingIndexManager(m, 1, [0], ends)
    routing = pywrapcp.RoutingModel(manager)
    # matrices by node (the manager's index = node for one vehicle with these start/end nodes)
    d_idx = routing.RegisterTransitMatrix(travel.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(d_idx)
    t_idx = routing.RegisterTransitMatrix((travel + svc_i[:, None]).tolist())
    horizon = int(((day_end_minute if day_end_minute is not None else 10**6) + 1) * 100)
    routing.AddDimension(t_idx, horizon, horizon, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    start_i = routing.Start(0)
    tdim.CumulVar(start_i).SetRange(int(start_minute * 100), int(start_minute * 100))
    if windows is not None:
        for node in range(1, n):
            lo, hi = windows[node]
            tdim.CumulVar(manager.NodeToIndex(node)).SetRange(int(lo * 100), int(hi * 100))
    if day_end_minute is not None:
        tdim.CumulVar(routing.End(0)).SetMax(int(day_end_minute * 100))
    if allow_drop:
        for node in range(1, n):
            routing.AddDisjunction([manager.NodeToIndex(node)], int(drop_penalty * 100))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT

    def left_ms() -> int | None:
        return None if time_limit_ms is None else int(time_limit_ms - (time.perf_counter() - t0) * 1000)

    if (ms := left_ms()) is not None:
        params.time_limit.FromMilliseconds(max(ms, 1))
    sol = routing.SolveWithParameters(params)  # a local optimum: deterministic, ends by itself
    ms = left_ms()
    if sol is not None and quality == "better" and n > 12 and solutions > 0 and (ms is None or ms > 1):
        # then guided local search from it, for a fixed number of solutions (and the clock's rest)
        params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        params.solution_limit = solutions
        if ms is not None:
            params.time_limit.FromMilliseconds(ms)
        better = routing.SolveFromAssignmentWithParameters(sol, params)
        if better is not None:
            sol = better
    if sol is None and time_limit_ms is not None and left_ms() <= 0:
        raise ValueError(f"time_limit_ms={time_limit_ms} ran out before a first route was found for {n - 1} "
                         "stops: raise the limit (or leave it unset)")
    if sol is None:
        raise ValueError("no feasible route: the time windows or the day end cannot all be met "
                         "(pass allow_drop=True to leave stops out)")
    order, arr, dep = [], [], []
    idx = routing.NextVar(start_i)
    i = sol.Value(routing.NextVar(start_i))
    while not routing.IsEnd(i):
        node = manager.IndexToNode(i)
        t = sol.Value(tdim.CumulVar(i)) / 100
        order.append(node)
        arr.append(t)
        dep.append(float(t + svc[node]))
        i = sol.Value(routing.NextVar(i))
    del idx
    full = [0, *order] + ([0] if return_to_start else [])
    distance = tour_length(full, np.asarray(dist, dtype=float), closed=False)
    dropped = sorted(set(range(1, n)) - set(order))
    return Route(order, arr, dep, distance / speed_per_hour * 60.0, distance, dropped)


def _tsplib_sections(path) -> tuple[dict[str, str], dict[str, list[list[str]]]]:
    head: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    current = None
    for line in open(path, encoding="utf-8"):
        t = line.strip()
        if not t or t == "EOF":
            continue
        if ":" in t:  # a "KEY : value" header line (data lines have no colon)
            k, v = t.split(":", 1)
            head[k.strip().upper()] = v.strip()
            current = None
        elif t.upper().endswith("_SECTION"):
            current = t.upper()
            sections[current] = []
        elif current is not None:
            sections[current].append(t.split())
    return head, sections


def _nint(x):
    return np.floor(np.asarray(x) + 0.5)


def _geo(coords: np.ndarray) -> np.ndarray:
    """TSPLIB GEO: degrees.minutes coordinates, distances in km on TSPLIB's idealised sphere."""
    deg = np.trunc(coords)
    rad = np.pi * (deg + 5.0 * (coords - deg) / 3.0) / 180.0
    lat, lon = rad[:, 0], rad[:, 1]
    q1 = np.cos(lon[:, None] - lon[None, :])
    q2 = np.cos(lat[:, None] - lat[None, :])
    q3 = np.cos(lat[:, None] + lat[None, :])
    d = np.floor(6378.388 * np.arccos(np.clip(0.5 * ((1 + q1) * q2 - (1 - q1) * q3), -1, 1)) + 1.0)
    np.fill_diagonal(d, 0)
    return d


def read_tsplib(path) -> tuple[str, np.ndarray, np.ndarray]:
    """``(name, coordinates, distance matrix)`` of a TSPLIB TSP instance with node coordinates,
    with TSPLIB's distance functions (EUC_2D and CEIL_2D rounded as specified, ATT, GEO).

    (The ``tsplib95`` package would do this, but pins networkx < 3; this reader covers the
    coordinate-based types.)

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sq.tsp"
    >>> _ = p.write_text("NAME: sq\\nTYPE: TSP\\nDIMENSION: 3\\nEDGE_WEIGHT_TYPE: EUC_2D\\nNODE_COORD_SECTION\\n1 0 0\\n2 3 4\\n3 6 8\\nEOF\\n")
    >>> name, xy, d = read_tsplib(p)
    >>> name, xy.shape, d[0].tolist()
    ('sq', (3, 2), [0.0, 5.0, 10.0])
    """
    head, sec = _tsplib_sections(path)
    kind = head.get("EDGE_WEIGHT_TYPE", "").upper()
    rows = sec.get("NODE_COORD_SECTION")
    if not rows:
        raise ValueError(f"{path}: no NODE_COORD_SECTION (explicit weight matrices are not supported)")
    coords = np.array([[float(r[1]), float(r[2])] for r in rows])
    d = coords[:, None, :] - coords[None, :, :]
    euc = np.sqrt((d**2).sum(-1))
    if kind == "EUC_2D":
        dist = _nint(euc)
    elif kind == "CEIL_2D":
        dist = np.ceil(euc)
    elif kind == "ATT":
        dist = distance_matrix(coords, "att")
    elif kind == "GEO":
        dist = _geo(coords)
    else:
        raise ValueError(f"{path}: EDGE_WEIGHT_TYPE {kind!r} is not supported (EUC_2D, CEIL_2D, ATT, GEO)")
    return head.get("NAME", str(path)), coords, dist


def read_tsplib_tour(path) -> list[int]:
    """The node order of a TSPLIB ``.tour`` file, as 0-based positions.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sq.tour"
    >>> _ = p.write_text("NAME: sq.tour\\nTYPE: TOUR\\nDIMENSION: 3\\nTOUR_SECTION\\n1\\n3\\n2\\n-1\\nEOF\\n")
    >>> read_tsplib_tour(p)
    [0, 2, 1]
    """
    _, sec = _tsplib_sections(path)
    nodes = [int(x) for r in sec.get("TOUR_SECTION", []) for x in r]
    return [i - 1 for i in nodes[: nodes.index(-1)] if i > 0] if -1 in nodes else [i - 1 for i in nodes]


def frame(route: Route, stops: pd.DataFrame) -> pd.DataFrame:
    """The route as a table of stops (rows of ``stops`` by position 1..n-1) in visiting order.

    Examples
    --------
    >>> import pandas as pd
    >>> stops = pd.DataFrame({"customer_id": ["depot", "s1", "s2", "s3"], "x": [0.0, 0.0, 4.0, 4.0], "y": [0.0, 3.0, 3.0, 0.0]})
    >>> r = plan_route(distance_matrix(stops[["x", "y"]].to_numpy(), "euclidean"), speed_per_hour=60, quality="fast")
    >>> frame(r, stops).columns.tolist()[:3], len(frame(r, stops))
    (['customer_id', 'x', 'y'], 3)
    """
    out = stops.iloc[[k - 1 for k in route.order]].copy()
    out["arrival_min"], out["departure_min"] = route.arrival, route.departure
    out["seq"] = np.arange(1, len(out) + 1)
    return out
