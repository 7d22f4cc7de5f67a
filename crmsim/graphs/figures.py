"""Plotly figures of power maps and group structures."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import plotly.graph_objects as go

__all__ = ["power_map_figure", "org_figure"]


def power_map_figure(g: nx.DiGraph, *, attitudes: pd.Series | None = None, strong: float = 0.5,
                     seed: int = 0, title: str = "Power map") -> go.Figure:
    """Contacts as nodes (size = power, colour = attitude, red to green), influence edges as lines;
    contacts our team has a strong relationship with are ringed.

    Examples
    --------
    >>> import pandas as pd
    >>> contacts = pd.DataFrame({"contact_id": ["cfo", "cio", "it_lead", "buyer"],
    ...                          "role": ["decision_maker", "decision_maker", "technical_evaluator", "user"],
    ...                          "power": [0.9, 0.6, 0.3, 0.2], "attitude": [-0.2, 0.1, 0.8, 0.5],
    ...                          "stubbornness": [0.7, 0.5, 0.3, 0.3], "relationship": [0.1, 0.3, 0.8, 0.6]})
    >>> edges = pd.DataFrame({"source": ["it_lead", "cio", "buyer"], "target": ["cio", "cfo", "it_lead"],
    ...                       "weight": [0.6, 0.5, 0.4]})
    >>> from crmsim.graphs.influence import power_map
    >>> g = power_map(contacts, edges)
    >>> fig = power_map_figure(g)
    >>> [tr.type for tr in fig.data]
    ['scatter', 'scatter']
    """
    pos = nx.spring_layout(g, weight="weight", seed=seed)
    att = attitudes if attitudes is not None else pd.Series(nx.get_node_attributes(g, "attitude"))
    ex, ey = [], []
    for u, v in g.edges:
        ex += [pos[u][0], pos[v][0], None]
        ey += [pos[u][1], pos[v][1], None]
    nodes = list(g.nodes)
    fig = go.Figure([go.Scatter(x=ex, y=ey, mode="lines", line={"width": 1, "color": "#bbb"},
                                hoverinfo="none", showlegend=False)])
    fig.add_trace(go.Scatter(
        x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes], mode="markers+text",
        text=[f"{n} ({g.nodes[n]['role'].replace('_', ' ')})" for n in nodes], textposition="top center",
        marker={"size": [12 + 30 * g.nodes[n]["power"] for n in nodes], "color": [att[n] for n in nodes],
                "colorscale": "RdYlGn", "cmin": -1, "cmax": 1, "colorbar": {"title": "attitude"},
                "line": {"width": [4 if g.nodes[n]["relationship"] >= strong else 0 for n in nodes],
                         "color": "#1f3b73"}},
        showlegend=False))
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def org_figure(tree: nx.DiGraph, values: pd.Series, *, title: str = "Group structure") -> go.Figure:
    """A treemap of the group: each entity sized by its own value (roll-ups are the boxes).

    Examples
    --------
    >>> from crmsim.graphs.org import org_tree
    >>> import pandas as pd
    >>> t = org_tree(pd.DataFrame({"entity_id": ["g", "a", "b", "c"], "parent_id": [None, "g", "g", "a"]}))
    >>> fig = org_figure(t, pd.Series({"g": 0, "a": 100, "b": 50, "c": 30}))
    >>> fig.data[0].type
    'treemap'
    """
    parent = {c: p for p, c in tree.edges}
    df = pd.DataFrame({"entity": list(tree.nodes), "parent": [parent.get(n, "") for n in tree.nodes],
                       "value": [float(values.get(n, 0.0)) for n in tree.nodes]})
    import plotly.express as px  # plotly.express loads pandas plotting helpers: only here

    return px.treemap(df, names="entity", parents="parent", values="value", title=title)
