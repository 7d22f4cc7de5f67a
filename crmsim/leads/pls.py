"""Predictive lead scoring as Odoo CRM runs it (FEATURES L2C-2): frequency tables and naive Bayes.

The model is a table anyone can read and edit: per team and per (field, value), how many won and
how many lost leads had that value (:class:`FrequencyTable`). It follows Odoo's ``crm.lead``
predictive lead scoring (``_pls_prepare_frequencies``, ``_pls_update_frequency_table``,
``_pls_get_naive_bayes_probabilities``, Odoo 18/19):

* built from closed leads (won or lost); a (field, value) row is created with 0.1 added to both
  counts (Odoo: "should be +1 but it weights too much on small recordsets"); blank values are not
  counted, except in fields that treat blank as a value (Odoo's ``email_state``, ``phone_state``);
* the stage: a won lead counts as won in *every* stage, a lost lead as lost in the stages up to
  the one it was lost in (by stage order); so the first stage holds every won and every lost lead,
  and its counts are the team's totals;
* tags (a comma-separated column): each tag counts on its own, and a tag with fewer than 50 won +
  lost is ignored when scoring;
* per team: a lead scores with its own team's table when that team has one, otherwise with the
  table of all teams together (leads without a team included);
* P(won) = S_won / (S_won + S_lost), S_won = P(won) x prod P(value | won) over the lead's fields
  (the stage's won total is the team's won total; other fields' totals are sums over their
  values), in percent, rounded to 2 decimals and kept within [0.01, 99.99]: an open lead never
  scores exactly 0 or 100. A lead in a won stage scores 100; one with no stage, 0; a team whose
  table lacks won or lost leads cannot be scored (missing, as Odoo leaves it unchanged);
* when a lead is won, lost or restored (reopened), :meth:`FrequencyTable.update` adds or removes
  it (a count never falls below 0.1), so the table follows the pipeline without a rebuild;
* a manual probability is left alone: :func:`update_probabilities` moves ``probability`` only where
  it equals the previous automated probability or is blank (Odoo's nightly update).

With no field chosen the model is the stage and the team alone. Where crmsim differs: tables are
pandas frames (rebuild is vectorised, a few seconds for millions of leads) and a field's values are
compared as text, as Odoo stores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FrequencyTable", "update_probabilities", "PSEUDO_COUNT", "TAG_MIN_COUNT"]

#: added to the won and lost counts of a new (field, value) row (Odoo)
PSEUDO_COUNT = 0.1
#: a tag with fewer won + lost leads is ignored when scoring (Odoo)
TAG_MIN_COUNT = 50
_COLS = ["team", "field", "value", "won", "lost"]


def _text(s: pd.Series) -> pd.Series:
    """Values as Odoo stores them: text; blank is missing."""
    t = s.astype("string").str.strip()
    return t.mask(t == "")


@dataclass
class FrequencyTable:
    """Won and lost counts per ``team`` (``""`` = no team), ``field`` and ``value``.

    Parameters
    ----------
    table : the counts (columns ``team, field, value, won, lost``), editable.
    stages : the stage names in their order; ``won_stages`` among them score 100.
    fields : the lead columns scored besides the stage.
    tags : a column of comma-separated tags, scored tag by tag (or none).
    blank_is_value : fields in which a blank counts as the value ``"False"``.

    Examples
    --------
    >>> leads = pd.DataFrame({"stage": ["New", "Proposal", "Won", "Won", "New"],
    ...                       "outcome": ["lost", "lost", "won", "won", "open"],
    ...                       "country": ["BE", "FR", "BE", "BE", "BE"]})
    >>> ft = FrequencyTable.build(leads, stages=["New", "Proposal", "Won"], won_stages=["Won"], fields=["country"])
    >>> ft.table.query("field == 'stage'")[["value", "won", "lost"]].values.tolist()
    [['New', 2.1, 2.1], ['Proposal', 2.1, 1.1], ['Won', 2.1, 0.1]]
    >>> ft.probability(leads).tolist()        # the open lead: New, BE
    [65.62, 14.79, 100.0, 100.0, 65.62]
    """

    table: pd.DataFrame
    stages: tuple[str, ...]
    won_stages: tuple[str, ...]
    fields: tuple[str, ...] = ()
    tags: str | None = None
    blank_is_value: tuple[str, ...] = ()

    # -------------------------------------------------------------------------------- building

    @classmethod
    def build(cls, leads: pd.DataFrame, *, stages: Sequence[str], won_stages: Sequence[str], fields=(),
              outcome: str = "outcome", stage: str = "stage", team: str | None = None, tags: str | None = None,
              blank_is_value=("email_state", "phone_state")) -> FrequencyTable:
        """The table from the closed leads (``outcome`` ``won`` or ``lost``; others are ignored)."""
        ft = cls(pd.DataFrame(columns=_COLS).astype({"won": float, "lost": float}), tuple(stages), tuple(won_stages),
                 tuple(fields), tags, tuple(f for f in blank_is_value if f in fields))
        ft._check(leads, outcome, stage, team)
        counts = ft._counts(leads, outcome, stage, team)
        return ft._add(counts, +1)

    def _check(self, leads, outcome, stage, team) -> None:
        from crmsim.errors import InputError

        need = [c for c in (outcome, stage, *self.fields, *([team] if team else []), *([self.tags] if self.tags else []))
                if c not in leads.columns]
        if need:
            raise InputError(f"leads: column(s) {need} missing; columns are {list(leads.columns)}")
        if not self.stages:
            raise InputError("stages: give the pipeline's stage names in their order")
        unknown = sorted(set(_text(leads[stage]).dropna()) - set(self.stages))
        if unknown:
            raise InputError(f"leads: column '{stage}' has stages {unknown[:10]} that are not in stages "
                             f"{list(self.stages)}")
        bad = sorted(set(_text(leads[outcome]).dropna()) - {"won", "lost", "open"})
        if bad:
            raise InputError(f"leads: column '{outcome}' expects won, lost or open; found {bad[:10]}")
        if not set(self.won_stages) <= set(self.stages):
            raise InputError(f"won_stages {list(self.won_stages)} must be among stages {list(self.stages)}")

    def _counts(self, leads: pd.DataFrame, outcome: str, stage: str, team: str | None) -> pd.DataFrame:
        """Won / lost counts (no pseudo-count) of the closed ``leads``, per team, field and value."""
        out = _text(leads[outcome])
        closed = out.isin(["won", "lost"]).to_numpy()
        L = leads[closed]
        won = (out[closed] == "won").to_numpy(dtype=float)
        teams = _text(L[team]).fillna("") if team else pd.Series("", index=L.index)
        parts = []
        for f in self.fields:
            v = _text(L[f])
            if f in self.blank_is_value:
                v = v.fillna("False")
            parts.append(pd.DataFrame({"team": teams, "field": f, "value": v, "won": won, "lost": 1 - won}).dropna())
        if self.tags:
            t = _text(L[self.tags]).fillna("").str.split(",")
            ex = pd.DataFrame({"team": teams, "tag": t, "won": won}).explode("tag")
            ex["tag"] = ex["tag"].str.strip()
            ex = ex[ex["tag"] != ""]
            parts.append(pd.DataFrame({"team": ex["team"], "field": self.tags, "value": ex["tag"], "won": ex["won"],
                                       "lost": 1 - ex["won"]}))
        # the stage: a won lead in every stage, a lost lead in the stages up to its own
        seq = {s: k for k, s in enumerate(self.stages)}
        st = _text(L[stage]).map(seq)
        has = st.notna().to_numpy()
        k = len(self.stages)
        tm_arr = teams.to_numpy(dtype=object)
        st_arr = st.to_numpy(dtype=float)
        for tm in pd.unique(tm_arr[has]):
            rows = np.flatnonzero(has & (tm_arr == tm))
            w = won[rows]
            s_at = st_arr[rows].astype(int)
            n_won = float(w.sum())
            lost_at = np.bincount(s_at[w == 0], minlength=k).astype(float)
            lost_upto = lost_at[::-1].cumsum()[::-1]                 # lost in stage j or a later one
            # a stage is counted only where some closed lead reached it (Odoo creates rows then)
            reached = (lost_upto > 0) | (n_won > 0)
            parts.append(pd.DataFrame({"team": tm, "field": "stage", "value": np.asarray(self.stages)[reached],
                                       "won": n_won, "lost": lost_upto[reached]}))
        if not parts:
            return pd.DataFrame(columns=_COLS)
        c = pd.concat(parts, ignore_index=True)
        return c.groupby(["team", "field", "value"], as_index=False, sort=False)[["won", "lost"]].sum()

    def _add(self, counts: pd.DataFrame, step: int) -> FrequencyTable:
        """Add (``step`` +1) or remove (-1) counts; a new row starts at the pseudo-count; a count
        never falls below it (Odoo)."""
        t = self.table.merge(counts, on=["team", "field", "value"], how="outer", suffixes=("", "_new"), sort=False)
        new = t["won"].isna()
        t.loc[new, ["won", "lost"]] = PSEUDO_COUNT if step > 0 else np.nan
        t["won"] = t["won"] + step * t["won_new"].fillna(0)
        t["lost"] = t["lost"] + step * t["lost_new"].fillna(0)
        t = t[t["won"].notna()]
        for c in ("won", "lost"):
            t[c] = np.where(t[c] > 0, t[c], PSEUDO_COUNT).round(6)
        order = {f: k for k, f in enumerate(["stage", *self.fields, *([self.tags] if self.tags else [])])}
        stage_pos = {s: k for k, s in enumerate(self.stages)}
        t = t.assign(_f=t["field"].map(order), _v=np.where(t["field"] == "stage", t["value"].map(stage_pos), 0))
        t = t.sort_values(["team", "_f", "_v", "value"], kind="stable").drop(columns=["_f", "_v", "won_new", "lost_new"])
        return FrequencyTable(t.reset_index(drop=True), self.stages, self.won_stages, self.fields, self.tags,
                              self.blank_is_value)

    def update(self, leads: pd.DataFrame, to: str, *, stage: str = "stage", team: str | None = None) -> FrequencyTable:
        """The table after ``leads`` were won (``to="won"``), lost (``"lost"``), or restored from won
        or lost (``"restored_from_won"`` / ``"restored_from_lost"``: their counts come off)."""
        from crmsim.errors import InputError

        kinds = {"won": ("won", +1), "lost": ("lost", +1), "restored_from_won": ("won", -1),
                 "restored_from_lost": ("lost", -1)}
        if to not in kinds:
            raise InputError(f"update: to must be one of {list(kinds)}, got {to!r}")
        state, step = kinds[to]
        L = leads.assign(_outcome=state)
        self._check(L, "_outcome", stage, team)
        return self._add(self._counts(L, "_outcome", stage, team), step)

    def merge(self, other: FrequencyTable) -> FrequencyTable:
        """Two tables as one (e.g. two companies' or two periods' leads): counts added (each side's
        pseudo-counts kept)."""
        if (other.stages, other.fields, other.tags) != (self.stages, self.fields, self.tags):
            raise ValueError("merge: the tables score different stages, fields or tags")
        t = pd.concat([self.table, other.table]).groupby(["team", "field", "value"], as_index=False, sort=False)[
            ["won", "lost"]].sum()
        return FrequencyTable(t, self.stages, self.won_stages, self.fields, self.tags, self.blank_is_value)

    # -------------------------------------------------------------------------------- scoring

    def _team_tables(self) -> dict[str, pd.DataFrame]:
        """Per team with rows, its table; ``None``: every team's rows together (Odoo's -1)."""
        t = self.table
        if self.tags:   # thin tags are ignored, in the totals too
            thin = (t["field"] == self.tags) & (t["won"] + t["lost"] < TAG_MIN_COUNT)
            t = t[~thin.to_numpy()]
        out = {tm: g for tm, g in t[t["team"] != ""].groupby("team")}
        out[None] = t.groupby(["field", "value"], as_index=False, sort=False)[["won", "lost"]].sum()
        return out

    def probability(self, leads: pd.DataFrame, *, stage: str = "stage", team: str | None = None) -> pd.Series:
        """P(won) in percent per lead (see the module docstring); missing where the lead's table has
        no won or no lost lead."""
        need = [c for c in (stage, *self.fields, *([team] if team else [])) if c not in leads.columns]
        if need:
            from crmsim.errors import InputError

            raise InputError(f"leads: column(s) {need} missing; columns are {list(leads.columns)}")
        tables = self._team_tables()
        first = self.stages[0]
        teams = _text(leads[team]).fillna("") if team else pd.Series("", index=leads.index)
        key = teams.where(teams.isin([k for k in tables if k is not None]), None)
        st = _text(leads[stage])
        out = pd.Series(np.nan, index=leads.index, name="probability")
        for tm, idx in key.groupby(key.fillna("\x00"), sort=False).groups.items():
            tbl = tables[None if tm == "\x00" else tm]
            L = leads.loc[idx]
            s = tbl[tbl["field"] == "stage"].set_index("value")
            if first not in s.index:
                continue
            t_won, t_lost = float(s.loc[first, "won"]), float(s.loc[first, "lost"])
            if not (t_won and t_lost):
                continue
            log_w = np.full(len(L), np.log(t_won / (t_won + t_lost)))
            log_l = np.full(len(L), np.log(t_lost / (t_won + t_lost)))
            sv = st.loc[idx]
            hit = sv.isin(s.index).to_numpy()
            log_w[hit] += np.log(s["won"].reindex(sv[hit]).to_numpy() / t_won)
            log_l[hit] += np.log(s["lost"].reindex(sv[hit]).to_numpy() / t_lost)
            for f in self.fields:
                fv = tbl[tbl["field"] == f].set_index("value")
                tw, tl = float(fv["won"].sum()), float(fv["lost"].sum())
                if not (tw and tl):
                    continue
                v = _text(L[f])
                if f in self.blank_is_value:
                    v = v.fillna("False")
                h = v.isin(fv.index).to_numpy()
                log_w[h] += np.log(fv["won"].reindex(v[h]).to_numpy() / tw)
                log_l[h] += np.log(fv["lost"].reindex(v[h]).to_numpy() / tl)
            if self.tags:
                fv = tbl[tbl["field"] == self.tags].set_index("value")
                tw, tl = float(fv["won"].sum()), float(fv["lost"].sum())
                if tw and tl and len(fv):
                    tg = _text(L[self.tags]).fillna("").str.split(",")
                    for k, tags in enumerate(tg):
                        for g in (x.strip() for x in tags):
                            if g in fv.index:
                                log_w[k] += np.log(fv.loc[g, "won"] / tw)
                                log_l[k] += np.log(fv.loc[g, "lost"] / tl)
            p = 1 / (1 + np.exp(log_l - log_w))
            out.loc[idx] = np.clip(np.round(100 * p, 2), 0.01, 99.99)
        out[st.isna().to_numpy()] = 0.0
        out[st.isin(self.won_stages).to_numpy()] = 100.0
        return out

    def to_csv(self, path) -> None:
        """The table as CSV (read it back with :meth:`from_csv`): the model anyone can read and edit."""
        self.table.to_csv(path, index=False)

    @classmethod
    def from_csv(cls, path, *, stages, won_stages, fields=(), tags=None,
                 blank_is_value=("email_state", "phone_state")) -> FrequencyTable:
        t = pd.read_csv(path, dtype={"team": str, "field": str, "value": str}, keep_default_na=False)
        t["won"], t["lost"] = t["won"].astype(float), t["lost"].astype(float)
        return cls(t, tuple(stages), tuple(won_stages), tuple(fields), tags,
                   tuple(f for f in blank_is_value if f in fields))


def update_probabilities(leads: pd.DataFrame, automated: pd.Series, *, probability: str = "probability",
                         previous: str = "automated_probability") -> pd.DataFrame:
    """The nightly update: ``automated_probability`` becomes ``automated``; ``probability`` follows
    only where it was equal to the previous automated probability or blank, so a probability a rep
    set by hand is left alone (Odoo ``_update_automated_probabilities``). A lead the model cannot
    score keeps both.

    >>> leads = pd.DataFrame({"probability": [30.0, 80.0, None], "automated_probability": [30.0, 40.0, None]})
    >>> update_probabilities(leads, pd.Series([55.0, 55.0, 20.0])).values.tolist()
    [[55.0, 55.0], [80.0, 55.0], [20.0, 20.0]]
    """
    p = leads[probability] if probability in leads.columns else pd.Series(np.nan, index=leads.index)
    prev = leads[previous] if previous in leads.columns else pd.Series(np.nan, index=leads.index)
    new = pd.Series(np.asarray(automated, dtype=float), index=leads.index)
    scored = new.notna()
    follow = (p.isna() | (p == prev)) & scored
    return pd.DataFrame({probability: p.where(~follow, new), previous: prev.where(~scored, new)}, index=leads.index)
