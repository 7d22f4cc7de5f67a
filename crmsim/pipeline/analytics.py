"""Funnel and pipeline analytics on an opportunity history (FEATURES L2C-5): tidy DataFrames and
plotly figures.

Inputs are the tables :func:`crmsim.pipeline.load_history` returns (``opportunity_id,
created_at, closed_at, expected_close, stage, amount, owner, channel, product, account,
is_won, is_closed``) and a stage history (``opportunity_id, t, stage``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from crmsim.intervals import proportion_ci
from crmsim.pipeline.opportunities import SalesProcess

__all__ = ["stage_conversion", "win_rates", "time_to_close", "pipeline_velocity", "ageing",
           "funnel_figure", "sankey_figure", "cohort_curves", "cohort_figure"]


def _closed_flags(opps: pd.DataFrame, process: SalesProcess) -> tuple[pd.Series, pd.Series]:
    won = opps["stage"] == process.won
    closed = won | (opps["stage"] == process.lost)
    return won, closed


def stage_conversion(history: pd.DataFrame, process: SalesProcess | None = None, *,
                     opps: pd.DataFrame | None = None, by: str | None = None) -> pd.DataFrame:
    """How many opportunities reached each stage, the share of all, and the rate from the
    previous stage (a deal that skipped a stage counts as having passed it). With ``opps`` and
    ``by`` (``"channel"``, ``"owner"``, ``"product"``, ``"cohort"``): one block per group.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> stage_conversion(history)[["stage", "reached", "from_previous"]].round(2).values.tolist()
    [['qualify', 5, 1.0], ['discover', 4, 0.8], ['propose', 4, 1.0], ['negotiate', 3, 0.75], ['won', 2, 0.67]]
    """
    process = process or SalesProcess()
    if by is not None:
        if opps is None:
            raise ValueError("stage_conversion by a group needs the opportunities table (opps=)")
        key = opps.set_index("opportunity_id")
        if by == "cohort":
            groups = pd.to_datetime(key["created_at"]).dt.to_period("M").dt.start_time
        else:
            groups = key[by]
        g = history["opportunity_id"].map(groups)
        parts = [stage_conversion(history[g == v], process).assign(**{by: v}) for v in g.dropna().unique()]
        return pd.concat(parts, ignore_index=True)[[by, "stage", "reached", "share", "from_previous"]]
    order = {s: k for k, s in enumerate(process.open_stages)}
    is_won = history["stage"] == process.won
    won_ids = set(history.loc[is_won, "opportunity_id"])
    opens = history[history["stage"].isin(order)]
    furthest = opens.assign(o=opens["stage"].map(order)).groupby("opportunity_id")["o"].max()
    ids = pd.Index(history["opportunity_id"].unique())
    furthest = furthest.reindex(ids).fillna(-1)
    furthest[furthest.index.isin(won_ids)] = len(order)  # a won deal passed every open stage
    n = len(ids)
    rows, prev = [], n
    for k, s in enumerate([*process.open_stages, process.won]):
        reached = int((furthest >= k).sum())
        rows.append({"stage": s, "reached": reached, "share": reached / n if n else np.nan,
                     "from_previous": reached / prev if prev else np.nan})
        prev = reached
    return pd.DataFrame(rows)


def win_rates(opps: pd.DataFrame, by: str | list[str] | None = None, *,
              process: SalesProcess | None = None) -> pd.DataFrame:
    """Win rate on closed deals (won / closed), overall or per ``by`` (e.g. ``"channel"``,
    ``"owner"``, ``"product"``, ``"cohort"`` = month created), with counts and a 95% Wilson
    interval.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> win_rates(opps, by="owner")[["owner", "won", "closed", "win_rate"]].values.tolist()
    [['ann', 1, 2, 0.5], ['bo', 1, 1, 1.0]]
    """
    process = process or SalesProcess()
    won, closed = _closed_flags(opps, process)
    d = opps.assign(won=won, closed=closed)
    if by == "cohort" or (isinstance(by, list) and "cohort" in by):
        d["cohort"] = pd.to_datetime(d["created_at"]).dt.to_period("M").dt.start_time
    d = d[d["closed"]]
    g = d.groupby(by) if by else d.assign(_all="all").groupby("_all")
    out = pd.DataFrame({"closed": g.size(), "won": g["won"].sum()})
    out["win_rate"] = out["won"] / out["closed"]
    ci = [proportion_ci(int(k), int(n)) for k, n in zip(out["won"], out["closed"])]
    out["ci_low"], out["ci_high"] = [c[0] for c in ci], [c[1] for c in ci]
    return out.reset_index(drop=by is None)   # no grouping: one row, no group column


def time_to_close(opps: pd.DataFrame, by: str | None = None, *, process: SalesProcess | None = None,
                  now=None) -> pd.DataFrame:
    """Days from creation to close of closed deals: median and p90, for won and for all.

    With ``now``, also ``km_median_days``: the Kaplan-Meier median over every deal created by
    then, open deals censored at their age (closed deals alone understate the time to close
    while many recent deals are still open) and ``open`` (deals censored).

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> t = time_to_close(opps, now="2025-04-01")
    >>> t[["closed", "median_days", "won_median_days", "km_median_days", "open"]].values.tolist()
    [[3.0, 40.0, 36.0, 42.0, 2.0]]
    """
    process = process or SalesProcess()
    won, closed = _closed_flags(opps, process)
    d = opps[closed & opps["closed_at"].notna()].copy()
    d["days"] = (pd.to_datetime(d["closed_at"]) - pd.to_datetime(d["created_at"])) / pd.Timedelta(days=1)
    d["won"] = won[d.index]
    g = d.groupby(by) if by else d.assign(_all="all").groupby("_all")
    out = pd.DataFrame({
        "closed": g.size(), "median_days": g["days"].median(), "p90_days": g["days"].quantile(0.9),
        "won_median_days": g.apply(lambda x: x.loc[x["won"], "days"].median(), include_groups=False),
    })
    if now is not None:
        from crmsim.pipeline.flat import km_median

        now = pd.Timestamp(now)
        a = opps[pd.to_datetime(opps["created_at"]) <= now].copy()
        ended = closed[a.index] & pd.to_datetime(a["closed_at"]).notna().to_numpy() & \
            (pd.to_datetime(a["closed_at"]) <= now).to_numpy()
        a["t"] = np.where(ended, (pd.to_datetime(a["closed_at"]) - pd.to_datetime(a["created_at"])) / pd.Timedelta(days=1),
                          (now - pd.to_datetime(a["created_at"])) / pd.Timedelta(days=1))
        a["ended"] = ended
        ga = a.groupby(by) if by else a.assign(_all="all").groupby("_all")
        out["km_median_days"] = ga.apply(lambda x: km_median(x["t"].to_numpy(), x["ended"].to_numpy()),
                                         include_groups=False)
        out["open"] = ga["ended"].apply(lambda e: int((~e).sum()))
    return out.reset_index(drop=by is None)   # no grouping: one row, no group column


def pipeline_velocity(opps: pd.DataFrame, *, now, process: SalesProcess | None = None,
                      window_days: int = 365) -> dict[str, float]:
    """Pipeline velocity = open deals x win rate x average won deal size / average cycle length
    (money per day), with its parts; win rate, deal size and cycle from deals closed in the last
    ``window_days``.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> v = pipeline_velocity(opps, now="2025-04-01")
    >>> {k: round(x, 2) for k, x in v.items()}
    {'open_deals': 2, 'win_rate': 0.67, 'avg_won_size': 15000.0, 'cycle_days': 36.0, 'velocity_per_day': 555.56}
    """
    process = process or SalesProcess()
    now = pd.Timestamp(now)
    won, closed = _closed_flags(opps, process)
    recent = closed & (pd.to_datetime(opps["closed_at"]) > now - pd.Timedelta(days=window_days))
    n_open = int((~closed & (pd.to_datetime(opps["created_at"]) <= now)).sum())
    wr = float(won[recent].mean()) if recent.any() else np.nan
    size = float(opps.loc[recent & won, "amount"].mean()) if (recent & won).any() else np.nan
    cyc = ((pd.to_datetime(opps["closed_at"]) - pd.to_datetime(opps["created_at"])) / pd.Timedelta(days=1))[recent & won]
    cycle = float(cyc.mean()) if len(cyc) else np.nan
    return {"open_deals": n_open, "win_rate": wr, "avg_won_size": size, "cycle_days": cycle,
            "velocity_per_day": n_open * wr * size / cycle if cycle else np.nan}


def ageing(opps: pd.DataFrame, history: pd.DataFrame, *, now, process: SalesProcess | None = None) -> pd.DataFrame:
    """Open deals at ``now``: days open, days in the current stage, and slippage: whether the
    expected close date has passed and by how many days.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> ageing(opps, history, now="2025-04-01")[["opportunity_id", "days_open", "days_in_stage", "past_due", "days_past_due"]].values.tolist()
    [['d', 50.0, 27.0, False, 0.0], ['e', 31.0, 22.0, True, 12.0]]
    """
    process = process or SalesProcess()
    now = pd.Timestamp(now)
    _, closed = _closed_flags(opps, process)
    o = opps[~closed].copy()
    entered = history.groupby(["opportunity_id", "stage"])["t"].max()
    o["days_open"] = (now - pd.to_datetime(o["created_at"])) / pd.Timedelta(days=1)
    last = [entered.get((i, s), pd.NaT) for i, s in zip(o["opportunity_id"], o["stage"])]
    o["days_in_stage"] = (now - pd.to_datetime(pd.Series(last, index=o.index))) / pd.Timedelta(days=1)
    exp = pd.to_datetime(o["expected_close"])
    o["past_due"] = exp < now
    o["days_past_due"] = ((now - exp) / pd.Timedelta(days=1)).clip(lower=0).where(exp.notna())
    return o[["opportunity_id", "stage", "owner", "amount", "days_open", "days_in_stage",
              "expected_close", "past_due", "days_past_due"]].reset_index(drop=True)


def funnel_figure(conversion: pd.DataFrame, title: str = "Opportunity funnel") -> go.Figure:
    """A funnel of the stages reached (from :func:`stage_conversion`).

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> fig = funnel_figure(stage_conversion(history))
    >>> fig.data[0].type, list(fig.data[0].y)
    ('funnel', ['qualify', 'discover', 'propose', 'negotiate', 'won'])
    """
    fig = go.Figure(go.Funnel(y=conversion["stage"], x=conversion["reached"], textinfo="value+percent initial"))
    fig.update_layout(title=title)
    return fig


def sankey_figure(history: pd.DataFrame, process: SalesProcess | None = None,
                  title: str = "Stage flows") -> go.Figure:
    """A Sankey diagram of stage-to-stage moves in the history.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> sankey_figure(history).data[0].type
    'sankey'
    """
    process = process or SalesProcess()
    h = history.sort_values(["opportunity_id", "t"], kind="stable")
    h = h.assign(nxt=h.groupby("opportunity_id")["stage"].shift(-1)).dropna(subset=["nxt"])
    flows = h.groupby(["stage", "nxt"]).size().reset_index(name="n")
    names = list(process.names)
    idx = {s: k for k, s in enumerate(names)}
    fig = go.Figure(go.Sankey(node={"label": names},
                              link={"source": flows["stage"].map(idx), "target": flows["nxt"].map(idx),
                                    "value": flows["n"]}))
    fig.update_layout(title=title)
    return fig


def cohort_curves(opps: pd.DataFrame, *, process: SalesProcess | None = None, max_months: int = 12) -> pd.DataFrame:
    """Cumulative share of each monthly cohort won by month after creation (long format).

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d", "e"], "owner": ["ann", "ann", "bo", "bo", "bo"],
    ...                      "created_at": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-01", "2025-02-10", "2025-03-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-04", "2025-03-01", "2025-03-15", None, None]),
    ...                      "expected_close": pd.to_datetime([None, None, None, "2025-04-15", "2025-03-20"]),
    ...                      "stage": ["won", "lost", "won", "propose", "negotiate"],
    ...                      "amount": [10_000.0, 5_000.0, 20_000.0, 8_000.0, 12_000.0]})
    >>> history = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "e", "e"],
    ...                         "stage": ["qualify", "propose", "won", "qualify", "lost", "qualify", "negotiate", "won",
    ...                                   "qualify", "propose", "qualify", "negotiate"],
    ...                         "t": pd.to_datetime(["2025-01-05", "2025-01-15", "2025-02-04", "2025-01-20", "2025-03-01",
    ...                                              "2025-02-01", "2025-03-01", "2025-03-15", "2025-02-10", "2025-03-05",
    ...                                              "2025-03-01", "2025-03-10"])})
    >>> c = cohort_curves(opps, max_months=2)
    >>> c[c["cohort"] == "2025-01-01"][["month", "deals", "won_share"]].values.tolist()   # January: a won in month 1
    [[0.0, 2.0, 0.0], [1.0, 2.0, 0.5], [2.0, 2.0, 0.5]]
    """
    process = process or SalesProcess()
    won, _ = _closed_flags(opps, process)
    d = opps.assign(cohort=pd.to_datetime(opps["created_at"]).dt.to_period("M"), won=won)
    months = ((pd.to_datetime(d["closed_at"]).dt.to_period("M") - d["cohort"])
              .map(lambda x: x.n if pd.notna(x) else np.nan))
    d = d.assign(month=months)
    rows = []
    for c, g in d.groupby("cohort"):
        for m in range(max_months + 1):
            rows.append({"cohort": c.start_time, "month": m, "deals": len(g),
                         "won_share": float((g["won"] & (g["month"] <= m)).mean())})
    return pd.DataFrame(rows)


def cohort_figure(curves: pd.DataFrame, title: str = "Cohort win curves") -> go.Figure:
    """One line per monthly cohort: the share won by month after creation (from
    :func:`cohort_curves`).

    Examples
    --------
    >>> opps = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-05", "2025-02-01"]),
    ...                      "closed_at": pd.to_datetime(["2025-02-10", None]), "stage": ["won", "propose"]})
    >>> [t.name for t in cohort_figure(cohort_curves(opps, max_months=2)).data]
    ['2025-01-01', '2025-02-01']
    """
    fig = go.Figure()
    for c, g in curves.groupby("cohort"):
        fig.add_trace(go.Scatter(x=g["month"], y=g["won_share"], mode="lines", name=str(c.date())))
    fig.update_layout(title=title, xaxis_title="months since created", yaxis_title="share won")
    return fig
