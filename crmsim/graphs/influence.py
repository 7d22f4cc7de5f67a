"""Power maps of a buying centre and influence dynamics (FEATURES MCR).

A power map is a directed graph of the customer's contacts: node attributes ``role``, ``power``
(0..1, formal decision power), ``attitude`` to us (-1..1), ``stubbornness`` (0..1) and
``relationship`` (how strong our team's relationship with the contact is, 0..1); an edge
``u -> v`` with ``weight`` means u influences v (``kind`` ``influence`` or ``reports_to``).

Dynamics: Friedkin-Johnsen opinion dynamics (DeGroot when nobody is stubborn) with a closed-form
equilibrium, and an independent-cascade alternative. The decision model (an assumption, stated
here): the decision is the power-weighted mean attitude of the decision makers at equilibrium,
and P(we win) = logistic(``slope`` x that mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import Field

from crmsim.config import Config

__all__ = ["ROLES", "power_map", "who_decides", "coverage", "support", "single_points_of_failure",
           "influence_matrix", "friedkin_johnsen", "fj_equilibrium", "independent_cascade",
           "DecisionModel", "Action", "apply_actions", "recommend", "Recommendation"]

ROLES = ("decision_maker", "technical_evaluator", "user", "finance", "procurement", "coach", "blocker")


def power_map(contacts: pd.DataFrame, edges: pd.DataFrame) -> nx.DiGraph:
    """Build and check a power map. ``contacts``: ``contact_id, role, power, attitude`` (and
    optionally ``stubbornness``, ``relationship``, ``name``); ``edges``: ``source, target,
    weight`` (and optionally ``kind``). Errors name the contact and the bad value.

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> g.number_of_nodes(), g.number_of_edges(), g.nodes["cfo"]["role"]
    (4, 3, 'decision_maker')
    """
    need = ("contact_id", "role", "power", "attitude")
    miss = [c for c in need if c not in contacts.columns]
    if miss:
        raise KeyError(f"contacts: column(s) {miss} missing")
    bad_role = contacts[~contacts["role"].isin(ROLES)]
    if len(bad_role):
        raise ValueError(f"contacts: unknown role(s) {bad_role[['contact_id', 'role']].values.tolist()[:5]}; roles are {list(ROLES)}")
    for col, lo, hi in (("power", 0, 1), ("attitude", -1, 1), ("stubbornness", 0, 1), ("relationship", 0, 1)):
        if col in contacts.columns:
            bad = contacts[(contacts[col] < lo) | (contacts[col] > hi)]
            if len(bad):
                raise ValueError(f"contacts: {col} must be in [{lo}, {hi}]: {bad[['contact_id', col]].values.tolist()[:5]}")
    g = nx.DiGraph()
    for rec in contacts.to_dict("records"):
        rec.setdefault("stubbornness", 0.3)
        rec.setdefault("relationship", 0.0)
        g.add_node(rec.pop("contact_id"), **rec)
    unknown = set(edges["source"]).union(edges["target"]) - set(g.nodes)
    if unknown:
        raise ValueError(f"edges name unknown contacts: {sorted(unknown)[:10]}")
    for rec in edges.to_dict("records"):
        if not 0 <= rec["weight"] <= 1:
            raise ValueError(f"edge {rec['source']} -> {rec['target']}: weight must be in [0, 1], got {rec['weight']}")
        g.add_edge(rec["source"], rec["target"], weight=float(rec["weight"]), kind=rec.get("kind", "influence"))
    return g


def who_decides(g: nx.DiGraph, *, alpha: float = 0.85) -> pd.DataFrame:
    """Who really decides: formal power, PageRank on the reversed influence graph (being listened
    to by people who are listened to), weighted in-influence, and ``real_power`` = the mean of
    formal power and normalised PageRank, ranked.

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> w = who_decides(g)
    >>> w.index.tolist(), w.columns.tolist()
    (['cfo', 'buyer', 'cio', 'it_lead'], ['role', 'power', 'pagerank', 'influence_out', 'real_power'])
    """
    pr = nx.pagerank(g.reverse(copy=True), alpha=alpha, weight="weight")
    out_w = dict(g.out_degree(weight="weight"))
    df = pd.DataFrame({"role": nx.get_node_attributes(g, "role"), "power": nx.get_node_attributes(g, "power"),
                       "pagerank": pr, "influence_out": out_w})
    df["real_power"] = (df["power"] + df["pagerank"] / df["pagerank"].max()) / 2
    return df.sort_values("real_power", ascending=False)


def coverage(g: nx.DiGraph, *, strong: float = 0.5) -> pd.DataFrame:
    """Per decision role: contacts, our best relationship strength, and whether it is covered
    (some relationship >= ``strong``).

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> coverage(g).to_dict("index")
    {'decision_maker': {'contacts': 2, 'best': 0.3, 'covered': False}, 'technical_evaluator': {'contacts': 1, 'best': 0.8, 'covered': True}, 'user': {'contacts': 1, 'best': 0.6, 'covered': True}}
    """
    df = pd.DataFrame({"role": nx.get_node_attributes(g, "role"),
                       "relationship": nx.get_node_attributes(g, "relationship")})
    out = df.groupby("role").agg(contacts=("relationship", "size"), best=("relationship", "max"))
    out["covered"] = out["best"] >= strong
    return out.reindex([r for r in ROLES if r in out.index])


def support(g: nx.DiGraph, attitudes: pd.Series | None = None) -> float:
    """Power-weighted mean attitude of the whole buying centre (-1..1).

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> round(support(g), 3)
    0.11
    """
    att = attitudes if attitudes is not None else pd.Series(nx.get_node_attributes(g, "attitude"))
    pw = pd.Series(nx.get_node_attributes(g, "power"))
    return float((att.reindex(pw.index) * pw).sum() / pw.sum()) if pw.sum() else 0.0


def single_points_of_failure(g: nx.DiGraph, *, strong: float = 0.5) -> pd.DataFrame:
    """Contacts every influence path from our strong relationships to a decision maker passes
    through (dominators): lose one and we lose our line to that decision maker.

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> single_points_of_failure(g).values.tolist()
    [['cfo', True, ['cio', 'it_lead']], ['cio', True, ['it_lead']]]
    """
    ours = [n for n, r in g.nodes(data="relationship") if r >= strong]
    deciders = [n for n, r in g.nodes(data="role") if r == "decision_maker"]
    h = g.copy()
    h.add_node("__us__")
    h.add_edges_from(("__us__", n) for n in ours)
    dom = nx.immediate_dominators(h, "__us__")
    rows = []
    for d in deciders:
        if d not in dom:
            rows.append({"decision_maker": d, "reachable": False, "through": []})
            continue
        chain, n = [], d
        while dom[n] != n and dom[n] != "__us__":
            n = dom[n]
            chain.append(n)
        rows.append({"decision_maker": d, "reachable": True, "through": chain})
    return pd.DataFrame(rows)


def influence_matrix(g: nx.DiGraph) -> tuple[list, np.ndarray]:
    """Row-stochastic W: row i holds the weights with which i listens to each contact (its
    in-edges), plus i's own weight 1 - sum (at least 0); rows are normalised.

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> names, W = influence_matrix(g)
    >>> names, W.sum(axis=1).round(6).tolist()
    (['cfo', 'cio', 'it_lead', 'buyer'], [1.0, 1.0, 1.0, 1.0])
    """
    nodes = list(g.nodes)
    idx = {n: k for k, n in enumerate(nodes)}
    W = np.zeros((len(nodes), len(nodes)))
    for u, v, w in g.edges(data="weight"):
        W[idx[v], idx[u]] += w
    self_w = np.maximum(0.0, 1.0 - W.sum(axis=1))
    W[np.arange(len(nodes)), np.arange(len(nodes))] += self_w
    W /= W.sum(axis=1, keepdims=True)
    return nodes, W


def friedkin_johnsen(g: nx.DiGraph, *, steps: int = 200, tol: float = 1e-10) -> pd.DataFrame:
    """Iterate x(t+1) = L W x(t) + (I - L) x(0), L = diag(1 - stubbornness), from the current
    attitudes; returns the trajectory (one column per step) until it converges.

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> traj = friedkin_johnsen(g)
    >>> bool((traj.iloc[:, -1] - fj_equilibrium(g).reindex(traj.index)).abs().max() < 1e-6), traj.iloc[:, 0].to_dict()
    (True, {'cfo': -0.2, 'cio': 0.1, 'it_lead': 0.8, 'buyer': 0.5})
    """
    nodes, W = influence_matrix(g)
    x0 = np.array([g.nodes[n]["attitude"] for n in nodes], dtype=float)
    lam = 1 - np.array([g.nodes[n]["stubbornness"] for n in nodes], dtype=float)
    xs = [x0]
    x = x0
    for _ in range(steps):
        nxt = lam * (W @ x) + (1 - lam) * x0
        xs.append(nxt)
        if np.max(np.abs(nxt - x)) < tol:
            break
        x = nxt
    return pd.DataFrame(np.array(xs).T, index=nodes)


def fj_equilibrium(g: nx.DiGraph) -> pd.Series:
    """Closed form x* = (I - L W)^-1 (I - L) x(0) (exists when some contact is stubborn in every
    strongly connected part).

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> fj_equilibrium(g).round(3).to_dict()
    {'cfo': -0.11, 'cio': 0.308, 'it_lead': 0.655, 'buyer': 0.5}
    """
    nodes, W = influence_matrix(g)
    x0 = np.array([g.nodes[n]["attitude"] for n in nodes], dtype=float)
    lam = 1 - np.array([g.nodes[n]["stubbornness"] for n in nodes], dtype=float)
    A = np.eye(len(nodes)) - lam[:, None] * W
    return pd.Series(np.linalg.solve(A, (1 - lam) * x0), index=nodes, name="attitude_eq")


def independent_cascade(g: nx.DiGraph, seeds, *, runs: int = 1000, seed=None) -> pd.Series:
    """P(each contact becomes a supporter) when ``seeds`` support us and every new supporter
    convinces each contact it influences once, with probability = edge weight (Monte Carlo).

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> independent_cascade(g, ["buyer"], runs=2000, seed=1).round(2).to_dict()
    {'cfo': 0.13, 'cio': 0.26, 'it_lead': 0.41, 'buyer': 1.0}
    """
    rng = np.random.default_rng(seed)
    nodes = list(g.nodes)
    idx = {n: k for k, n in enumerate(nodes)}
    out = [[(idx[v], w) for _, v, w in g.out_edges(n, data="weight")] for n in nodes]
    hits = np.zeros(len(nodes))
    for _ in range(runs):
        active = np.zeros(len(nodes), dtype=bool)
        frontier = [idx[s] for s in seeds]
        active[frontier] = True
        while frontier:
            new = []
            for u in frontier:
                for v, w in out[u]:
                    if not active[v] and rng.random() < w:
                        active[v] = True
                        new.append(v)
            frontier = new
        hits += active
    return pd.Series(hits / runs, index=nodes, name="p_support")


class DecisionModel(Config):
    """P(win) = logistic(slope x power-weighted mean equilibrium attitude of the decision makers,
    plus ``blocker_weight`` x that of blockers).

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> m = DecisionModel(slope=4.0)
    >>> round(m.p_win(g), 3), round(m.p_win(apply_actions(g, [Action(kind="meeting", contact="cfo")])), 3)
    (0.557, 0.695)
    """

    slope: float = Field(default=4.0, gt=0)
    blocker_weight: float = Field(default=0.5, ge=0)

    def p_win(self, g: nx.DiGraph, attitudes: pd.Series | None = None) -> float:
        att = fj_equilibrium(g) if attitudes is None else attitudes
        role = nx.get_node_attributes(g, "role")
        power = nx.get_node_attributes(g, "power")
        num = den = 0.0
        for n, a in att.items():
            w = power[n] * (1.0 if role[n] == "decision_maker" else self.blocker_weight if role[n] == "blocker" else 0.0)
            num += w * a
            den += w
        m = num / den if den else 0.0
        return float(1 / (1 + np.exp(-self.slope * m)))


class Action(Config):
    """Something our team does: a ``meeting`` or ``executive_meeting`` moves the contact's attitude
    towards +1 by ``effect`` of the gap (and raises our relationship); a ``sponsor`` (the contact
    becomes our sponsor) adds an influence edge from them to every decision maker.

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> after = apply_actions(g, [Action(kind="meeting", contact="cfo")])
    >>> g.nodes["cfo"]["attitude"], round(after.nodes["cfo"]["attitude"], 3)
    (-0.2, 0.1)
    """

    kind: Literal["meeting", "executive_meeting", "sponsor"]
    contact: str
    effect: float | None = Field(default=None, ge=0, le=1)

    def strength(self) -> float:
        return self.effect if self.effect is not None else {"meeting": 0.25, "executive_meeting": 0.4,
                                                            "sponsor": 0.3}[self.kind]


def apply_actions(g: nx.DiGraph, actions) -> nx.DiGraph:
    """A copy of the power map after our actions.

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> after = apply_actions(g, [Action(kind="sponsor", contact="it_lead")])
    >>> g.number_of_edges(), after.number_of_edges()
    (3, 4)
    """
    h = g.copy()
    for a in actions:
        if a.contact not in h:
            raise KeyError(f"action on unknown contact '{a.contact}'")
        node = h.nodes[a.contact]
        if a.kind in ("meeting", "executive_meeting"):
            node["attitude"] = node["attitude"] + a.strength() * (1 - node["attitude"])
            node["relationship"] = min(1.0, node["relationship"] + a.strength())
        else:
            for d, role in h.nodes(data="role"):
                if role == "decision_maker" and d != a.contact:
                    w = h.edges[a.contact, d]["weight"] if h.has_edge(a.contact, d) else 0.0
                    h.add_edge(a.contact, d, weight=min(1.0, w + a.strength()), kind="influence")
    return h


@dataclass(frozen=True)
class Recommendation:
    """What :func:`recommend` advises: the contacts to meet, in order, and P(win) before any
    action and after each.

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> r = recommend(g, 1)
    >>> len(r.plan), len(r.p_win), r.p_win[1] >= r.p_win[0]
    (1, 2, True)
    """

    plan: list[str]
    p_win: list[float]  # before any action, then after each step


def recommend(g: nx.DiGraph, budget: int, *, kind: str = "meeting", model: DecisionModel | None = None) -> Recommendation:
    """Greedy plan: ``budget`` times, meet the contact whose meeting raises P(win) (at the
    Friedkin-Johnsen equilibrium) the most. A contact may be met more than once.

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> g = power_map(contacts, edges)
    >>> r = recommend(g, 2)
    >>> r.plan, [round(p, 3) for p in r.p_win]
    (['cfo', 'cfo'], [0.557, 0.695, 0.78])
    """
    model = model or DecisionModel()
    plan, ps = [], [model.p_win(g)]
    cur = g
    for _ in range(budget):
        best, best_p, best_g = None, -1.0, None
        for n in cur.nodes:
            h = apply_actions(cur, [Action(kind=kind, contact=n)])
            p = model.p_win(h)
            if p > best_p + 1e-12:
                best, best_p, best_g = n, p, h
        plan.append(best)
        ps.append(best_p)
        cur = best_g
    return Recommendation(plan, ps)
