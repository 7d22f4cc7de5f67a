"""Organisation structure of a customer group (FEATURES MCR): legal entities and subsidiaries as a
directed tree (parent -> child), roll-ups of any measure to every ancestor, and group credit
limits shared by subsidiaries."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

__all__ = ["OrgError", "org_tree", "rollup", "group_of", "available_credit"]


class OrgError(ValueError):
    """The parent table does not form a tree (unknown parent, a cycle, a duplicate id).

    Examples
    --------
    >>> import pandas as pd
    >>> org_tree(pd.DataFrame({"entity_id": ["a", "b"], "parent_id": ["b", "a"]}))
    Traceback (most recent call last):
    ...
    crmsim.graphs.org.OrgError: the parent links form a cycle: a -> b -> a
    """


def org_tree(entities: pd.DataFrame, *, id_col: str = "entity_id", parent_col: str = "parent_id") -> nx.DiGraph:
    """A forest (one tree per group) from a parent-id table; node attributes are the other
    columns. Raises :class:`OrgError` naming duplicate ids, unknown parents or the cycle.

    Examples
    --------
    >>> t = org_tree(pd.DataFrame({"entity_id": ["g", "a", "b"], "parent_id": [None, "g", "a"]}))
    >>> sorted(t.successors("g")), group_of(t)["b"]
    (['a'], 'g')
    """
    for c in (id_col, parent_col):
        if c not in entities.columns:
            raise KeyError(f"entities: column '{c}' missing; columns are {list(entities.columns)}")
    ids = entities[id_col].astype(str)
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        raise OrgError(f"duplicate {id_col}: {dup[:10]}")
    parent = entities[parent_col]
    has_parent = parent.notna() & (parent.astype(str) != "")
    unknown = entities.loc[has_parent & ~parent.astype(str).isin(set(ids)), [id_col, parent_col]]
    if len(unknown):
        rows = [f"{r[id_col]} -> {r[parent_col]}" for _, r in unknown.head(10).iterrows()]
        raise OrgError(f"unknown {parent_col} for: {rows}")
    g = nx.DiGraph()
    for rec in entities.to_dict("records"):
        g.add_node(str(rec[id_col]), **{k: v for k, v in rec.items() if k not in (id_col, parent_col)})
    g.add_edges_from((str(p), str(c)) for c, p, h in zip(ids, parent, has_parent) if h)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return g
    raise OrgError("the parent links form a cycle: " + " -> ".join([u for u, _ in cycle] + [cycle[0][0]]))


def rollup(tree: nx.DiGraph, values: pd.Series | dict, *, how: str = "sum") -> pd.Series:
    """Each entity's measure over its whole subtree (itself and every descendant): revenue, open
    pipeline, exposure... ``how`` is ``sum`` or ``max``. Missing values count as 0.

    Examples
    --------
    >>> import pandas as pd
    >>> t = org_tree(pd.DataFrame({"entity_id": ["g", "a", "b", "c"], "parent_id": [None, "g", "g", "a"]}))
    >>> rollup(t, {"a": 100, "b": 50, "c": 30}).to_dict()
    {'g': 180.0, 'a': 130.0, 'b': 50.0, 'c': 30.0}
    """
    v = pd.Series(values, dtype=float)
    own = {n: float(v.get(n, 0.0)) if pd.notna(v.get(n, np.nan)) else 0.0 for n in tree.nodes}
    out = dict(own)
    for n in reversed(list(nx.topological_sort(tree))):
        for c in tree.successors(n):
            out[n] = out[n] + out[c] if how == "sum" else max(out[n], out[c])
    return pd.Series(out, name=f"{v.name or 'value'}_{how}").reindex(list(tree.nodes))


def group_of(tree: nx.DiGraph) -> pd.Series:
    """The top entity (group) of each entity.

    Examples
    --------
    >>> import pandas as pd
    >>> t = org_tree(pd.DataFrame({"entity_id": ["g", "a", "b", "c"], "parent_id": [None, "g", "g", "a"]}))
    >>> group_of(t).to_dict()
    {'g': 'g', 'a': 'g', 'b': 'g', 'c': 'g'}
    """
    root = {}
    for n in nx.topological_sort(tree):
        preds = list(tree.predecessors(n))
        root[n] = root[preds[0]] if preds else n
    return pd.Series(root, name="group")


def available_credit(tree: nx.DiGraph, limits: pd.Series | dict, exposure: pd.Series | dict) -> pd.DataFrame:
    """Credit available to each entity when limits are shared down the tree: an entity may use
    the least headroom (limit - rolled-up exposure) of itself and every ancestor that has a
    limit. Returns ``own_exposure, subtree_exposure, headroom, binding`` (the entity whose limit
    binds).

    Examples
    --------
    >>> import pandas as pd
    >>> t = org_tree(pd.DataFrame({"entity_id": ["g", "a", "b", "c"], "parent_id": [None, "g", "g", "a"]}))
    >>> av = available_credit(t, {"g": 1_000, "a": 300}, {"a": 100, "b": 500, "c": 150})
    >>> av[["subtree_exposure", "headroom", "binding"]].to_dict("index")
    {'g': {'subtree_exposure': 750.0, 'headroom': 250.0, 'binding': 'g'}, 'a': {'subtree_exposure': 250.0, 'headroom': 50.0, 'binding': 'a'}, 'b': {'subtree_exposure': 500.0, 'headroom': 250.0, 'binding': 'g'}, 'c': {'subtree_exposure': 150.0, 'headroom': 50.0, 'binding': 'a'}}
    """
    lim = pd.Series(limits, dtype=float)
    sub = rollup(tree, exposure)
    own = pd.Series(exposure, dtype=float).reindex(list(tree.nodes)).fillna(0.0)
    rows = []
    for n in tree.nodes:
        chain, cur = [n], n
        while True:  # self, parent, grandparent ... (a tie binds at the lowest level)
            preds = list(tree.predecessors(cur))
            if not preds:
                break
            cur = preds[0]
            chain.append(cur)
        best, who = np.inf, None
        for a in chain:
            if a in lim.index and pd.notna(lim[a]):
                h = lim[a] - sub[a]
                if h < best:
                    best, who = h, a
        rows.append({"entity_id": n, "own_exposure": own[n], "subtree_exposure": sub[n],
                     "headroom": best, "binding": who})
    return pd.DataFrame(rows).set_index("entity_id")
