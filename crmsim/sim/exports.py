"""Histories as a CRM or an ERP exports them, written by the simulations: a public pool's
accounts, activities, deals and owner-change log (:func:`pool_export`), and a credit book's
customers, invoices and payments (:func:`credit_export`). Column names and formats are those of
the exports (not crmsim's own), so the readers and calibrations are tested on the shape real
users bring; ``truth`` carries the simulation's own result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmsim.calendar import SIM_START
from crmsim.rng import rng_from

__all__ = ["pool_export", "POOL_EXPORT_COLUMNS", "credit_export", "CREDIT_EXPORT_COLUMNS", "field_export",
           "FIELD_EXPORT_COLUMNS", "promo_export", "PROMO_EXPORT_COLUMNS"]


#: How :func:`pool_export`'s CRM-style columns map to :func:`crmsim.customers.replay.pool_history`'s.
POOL_EXPORT_COLUMNS = {"customer_id": "Account ID", "grade": "Rating", "region": "Territory",
                       "lost_at": "Lost Date", "followup_at": "Activity Date", "deal_at": "Close Date",
                       "amount": "Amount", "won": "Stage", "changed_at": "Changed On", "owner_id": "New Owner",
                       "action": "Change Type"}


def pool_export(cfg, days: int, *, seed=None, noise: bool = True) -> dict[str, pd.DataFrame]:
    """A year (``days``) of a public pool as a CRM exports it, from the pool simulation with the
    rule in force ``cfg.policy``: ``accounts`` (``Account ID, Account Name, Rating, Territory,
    Lost Date``), ``activities`` (``Activity ID, Account ID, Assigned To, Activity Date, Type``),
    ``deals`` (``Deal ID, Account ID, Close Date, Stage, Amount``, with some ``Closed Lost`` rows)
    and ``ownership`` (the owner-change audit: ``Account ID, Changed On, New Owner`` (blank = to
    the pool), ``Change Type``). Dates only, no times; the history starts at
    ``crmsim.sim.pool.HISTORY_START`` (its state before that: each account's owner since, its last
    activity). With ``noise``, a few activity rows name accounts not in the export or have no date.
    Returns the tables and ``truth`` (the simulation's result, for tests).

    Examples
    --------
    >>> from crmsim.sim.pool import PoolConfig
    >>> t = pool_export(PoolConfig(customers={"count": 50}, reps={"count": 2, "target_holding": 20}), 30, seed=1)
    >>> sorted(t), list(t["ownership"].columns)
    (['accounts', 'activities', 'deals', 'ownership', 'truth'], ['Account ID', 'Changed On', 'New Owner', 'Change Type'])
    """
    from crmsim.sim import pool as sim_pool
    from crmsim.sim.engine import World

    seed = 0 if seed is None else seed
    res = sim_pool.simulate_pool(cfg, seed=seed, horizon_days=days)
    book = sim_pool._Book(cfg, World(seed, days))      # the same initial state (named streams)
    rng = rng_from(np.random.SeedSequence([int(seed), 991]))
    t0 = np.datetime64(sim_pool._T0.date(), "D")

    def date(t):
        return (t0 + np.floor(np.asarray(t, dtype=float)).astype("timedelta64[D]")).astype(str)

    acc = [f"ACC-{i:05d}" for i in range(book.n)]
    ids = np.array(acc)
    ev = res.events
    lost = ev[ev["event"] == "lost"].drop_duplicates("entity_id")
    lost_at = np.full(book.n, "", dtype=object)
    lost_at[lost["entity_id"].to_numpy().astype(int)] = date(lost["t"].to_numpy())
    accounts = pd.DataFrame({"Account ID": ids, "Account Name": [f"Company {i}" for i in range(book.n)],
                             "Rating": book.grade_names[book.grade], "Territory": book.region_names[book.region],
                             "Lost Date": lost_at})
    owned0 = book.owner >= 0
    prior_fu = owned0 & (book.last_fu > book.received)
    fu = ev[ev["event"] == "followup"]
    act_c = np.concatenate([np.flatnonzero(prior_fu), fu["entity_id"].to_numpy().astype(int)])
    act_t = np.concatenate([book.last_fu[prior_fu], fu["t"].to_numpy()])
    act_r = np.concatenate([book.owner[prior_fu], fu["actor"].to_numpy().astype(int)])
    activities = pd.DataFrame({"Activity ID": [f"ACT-{i:07d}" for i in range(act_c.size)], "Account ID": ids[act_c],
                               "Assigned To": book.rep_ids[act_r], "Activity Date": date(act_t),
                               "Type": rng.choice(["Call", "Email", "Visit"], act_c.size, p=[0.6, 0.3, 0.1])})
    if noise and len(activities):
        extra = pd.DataFrame({"Activity ID": ["ACT-X1", "ACT-X2", "ACT-X3"], "Account ID": ["ACC-99999", "ACC-99998", "acc-00001"],
                              "Assigned To": book.rep_ids[0], "Activity Date": date([0, 1, 2]), "Type": "Call"})
        blank = activities.sample(n=min(2, len(activities)), random_state=int(rng.integers(1 << 31))).assign(**{"Activity Date": ""})
        blank["Activity ID"] = blank["Activity ID"] + "-dup"
        activities = pd.concat([activities, extra, blank], ignore_index=True)
    dl = ev[ev["event"] == "deal"]
    lost_deals = dl.sample(frac=0.3, random_state=int(rng.integers(1 << 31))) if noise and len(dl) else dl.iloc[:0]
    deals = pd.DataFrame({"Deal ID": [f"D-{i:06d}" for i in range(len(dl) + len(lost_deals))],
                          "Account ID": np.concatenate([ids[dl["entity_id"].to_numpy().astype(int)],
                                                        ids[lost_deals["entity_id"].to_numpy().astype(int)]]),
                          "Close Date": np.concatenate([date(dl["t"].to_numpy()), date(lost_deals["t"].to_numpy() + 1)]),
                          "Stage": ["Closed Won"] * len(dl) + ["Closed Lost"] * len(lost_deals),
                          "Amount": np.concatenate([np.round(dl["value"].to_numpy(), 2), np.round(lost_deals["value"].to_numpy(), 2)])})
    moves = ev[ev["event"].isin(["reclaim", "claim"])]
    own = pd.DataFrame({
        "Account ID": np.concatenate([ids[owned0], ids[moves["entity_id"].to_numpy().astype(int)]]),
        "Changed On": np.concatenate([date(book.received[owned0]), date(moves["t"].to_numpy())]),
        "New Owner": np.concatenate([book.rep_ids[book.owner[owned0]],
                                     np.where(moves["event"].to_numpy() == "claim",
                                              book.rep_ids[np.maximum(moves["actor"].to_numpy().astype(int), 0)], "")]),
        "Change Type": np.concatenate([np.full(int(owned0.sum()), "Assigned"),
                                       np.where(moves["event"].to_numpy() == "claim", "Claimed from pool", "Reclaimed to pool")]),
    })
    return {"accounts": accounts, "activities": activities, "deals": deals, "ownership": own, "truth": res}


#: How :func:`credit_export`'s ERP-style columns map to :func:`crmsim.experiments.load_credit_history`'s.
CREDIT_EXPORT_COLUMNS = {"customer_id": "Customer No", "grade": "Risk Class", "credit_limit": "Credit Limit",
                         "defaulted_at": "Written Off On", "invoice_id": "Invoice No", "issued_at": "Invoice Date",
                         "due_at": "Due Date", "amount": "Amount", "paid_at": "Payment Date"}


def credit_export(cfg, days: int, *, seed=None, noise: bool = True) -> dict[str, pd.DataFrame]:
    """``days`` of a credit book as an ERP exports it, from the credit simulation: ``customers``
    (``Customer No, Name, Risk Class, Credit Limit, Written Off On``; the limits the run used),
    ``invoices`` (``Invoice No,
    Customer No, Invoice Date, Due Date, Amount, Currency``; amounts in currency units with
    thousands separators) and ``payments`` (``Invoice No, Payment Date, Amount``; some invoices
    paid in two instalments). Dates only. With ``noise``: an invoice of an unknown customer, a
    credit note (negative amount), a payment dated before its invoice and one for an unknown
    invoice. Returns the tables and ``truth`` (the simulation's result).

    Examples
    --------
    >>> from crmsim.sim.credit import CreditConfig
    >>> t = credit_export(CreditConfig(customers=40), 60, seed=1)
    >>> list(t["invoices"].columns)
    ['Invoice No', 'Customer No', 'Invoice Date', 'Due Date', 'Amount', 'Currency']
    """
    from crmsim.sim.credit import credit_book, simulate_credit
    from crmsim.sim.engine import World

    seed = 0 if seed is None else seed
    res = simulate_credit(cfg, seed=seed, horizon_days=days)
    rng = rng_from(np.random.SeedSequence([int(seed), 773]))
    rc = res.table
    t0 = np.datetime64(SIM_START.date(), "D")

    def date(t):
        t = np.asarray(t, dtype=float)
        out = (t0 + np.nan_to_num(t).astype("int64").astype("timedelta64[D]")).astype(str).astype(object)
        out[np.isnan(t)] = ""
        return out

    def money(cents):
        return [f"{c / 100:,.2f}" for c in cents]

    ev = res.events[res.events["event"] == "default"]
    written = np.full(cfg.customers, np.nan)
    written[ev["entity_id"].to_numpy().astype(int)] = ev["t"].to_numpy()
    g, _, limit = credit_book(cfg, World(seed, days).streams)     # the run's own grades and limits
    ids = [f"K{i:05d}" for i in range(cfg.customers)]
    customers = pd.DataFrame({"Customer No": ids, "Name": [f"Customer {i}" for i in range(cfg.customers)],
                              "Risk Class": np.array(list(cfg.grade_shares), dtype=object)[g],
                              "Credit Limit": money(limit), "Written Off On": date(written)})
    inv_no = [f"INV-{i:07d}" for i in range(len(rc))]
    invoices = pd.DataFrame({"Invoice No": inv_no, "Customer No": np.array(ids)[rc["customer"].to_numpy()],
                             "Invoice Date": date(rc["created"]), "Due Date": date(rc["due"]),
                             "Amount": money(rc["amount"].to_numpy()), "Currency": "EUR"})
    paid = rc["paid_at"].notna().to_numpy()
    split = paid & (rng.random(len(rc)) < 0.2)
    first = np.floor(rc["amount"].to_numpy() * 0.4)
    p_no = np.concatenate([np.array(inv_no)[paid & ~split], np.array(inv_no)[split], np.array(inv_no)[split]])
    p_t = np.concatenate([rc["paid_at"].to_numpy()[paid & ~split],
                          np.maximum(rc["created"].to_numpy()[split], rc["paid_at"].to_numpy()[split] - 10),
                          rc["paid_at"].to_numpy()[split]])
    p_a = np.concatenate([rc["amount"].to_numpy()[paid & ~split], first[split], rc["amount"].to_numpy()[split] - first[split]])
    payments = pd.DataFrame({"Invoice No": p_no, "Payment Date": date(p_t), "Amount": money(p_a)})
    if noise and len(rc):
        invoices = pd.concat([invoices, pd.DataFrame({
            "Invoice No": ["INV-X1", "CN-0001"], "Customer No": ["K99999", ids[0]],
            "Invoice Date": date([5, 6]), "Due Date": date([35, 36]), "Amount": ["100.00", "-250.00"],
            "Currency": "EUR"})], ignore_index=True)
        payments = pd.concat([payments, pd.DataFrame({
            "Invoice No": [inv_no[-1], "INV-NOPE"], "Payment Date": date([rc["created"].iloc[-1] - 3, 10]),
            "Amount": ["1.00", "5.00"]})], ignore_index=True)
    return {"customers": customers, "invoices": invoices, "payments": payments, "truth": res}


#: How :func:`field_export`'s columns map to :func:`crmsim.experiments.field_twin.load_visit_history`'s.
FIELD_EXPORT_COLUMNS = {"customer_id": "Store Code", "lat": "Latitude", "lon": "Longitude", "grade": "Tier",
                        "owner_id": "Sales Rep", "visit_id": "Visit No", "rep_id": "Sales Rep",
                        "visit_type": "Visit Type", "planned_at": "Planned Date", "status": "Status",
                        "checkin_at": "Check-in Time", "checkout_at": "Check-out Time"}


def field_export(cfg, days: int, *, seed=None, noise: bool = True) -> dict[str, pd.DataFrame]:
    """``days`` of a field team as a field-sales app exports them, from the field simulation:
    ``stores`` (``Store Code, Store Name, Latitude, Longitude, Tier, Sales Rep``) and ``visits``
    (``Visit No, Sales Rep, Store Code, Visit Type, Planned Date`` (blank: an ad-hoc visit),
    ``Status`` (Completed / Cancelled / Not Visited), ``Check-in Time, Check-out Time``
    (``2025-01-06 09:12``, to the minute), ``Check-in Lat, Check-in Lng``). The log starts on a
    Monday, 2025-01-06; ad-hoc visits the rep did not get to are in no log. With ``noise``: a visit of a store not in the stores table, a completed
    visit without check-out, one whose check-out is before its check-in, and a store without
    coordinates (0, 0). Returns the tables and ``truth`` (the simulation's result).

    Examples
    --------
    >>> from crmsim.sim.field import FieldConfig
    >>> t = field_export(FieldConfig(customers={"count": 30}, reps={"count": 2}, routing=False), 14, seed=1)
    >>> list(t["visits"].columns)[:6]
    ['Visit No', 'Sales Rep', 'Store Code', 'Visit Type', 'Planned Date', 'Status']
    """
    from crmsim.sim.engine import World
    from crmsim.sim.field import _T0, field_world, simulate_field

    seed = 0 if seed is None else seed
    res = simulate_field(cfg, seed=seed, horizon_days=days)
    cust, _reps = field_world(cfg, World(seed, days).streams.rng("world"))   # the same stores (named streams)
    rng = rng_from(np.random.SeedSequence([int(seed), 557]))
    stores = pd.DataFrame({"Store Code": cust["customer_id"], "Store Name": [f"Store {i}" for i in range(len(cust))],
                           "Latitude": cust["lat"].round(6), "Longitude": cust["lon"].round(6), "Tier": cust["grade"],
                           "Sales Rep": cust["owner_id"]})
    v = res.table.sort_values(["day", "rep_id", "start_min"], kind="stable")
    v = v[~(v["adhoc"] & (v["status"] == "missed"))].reset_index(drop=True)   # an ad-hoc visit not made is in no log
    t0 = np.datetime64(_T0.date(), "m")

    def when(m):
        m = np.asarray(m, dtype=float)
        out = (t0 + np.nan_to_num(np.round(m)).astype("int64").astype("timedelta64[m]")).astype(str)
        out = np.char.replace(out.astype(str), "T", " ").astype(object)
        out[np.isnan(m)] = ""
        return out

    st = v["status"].to_numpy()
    day0 = np.datetime64(_T0.date(), "D")
    planned = np.where(v["adhoc"].to_numpy(), "", (day0 + v["day"].to_numpy().astype("timedelta64[D]")).astype(str))
    pos = cust.set_index("customer_id").loc[v["customer_id"], ["lat", "lon"]].to_numpy()
    jitter = rng.normal(0, 0.0002, pos.shape)
    done = np.isin(st, ["planned", "adhoc"])
    visits = pd.DataFrame({
        "Visit No": [f"V{i:07d}" for i in range(len(v))], "Sales Rep": v["rep_id"], "Store Code": v["customer_id"],
        "Visit Type": np.where(v["visit_type"].to_numpy() == "", "Routine", v["visit_type"].to_numpy()),
        "Planned Date": planned,
        "Status": np.select([done, st == "cancelled"], ["Completed", "Cancelled"], "Not Visited"),
        "Check-in Time": when(v["start_min"]), "Check-out Time": when(v["end_min"]),
        "Check-in Lat": np.where(done, np.round(pos[:, 0] + jitter[:, 0], 6), np.nan),
        "Check-in Lng": np.where(done, np.round(pos[:, 1] + jitter[:, 1], 6), np.nan)})
    if noise and done.sum() >= 3:
        k = np.flatnonzero(done)[[0, 1]]
        visits.loc[k[0], "Check-out Time"] = ""
        visits.loc[k[1], ["Check-in Time", "Check-out Time"]] = [visits.loc[k[1], "Check-out Time"],
                                                               visits.loc[k[1], "Check-in Time"]]
        extra = visits.iloc[[k[0]]].assign(**{"Visit No": "V-X1", "Store Code": "S99999"})
        visits = pd.concat([visits, extra], ignore_index=True)
        stores.loc[len(stores) - 1, ["Latitude", "Longitude"]] = [0.0, 0.0]
    return {"stores": stores, "visits": visits, "truth": res}


#: How :func:`promo_export`'s ERP-style columns map to :func:`crmsim.experiments.promo_twin.load_order_history`'s.
PROMO_EXPORT_COLUMNS = {"order_id": "Order No", "order_date": "Order Date", "customer_id": "Customer",
                        "segment": "Customer Group", "product_id": "Item Code", "category": "Item Group",
                        "qty": "Qty", "list_price": "Rate", "discount_pct": "Discount %", "net_amount": "Amount",
                        "promo_id": "Pricing Rule", "free": "Is Free Item", "unit_cost": "Incoming Rate"}


def promo_export(cfg, days: int, *, seed=None, noise: bool = True) -> dict[str, pd.DataFrame]:
    """``days`` of order lines as an ERP exports its sales order items, from the promotion
    simulation: ``lines`` (``Order No, Order Date`` (the day, no time), ``Customer, Customer Group``
    (the segment), ``Item Code, Item Group, Qty, Rate`` (list price per unit, currency units),
    ``Discount %, Amount`` (net), ``Pricing Rule`` (the promotion, blank for none: a discount
    without one was negotiated), ``Is Free Item`` (free goods: 100% off), ``Incoming Rate`` (unit cost, currency units)). Deals lost while
    waiting for approval and lines of no unit are not orders and are in no export. With
    ``noise``: a return (negative quantity), a line without an item code and a line whose date is
    not a date. Returns the tables and ``truth`` (the simulation's result).

    Examples
    --------
    >>> from crmsim.sim.promo import PromoConfig
    >>> t = promo_export(PromoConfig(customers=40), 14, seed=1)
    >>> list(t["lines"].columns)[:6]
    ['Order No', 'Order Date', 'Customer', 'Customer Group', 'Item Code', 'Item Group']
    """
    from crmsim.sim.promo import simulate_promo

    seed = 0 if seed is None else seed
    res = simulate_promo(cfg, seed=seed, horizon_days=days)
    o = res.table
    o = o[~o["lost"].to_numpy(bool) & ((o["units"] > 0) | (o["free_units"] > 0))].reset_index(drop=True)
    price = {p.product_id: p.list_price for p in cfg.products}
    cat = {p.product_id: p.category for p in cfg.products}
    cost = {p.product_id: p.unit_cost / 100 for p in cfg.products}
    day0 = np.datetime64(pd.Timestamp(cfg.start_date).date(), "D")
    date = (day0 + o["day"].to_numpy().astype("timedelta64[D]")).astype(str)
    rate = o["product_id"].map(price).to_numpy(float) / 100
    paid = o["units"].to_numpy(int)
    pct = np.divide(o["discount"].to_numpy(float), o["list_amount"].to_numpy(float),
                    out=np.zeros(len(o)), where=o["list_amount"].to_numpy(float) > 0)

    def lines(mask, qty, pct, net, free):
        return pd.DataFrame({"Order No": [f"SO-{i:07d}" for i in o["order_id"].to_numpy()[mask]],
                             "Order Date": date[mask], "Customer": [f"CUST-{c:05d}" for c in o["customer"].to_numpy()[mask]],
                             "Customer Group": o["segment"].to_numpy()[mask], "Item Code": o["product_id"].to_numpy()[mask],
                             "Item Group": o["product_id"].map(cat).to_numpy()[mask], "Qty": qty[mask],
                             "Rate": np.round(rate[mask], 2), "Discount %": np.round(100 * pct[mask], 2),
                             "Amount": np.round(net[mask], 2), "Pricing Rule": o["promotions"].to_numpy()[mask],
                             "Is Free Item": np.full(int(mask.sum()), "Yes" if free else "No"),
                             "Incoming Rate": o["product_id"].map(cost).to_numpy(float)[mask], "_at": o.index[mask]})

    t = pd.concat([lines(paid > 0, paid, pct, o["net_amount"].to_numpy(float) / 100, False),
                   lines(o["free_units"].to_numpy() > 0, o["free_units"].to_numpy(int), np.ones(len(o)),
                         np.zeros(len(o)), True)], ignore_index=True)
    t = t.sort_values(["_at", "Is Free Item"], kind="stable").drop(columns="_at").reset_index(drop=True)
    if noise and len(t) >= 3:
        ret = t.iloc[[0]].assign(**{"Order No": "SO-R0001", "Qty": -1, "Amount": -t["Rate"].iloc[0]})
        t.loc[1, "Item Code"] = ""
        t.loc[2, "Order Date"] = "n/a"
        t = pd.concat([t, ret], ignore_index=True)
    return {"lines": t, "truth": res}
