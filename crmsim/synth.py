"""Seeded synthetic worlds: reps, leads per channel, customers.

Every generator takes ``seed`` (an int, a ``numpy.random.SeedSequence`` or a
``numpy.random.Generator``). The channel defaults below are *illustrative* assumptions for a
mid-sized B2B seller, chosen so that channels differ the way the source document describes
(events: few, expensive, high intent; social communities: many, cheap, low intent); they are not
published figures. Replace them with a fit to your own history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from crmsim.config import Config
from crmsim.leads.channels import (  # re-exported: the synthetic worlds are built from them
    COMPANY_SIZES,
    DEFAULT_CHANNELS,
    JOB_LEVELS,
    SYNTH_CHANNELS,
    ChannelProfile,
    arrival_times,
    lead_attributes,
)
from crmsim.rng import rng_from
from crmsim.tables import GRADES

__all__ = [
    "ChannelProfile",
    "DEFAULT_CHANNELS",
    "SYNTH_CHANNELS",
    "COMPANY_SIZES",
    "JOB_LEVELS",
    "arrival_times",
    "lead_attributes",
    "leads",
    "reps",
    "customers",
    "with_duplicates",
    "opportunities",
    "messy_export",
    "MESSY_EXPORT_COLUMNS",
    "MESSY_EXPORT_STAGES",
    "ExportChannel",
    "EXPORT_CHANNELS",
    "marketing_export",
    "buying_centre",
    "rng_from",
]


_FIRST = np.array(["Wei", "Li", "Anna", "Jonas", "Maria", "Chen", "Sofia", "Liam", "Yuki", "Omar",
                   "Fang", "Jing", "Hao", "Lena", "Paul", "Clara", "Mateo", "Aiko", "Ravi", "Nina",
                   "Ming", "Xiu", "Tao", "Emma", "Noah", "Lucas", "Zara", "Ivan", "Elif", "Sara"])
_LAST = np.array(["Wang", "Zhang", "Muller", "Smith", "Garcia", "Tanaka", "Rossi", "Kim", "Ng", "Berg",
                  "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma",
                  "Schmidt", "Weber", "Martin", "Silva", "Lopez", "Novak", "Kowalski", "Sato",
                  "Singh", "Cohen"])
_CITIES = np.array(["Shanghai", "Beijing", "Shenzhen", "Berlin", "London", "Paris", "Madrid", "Tokyo"])
_REGIONS = ("north", "south", "east", "west")


def leads(
    horizon_days: int = 28,
    channels: dict[str, ChannelProfile] | None = None,
    *,
    start: str = "2025-01-06",
    seed=None,
) -> pd.DataFrame:
    """A leads table (schema ``leads``) with the scoring attributes, as a CRM export would hold it.

    Examples
    --------
    >>> df = leads(7, seed=1)
    >>> sorted(df["channel"].unique())[:2]
    ['ads', 'email']
    """
    rng = rng_from(seed)
    channels = DEFAULT_CHANNELS if channels is None else channels
    parts = []
    for ch, prof in channels.items():
        t = arrival_times(prof, horizon_days, rng)
        att = lead_attributes(ch, prof, t.size, rng)
        att["t"] = t
        att["cost"] = float(prof.cost_per_lead)
        parts.append(att)
    df = pd.concat(parts, ignore_index=True).sort_values("t", kind="stable").reset_index(drop=True)
    n = len(df)
    first = _FIRST[rng.integers(0, _FIRST.size, n)]
    last = _LAST[rng.integers(0, _LAST.size, n)]
    company_no = rng.integers(1, max(2, n // 3), n)
    out = pd.DataFrame(
        {
            "lead_id": [f"L{i:07d}" for i in range(n)],
            "created_at": pd.Timestamp(start) + pd.to_timedelta(df["t"].to_numpy(), unit="D").round("s"),
            "channel": df["channel"].astype(str),
            "name": pd.Series(first, dtype=str) + " " + pd.Series(last, dtype=str),
            "company": [f"Company {c} Ltd" for c in company_no],
            "email": [f"{a.lower()}.{b.lower()}{k}@company{c}.com"
                      for a, b, k, c in zip(first, last, rng.integers(1, 100, n), company_no)],
            "phone": [f"+86 21 {x:08d}" for x in rng.integers(0, 10**8, n)],
            "city": _CITIES[rng.integers(0, _CITIES.size, n)],
            "stage": "raw",
            "cost": df["cost"].astype(float),
            "company_size": df["company_size"].astype(str),
            "job_level": df["job_level"].astype(str),
            "engagement": df["engagement"],
        }
    )
    return out


def reps(n: int, *, hours_per_day: float = 8.0, max_open_leads: int = 200, seed=None) -> pd.DataFrame:
    """A reps table (schema ``reps``): ``n`` reps spread over teams and regions.

    Examples
    --------
    >>> r = reps(4, seed=1)
    >>> len(r), sorted(r.columns)[:3]
    (4, ['hours_per_day', 'max_open_leads', 'region'])
    """
    rng = rng_from(seed)
    return pd.DataFrame(
        {
            "rep_id": [f"R{i:03d}" for i in range(n)],
            "team": [f"team-{i % max(1, n // 8) + 1}" for i in range(n)],
            "region": [_REGIONS[i] for i in rng.integers(0, len(_REGIONS), n)],
            "hours_per_day": np.full(n, float(hours_per_day)),
            "max_open_leads": np.full(n, int(max_open_leads), dtype=np.int64),
        }
    )


def customers(n: int, *, n_reps: int = 10, today: str = "2025-06-30", seed=None) -> pd.DataFrame:
    """A customers table (schema ``customers``) with owners, grades, follow-up dates and the
    public-pool columns (received, last deal, locked, deal closed, open opportunities, plans).

    Annual revenue is lognormal (a long tail: a few customers carry most revenue); grade follows
    revenue rank (A: top 10%, B: next 20%, C: next 40%, D: the rest).

    Examples
    --------
    >>> c = customers(50, n_reps=3, seed=1)
    >>> len(c), sorted(c["grade"].unique())
    (50, ['A', 'B', 'C', 'D'])
    """
    rng = rng_from(seed)
    today_ts = pd.Timestamp(today)
    revenue = np.round(rng.lognormal(mean=10.0, sigma=1.3, size=n), 2)
    rank = pd.Series(revenue).rank(ascending=False, pct=True).to_numpy()
    grade = np.select([rank <= 0.1, rank <= 0.3, rank <= 0.7], ["A", "B", "C"], "D")
    created = today_ts - pd.to_timedelta(rng.integers(30, 3 * 365, n), unit="D")
    since = (today_ts - created).days.to_numpy()
    last_fu = created + pd.to_timedelta((rng.random(n) * since).astype(int), unit="D")
    never = rng.random(n) < 0.1
    owner = np.array([f"R{i:03d}" for i in rng.integers(0, max(1, n_reps), n)], dtype=object)
    owner[rng.random(n) < 0.05] = None
    df = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(n)],
            "name": [f"Customer {i} Co" for i in range(n)],
            "industry": rng.choice(["manufacturing", "retail", "software", "logistics", "health"], n),
            "region": [_REGIONS[i] for i in rng.integers(0, len(_REGIONS), n)],
            "grade": pd.Series(grade, dtype=str),
            "owner_id": pd.Series(owner, dtype=str),
            "created_at": pd.DatetimeIndex(created),
            "last_followup_at": pd.DatetimeIndex(last_fu).where(~never, pd.NaT),
            "annual_revenue": revenue,
        }
    )
    # public-pool columns (crmsim.customers.pool)
    owned = df["owner_id"].notna().to_numpy()
    received = created + pd.to_timedelta((rng.random(n) * since).astype(int), unit="D")
    df["received_at"] = pd.DatetimeIndex(received).where(owned, pd.NaT)
    df["last_followup_at"] = df["last_followup_at"].where(
        df["last_followup_at"].isna() | (df["last_followup_at"] <= today_ts), today_ts)
    has_deal = rng.random(n) < 0.35
    deal_age = (rng.random(n) * since).astype(int)
    df["last_deal_at"] = (today_ts - pd.to_timedelta(deal_age, unit="D")).where(has_deal, pd.NaT)
    df["locked"] = rng.random(n) < 0.02
    df["deal_closed"] = has_deal
    df["open_opportunities"] = rng.poisson(0.25, n).astype(np.int64)
    df["followup_plan_active"] = rng.random(n) < 0.05
    assert set(df["grade"]) <= set(GRADES)
    return df


def _typo(s: str, rng: np.random.Generator) -> str:
    if len(s) < 3:
        return s
    k = int(rng.integers(1, len(s) - 1))
    kind = rng.integers(0, 3)
    if kind == 0:  # swap two letters
        return s[:k - 1] + s[k] + s[k - 1] + s[k + 1:]
    if kind == 1:  # drop a letter
        return s[:k] + s[k + 1:]
    return s[:k] + s[k] + s[k:]  # double a letter


def with_duplicates(leads: pd.DataFrame, share: float = 0.1, *, seed=None) -> tuple[pd.DataFrame, set]:
    """Add ``share * len(leads)`` duplicates of random leads, with realistic mess: a typo in the
    name, the email upper-cased or missing, the phone written another way or missing, the company
    suffix dropped. Returns ``(leads_with_duplicates, true_pairs)``, pairs of positions.

    Examples
    --------
    >>> l = leads(7, seed=1)
    >>> d, pairs = with_duplicates(l, 0.2, seed=1)
    >>> len(d) - len(l) == round(0.2 * len(l)), len(pairs) >= len(d) - len(l)   # a lead copied twice: three pairs
    (True, True)
    """
    rng = rng_from(seed)
    n = len(leads)
    m = int(round(share * n))
    src = rng.integers(0, n, m)
    dup = leads.iloc[src].copy()
    names = dup["name"].tolist()
    r = rng.random((4, m))
    dup["name"] = [_typo(x, rng) if u < 0.5 else x for x, u in zip(names, r[0])]
    email = dup["email"].astype(object)
    dup["email"] = np.where(r[1] < 0.2, None, np.where(r[1] < 0.4, email.str.upper(), email))
    digits = dup["phone"].str.replace(r"\D", "", regex=True)
    dup["phone"] = np.where(r[2] < 0.2, None, np.where(r[2] < 0.6, "00" + digits, dup["phone"]))
    dup["company"] = np.where(r[3] < 0.5, dup["company"].str.replace(" Ltd", "", regex=False), dup["company"])
    dup["lead_id"] = [f"D{i:07d}" for i in range(m)]
    out = pd.concat([leads, dup], ignore_index=True)
    # true pairs: every duplicate with its source, and duplicates of one source with each other
    owner = np.concatenate([np.arange(n), src])
    truth = set()
    order = np.argsort(owner, kind="stable")
    so = owner[order]
    starts = np.flatnonzero(np.r_[True, so[1:] != so[:-1]])
    ends = np.r_[starts[1:], so.size]
    for a, b in zip(starts, ends):
        if b - a > 1:
            members = sorted(order[a:b].tolist())
            truth |= {(i, j) for k, i in enumerate(members) for j in members[k + 1:]}
    return out, truth


OPEN_STAGES = ("qualify", "discover", "propose", "negotiate")
PRODUCTS = ("CRM Pro", "CRM Lite", "Analytics")


def opportunities(n: int, *, start: str = "2024-01-01", today: str = "2025-06-30",
                  win_rate: dict[str, float] | None = None, stage_days: tuple[float, ...] = (7, 14, 14, 10),
                  amount_mean: float = 20000.0, amount_cv: float = 0.8, n_owners: int = 8,
                  slip_sd_days: float = 10.0, seed=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An opportunity history with known parameters: ``(opportunities, stage_history)``.

    Each deal is created uniformly between ``start`` and ``today``; it is won with probability
    ``win_rate[channel]`` (then it passes every open stage) or lost at a stage drawn uniformly;
    it spends an exponential time (mean ``stage_days[i]``) in each stage it enters. Deals whose
    close falls after ``today`` are open, in the stage they are in at ``today``, with an
    ``expected_close`` = true close + Normal(0, ``slip_sd_days``).

    Examples
    --------
    >>> o, h = opportunities(50, seed=1)
    >>> sorted(o["stage"].unique())[:3], set(h["opportunity_id"]) <= set(o["opportunity_id"])
    (['discover', 'lost', 'negotiate'], True)
    """
    rng = rng_from(seed)
    win_rate = win_rate or {"search": 0.35, "events": 0.30, "ads": 0.20, "email": 0.25}
    chans = list(win_rate)
    t0, t1 = pd.Timestamp(start), pd.Timestamp(today)
    span = (t1 - t0) / pd.Timedelta(days=1)
    created = np.sort(rng.random(n) * span)
    ch = rng.integers(0, len(chans), n)
    won = rng.random(n) < np.array([win_rate[c] for c in chans])[ch]
    k = len(stage_days)
    last = np.where(won, k - 1, rng.integers(0, k, n))  # last open stage entered
    dur = rng.exponential(np.asarray(stage_days, dtype=float), size=(n, k))
    enter = created[:, None] + np.concatenate([np.zeros((n, 1)), np.cumsum(dur, axis=1)[:, :-1]], axis=1)
    close = enter[np.arange(n), last] + dur[np.arange(n), last]
    closed = close <= span
    hist = []
    stage_now = np.empty(n, dtype=object)
    for i in range(n):
        for j in range(last[i] + 1):
            if enter[i, j] <= span:
                hist.append((i, enter[i, j], OPEN_STAGES[j]))
                stage_now[i] = OPEN_STAGES[j]
        if closed[i]:
            final = "won" if won[i] else "lost"
            hist.append((i, close[i], final))
            stage_now[i] = final
    ids = np.array([f"O{i:06d}" for i in range(n)])
    opps = pd.DataFrame({
        "opportunity_id": ids,
        "created_at": (t0 + pd.to_timedelta(created, unit="D")).round("s"),
        "closed_at": pd.Series(t0 + pd.to_timedelta(close, unit="D")).dt.round("s").where(closed),
        "expected_close": pd.Series(t0 + pd.to_timedelta(close + rng.normal(0, slip_sd_days, n), unit="D")).dt.normalize().where(~closed),
        "stage": stage_now.astype(str),
        "amount": np.round(rng.lognormal(np.log(amount_mean) - np.log1p(amount_cv**2) / 2,
                                         np.sqrt(np.log1p(amount_cv**2)), n), 2),
        "owner": [f"R{o:03d}" for o in rng.integers(0, n_owners, n)],
        "channel": np.array(chans)[ch],
        "product": np.array(PRODUCTS)[rng.integers(0, len(PRODUCTS), n)],
        "account": [f"A{a:05d}" for a in rng.integers(0, max(2, n // 2), n)],
    })
    h = pd.DataFrame(hist, columns=["i", "t", "stage"])
    history = pd.DataFrame({"opportunity_id": ids[h["i"].to_numpy()],
                            "t": pd.Series(t0 + pd.to_timedelta(h["t"].to_numpy(), unit="D")).dt.round("s"),
                            "stage": h["stage"]})
    return opps, history


_STAGE_LABELS = {"qualify": "Qualification", "discover": "Needs Analysis", "propose": "Proposal/Price Quote",
                 "negotiate": "Negotiation/Review", "won": "Closed Won", "lost": "Closed Lost"}


#: How :func:`messy_export`'s columns and stage labels map onto crmsim's opportunity history
#: (``HistoryMapping(columns=MESSY_EXPORT_COLUMNS, stages=MESSY_EXPORT_STAGES)``).
MESSY_EXPORT_COLUMNS = {"Opportunity ID": "opportunity_id", "Created": "created_at", "Close Date": "closed_at",
                        "Expected Close": "expected_close", "Stage": "stage", "Amount": "amount", "Owner": "owner",
                        "Lead Source": "channel", "Product": "product", "Account": "account"}
MESSY_EXPORT_STAGES = {label: stage for stage, label in _STAGE_LABELS.items()}


def messy_export(opps: pd.DataFrame, *, seed=None) -> pd.DataFrame:
    """The same deals as a real CRM export would give them: renamed columns, stage labels in the
    CRM's words, dates in three formats, amounts as "$12,345.00" (some missing), products spelled
    two ways, stray spaces.

    Examples
    --------
    >>> o, _ = opportunities(10, seed=1)
    >>> list(messy_export(o, seed=1).columns)[:4]
    ['Opportunity ID', 'Created', 'Close Date', 'Expected Close']
    """
    rng = rng_from(seed)
    n = len(opps)
    fmt = rng.integers(0, 3, n)

    def dates(col):
        out = []
        for v, f in zip(opps[col], fmt):
            if pd.isna(v):
                out.append("")
            elif f == 0:
                out.append(v.strftime("%Y-%m-%d"))
            elif f == 1:
                out.append(v.strftime("%m/%d/%Y"))
            else:
                out.append(v.strftime("%d %b %Y"))
        return out

    amount = [("" if rng.random() < 0.03 else f"${a:,.2f}") if rng.random() < 0.7 else f"{a:.2f}"
              for a in opps["amount"]]
    product = [p.lower().replace(" ", "-") if rng.random() < 0.3 else p for p in opps["product"]]
    return pd.DataFrame({
        "Opportunity ID": opps["opportunity_id"],
        "Created": dates("created_at"),
        "Close Date": dates("closed_at"),
        "Expected Close": dates("expected_close"),
        "Stage": [_STAGE_LABELS[s] for s in opps["stage"]],
        "Amount": amount,
        "Owner": [f" {o} " if rng.random() < 0.1 else o for o in opps["owner"]],
        "Lead Source": opps["channel"],
        "Product": product,
        "Account": opps["account"],
    })


_ROLE_POWER = {"decision_maker": (0.8, 1.0), "technical_evaluator": (0.4, 0.7), "user": (0.1, 0.3),
               "finance": (0.4, 0.6), "procurement": (0.3, 0.5), "coach": (0.2, 0.4), "blocker": (0.4, 0.7)}


def buying_centre(n: int = 12, *, seed=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A generated power map: ``(contacts, edges)`` for :func:`crmsim.graphs.influence.power_map`.

    One or two decision makers; evaluators, finance and procurement report to them; users report
    to evaluators; a coach (friendly) and sometimes a blocker (hostile). Bosses influence their
    reports strongly, reports their bosses weakly, plus a few random peer influences.

    Examples
    --------
    >>> contacts, edges = buying_centre(10, seed=1)
    >>> len(contacts), "decision_maker" in set(contacts["role"]), edges.columns.tolist()[:3]
    (10, True, ['source', 'target', 'weight'])
    """
    rng = rng_from(seed)
    n = max(n, 6)
    n_dm = 1 + int(rng.random() < 0.4)
    roles = ["decision_maker"] * n_dm + ["technical_evaluator", "finance", "procurement", "coach"]
    if rng.random() < 0.6:
        roles.append("blocker")
    roles += list(rng.choice(["user", "technical_evaluator", "user"], n - len(roles)))
    ids = [f"P{i:02d}" for i in range(n)]
    power = [rng.uniform(*_ROLE_POWER[r]) for r in roles]
    att = np.clip(rng.normal(0.0, 0.35, n), -1, 1)
    att[[k for k, r in enumerate(roles) if r == "coach"]] = rng.uniform(0.5, 0.9)
    att[[k for k, r in enumerate(roles) if r == "blocker"]] = rng.uniform(-0.9, -0.5)
    rel = np.where(np.array(roles) == "coach", rng.uniform(0.6, 0.9), rng.uniform(0, 0.4, n))
    contacts = pd.DataFrame({"contact_id": ids, "role": roles, "power": np.round(power, 3),
                             "attitude": np.round(att, 3), "stubbornness": np.round(rng.uniform(0.2, 0.6, n), 3),
                             "relationship": np.round(rel, 3)})
    dms = [i for i, r in zip(ids, roles) if r == "decision_maker"]
    evals = [i for i, r in zip(ids, roles) if r == "technical_evaluator"]
    edges = []
    for i, r in zip(ids, roles):
        boss = None
        if r in ("technical_evaluator", "finance", "procurement", "coach", "blocker"):
            boss = dms[int(rng.integers(0, len(dms)))]
        elif r == "user":
            boss = evals[int(rng.integers(0, len(evals)))] if evals else dms[0]
        if boss is not None and boss != i:
            edges.append((boss, i, round(float(rng.uniform(0.3, 0.6)), 3), "reports_to"))
            edges.append((i, boss, round(float(rng.uniform(0.1, 0.35)), 3), "influence"))
    for _ in range(n // 2):
        a, b = rng.choice(n, 2, replace=False)
        edges.append((ids[a], ids[b], round(float(rng.uniform(0.05, 0.3)), 3), "influence"))
    e = pd.DataFrame(edges, columns=["source", "target", "weight", "kind"])
    e = e.groupby(["source", "target"], as_index=False).agg(weight=("weight", lambda w: min(1.0, w.sum())),
                                                           kind=("kind", "first"))
    return contacts, e


class ExportChannel(Config):
    """The truth behind one channel of :func:`marketing_export`: leads a week at the export's
    start, weekday weights (Monday first), growth per year, the share eventually won, days from
    lead to won (gamma ``ttc_shape``, ``ttc_scale``) and the won amount (lognormal mean and CV).

    Examples
    --------
    >>> ExportChannel(volume_per_week=20, p_won=0.05, ttc_shape=2.0, ttc_scale=15.0, amount_mean=3_000, amount_cv=0.5).p_won
    0.05
    """

    volume_per_week: float = Field(gt=0)
    weekday_weights: tuple[float, float, float, float, float, float, float] = (1.2, 1.2, 1.1, 1.1, 1, 0.2, 0.2)
    growth_per_year: float = 0.0
    p_won: float = Field(ge=0, le=1)
    ttc_shape: float = Field(default=1.2, gt=0)
    ttc_scale: float = Field(default=40.0, gt=0)
    amount_mean: float = Field(default=5000.0, gt=0)
    amount_cv: float = Field(default=1.0, gt=0)


#: Channel names and truths of a company's own marketing funnel (labels as a web-analytics tool
#: writes them, one channel with few leads); illustrative, for tests and notebooks.
EXPORT_CHANNELS: dict[str, ExportChannel] = {
    "organic_search": ExportChannel(volume_per_week=45, growth_per_year=0.6, p_won=0.12),
    "paid_search": ExportChannel(volume_per_week=35, growth_per_year=0.8, p_won=0.11, ttc_scale=30),
    "social": ExportChannel(volume_per_week=30, p_won=0.07),
    "direct_traffic": ExportChannel(volume_per_week=12, p_won=0.10),
    "email": ExportChannel(volume_per_week=10, weekday_weights=(2, 1.2, 1, 1, 0.8, 0.1, 0.1), p_won=0.05),
    "referral": ExportChannel(volume_per_week=6, p_won=0.15, ttc_shape=2.0, ttc_scale=25),
    "display": ExportChannel(volume_per_week=3, p_won=0.05),
    "other_publicities": ExportChannel(volume_per_week=1.5, p_won=0.06),
    "Trade Fair Leipzig": ExportChannel(volume_per_week=0.3, p_won=0.3),
}


def marketing_export(days: int = 364, channels: dict[str, ExportChannel] | None = None, *,
                     start: str = "2024-06-03", time_of_day: bool = False, blank_share: float = 0.02,
                     follow_days: int = 0, seed=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A marketing-qualified-lead export and its closed-deals table, in the shape public funnel
    exports have: ``mqls`` (``mql_id, first_contact_date, landing_page_id, origin``; dates only
    unless ``time_of_day``; some blank origins) and ``deals`` (``mql_id, seller_id, sdr_id,
    won_date`` with a time, ``business_segment, lead_type, declared_monthly_revenue``) of the leads
    won before the export date (``follow_days`` after the last lead: public exports often list
    deals won months after their last MQL), plus two deals whose lead is not in the export and one
    lead with two deal rows. Not crmsim's own format: map it with a
    :class:`~crmsim.experiments.LeadHistoryMapping`.

    Examples
    --------
    >>> mqls, deals = marketing_export(28, seed=1)
    >>> list(mqls.columns), int(mqls["first_contact_date"].str.len().max())
    (['mql_id', 'first_contact_date', 'landing_page_id', 'origin'], 10)
    """
    rng = rng_from(seed)
    channels = EXPORT_CHANNELS if channels is None else channels
    t0 = pd.Timestamp(start)
    rows, won = [], []
    day = np.arange(days)
    for ch, c in channels.items():
        w = np.asarray(c.weekday_weights, dtype=float)
        lam = c.volume_per_week * w[(day + t0.day_of_week) % 7] / w.sum() * np.exp(c.growth_per_year * (day + 0.5) / 365.25)
        n = rng.poisson(lam)
        t = np.repeat(day.astype(float), n) + rng.random(int(n.sum()))
        is_won = rng.random(t.size) < c.p_won
        ttc = rng.gamma(c.ttc_shape, c.ttc_scale, t.size)
        sigma = np.sqrt(np.log1p(c.amount_cv ** 2))
        amount = rng.lognormal(np.log(c.amount_mean) - sigma ** 2 / 2, sigma, t.size)
        for k in range(t.size):
            rows.append((t[k], ch))
            if is_won[k] and t[k] + ttc[k] < days + follow_days:
                won.append((len(rows) - 1, t[k] + ttc[k], amount[k]))
    order = np.argsort([r[0] for r in rows], kind="stable")
    rank = np.empty(len(rows), dtype=np.int64)
    rank[order] = np.arange(len(rows))
    ids = np.array([f"{int(x):032x}" for x in rng.integers(0, 2**62, len(rows))])
    created = t0 + pd.to_timedelta([rows[i][0] for i in order], unit="D")
    origin = np.array([rows[i][1] for i in order], dtype=object)
    origin[rng.random(origin.size) < blank_share] = None
    mqls = pd.DataFrame({
        "mql_id": ids[order],
        "first_contact_date": (created.strftime("%Y-%m-%d %H:%M:%S") if time_of_day
                               else created.strftime("%Y-%m-%d")),
        "landing_page_id": [f"{x:032x}" for x in rng.integers(0, 2**62, len(rows)) % 500],
        "origin": origin,
    })
    segments = np.array(["health_beauty", "car_accessories", "home_decor", "audio_video_electronics"])
    deal_rows = [(ids[i], t0 + pd.Timedelta(days=float(tw)), a) for i, tw, a in won]
    deals = pd.DataFrame({
        "mql_id": [d[0] for d in deal_rows],
        "seller_id": [f"{x:032x}" for x in rng.integers(0, 2**62, len(deal_rows))],
        "sdr_id": [f"sdr{x:02d}" for x in rng.integers(0, 12, len(deal_rows))],
        "won_date": [d[1].strftime("%Y-%m-%d %H:%M:%S") for d in deal_rows],
        "business_segment": segments[rng.integers(0, segments.size, len(deal_rows))],
        "lead_type": np.array(["online_medium", "industry", "offline"])[rng.integers(0, 3, len(deal_rows))],
        "declared_monthly_revenue": [f"{d[2]:.2f}" for d in deal_rows],
    })
    stray = pd.DataFrame({"mql_id": ["f" * 32, "e" * 32], "seller_id": ["x", "y"], "sdr_id": ["sdr01", "sdr02"],
                          "won_date": [(t0 + pd.Timedelta(days=days // 2)).strftime("%Y-%m-%d %H:%M:%S")] * 2,
                          "business_segment": ["pet", "pet"], "lead_type": ["offline", "offline"],
                          "declared_monthly_revenue": ["100.00", "200.00"]})
    again = deals.head(1).assign(seller_id="second-row")
    deals = pd.concat([deals, stray, again], ignore_index=True)
    return mqls, deals

