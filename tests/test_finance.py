import numpy as np
import pandas as pd
import pytest

from crmsim.finance.ageing import DunningPolicy, ageing, bucket_labels, dso, dunning
from crmsim.finance.credit import CreditPolicy, check_order, early_warnings, risk_grade
from crmsim.finance.ecl import loss_rates_from_roll_rates, provision, roll_rate_matrix
from crmsim.finance.portfolio import (
    basel_correlation,
    loss_summary,
    portfolio_loss_mc,
    vasicek_quantile,
)


def test_ifrs9_provision_matrix_example_exactly():
    # IFRS 9 Illustrative Examples, Example 12: trade receivables of 30 million
    gross = pd.DataFrame([[15_000_000, 7_500_000, 4_000_000, 2_500_000, 1_000_000]],
                         columns=["current", "1-30", "31-60", "61-90", "90+"])
    rates = {"current": 0.003, "1-30": 0.016, "31-60": 0.036, "61-90": 0.066, "90+": 0.106}
    p = provision(gross, rates)
    assert p.loc["total"].tolist() == [45_000, 120_000, 144_000, 165_000, 106_000, 580_000]


def test_roll_rates_to_loss_rates():
    # current -> 1-30 -> 31+ -> written off / paid, known transition shares
    P = pd.DataFrame([[0.0, 0.2, 0.0, 0.8, 0.0], [0.0, 0.0, 0.5, 0.5, 0.0], [0.0, 0.0, 0.0, 0.6, 0.4]],
                     index=["current", "1-30", "31+"], columns=["current", "1-30", "31+", "paid", "written_off"])
    r = loss_rates_from_roll_rates(P)
    assert r.tolist() == pytest.approx([0.2 * 0.5 * 0.4, 0.5 * 0.4, 0.4])
    assert loss_rates_from_roll_rates(P, forward_looking=0.1)["31+"] == pytest.approx(0.44)
    snaps = pd.DataFrame({"receivable_id": [1, 1, 2, 2, 3], "period": [1, 2, 1, 2, 1],
                          "bucket": ["current", "1-30", "current", "written_off", "current"], "amount": [100, 100, 50, 50, 50]})
    m = roll_rate_matrix(snaps.assign(period=snaps["period"]).query("period < 3"), ["current", "1-30"])
    assert m.loc["current"].to_dict() == pytest.approx({"current": 0, "1-30": 0.5, "paid": 0.25, "written_off": 0.25})


@pytest.mark.parametrize("amount, ok", [(300, True), (301, False)])
def test_credit_check_boundary(amount, ok):
    cust = pd.DataFrame({"customer_id": ["a"], "credit_limit": [1000]})
    rec = pd.DataFrame({"customer_id": ["a"], "open": [500]})
    orders = pd.DataFrame({"customer_id": ["a"], "unbilled": [200]})
    log = []
    r = check_order({"order_id": "o1", "customer_id": "a", "amount": amount}, cust, rec, orders, CreditPolicy(), log=log)
    assert r["ok"] is ok and r["exposure"] == 700 + amount          # exposure == limit passes; +1 cent blocks
    assert log[0]["action"] == ("release" if ok else "hold")
    if not ok:
        assert r["reason"] == "exposure 1001 exceeds the customer limit 1000 by 1"


def test_group_limit_fallback_and_check_points():
    cust = pd.DataFrame({"customer_id": ["a", "b", "c"], "credit_limit": [np.nan, np.nan, np.nan],
                         "group_id": ["g", "g", None], "group_limit": [2000, 2000, np.nan]})
    rec = pd.DataFrame({"customer_id": ["a", "b"], "open": [900, 900]})
    orders = pd.DataFrame({"customer_id": [], "unbilled": []})
    r = check_order({"customer_id": "a", "amount": 300}, cust, rec, orders, CreditPolicy())
    assert (r["limit_source"], r["exposure"], r["ok"]) == ("group", 2100, False)
    r = check_order({"customer_id": "c", "amount": 1}, cust, rec, orders, CreditPolicy(default_limit=0))
    assert (r["limit_source"], r["ok"]) == ("default", False)
    r = check_order({"customer_id": "c", "amount": 1}, cust, rec, orders, CreditPolicy(), point="quote")
    assert r["ok"] and "no credit check" in r["reason"]


@pytest.mark.parametrize("customer, amount, ok, source, exposure", [
    ("s1", 1_000, True, "customer", 4_000),        # s1's own 4,000 limit: 3,000 + 1,000 fits exactly
    ("s1", 1_001, False, "customer", 4_001),
    ("s2", 2_000, True, "group holding", 10_000),  # the holding's 10,000: 3,000 + 5,000 + 2,000
    ("s2", 2_001, False, "group holding", 10_001),
    ("s2b", 1_500, False, "customer", 1_600),      # its own 1,500 limit binds first
])
def test_credit_shared_down_a_multi_level_group(customer, amount, ok, source, exposure):
    from crmsim.graphs.org import org_tree

    tree = org_tree(pd.DataFrame({"entity_id": ["holding", "s1", "s2", "s2b"],
                                  "parent_id": [None, "holding", "holding", "s2"]}))
    limits = {"holding": 10_000, "s1": 4_000, "s2b": 1_500}
    cust = pd.DataFrame({"customer_id": ["s1", "s2", "s2b"]})
    rec = pd.DataFrame({"customer_id": ["s1", "s2", "s2b"], "open": [3_000, 4_900, 100]})
    orders = pd.DataFrame({"customer_id": [], "unbilled": []})
    r = check_order({"customer_id": customer, "amount": amount}, cust, rec, orders, CreditPolicy(),
                    group_tree=tree, tree_limits=limits)
    assert (r["ok"], r["limit_source"], r["exposure"]) == (ok, source, exposure)


def test_ageing_buckets_dunning_and_dso():
    rec = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "open": [100, 200, 300, 400],
                        "due_at": pd.to_datetime(["2025-04-10", "2025-03-20", "2025-01-15", "2024-10-01"])})
    a = ageing(rec, today="2025-04-01")
    assert list(a.columns) == bucket_labels() == ["current", "1-30", "31-60", "61-90", "91-120", "121+"]
    assert a.loc["a"].tolist() == [100, 200, 0, 0, 0, 0] and a.loc["b"].tolist() == [0, 0, 0, 300, 0, 400]
    d = dunning(rec, DunningPolicy(), today="2025-04-07")
    assert d["remind"].tolist() == [True, False, False, False]
    assert d["level"].tolist() == [0, 1, 3, 3] and d["fee"].tolist() == [0, 0, 4000, 4000]
    assert d["interest"].iloc[1] == round(200 * 0.08 * 18 / 365)
    assert dso(1_000, 3_000, 90) == 30


def test_portfolio_monte_carlo_matches_vasicek():
    pd_, rho, n, scen = 0.02, 0.15, 2000, 10_000
    L = portfolio_loss_mc(np.ones(n), pd_, 1.0, rho, scenarios=scen, seed=3) / n
    for q in (0.5, 0.9, 0.99):
        x = vasicek_quantile(q, pd_, rho)
        emp = (L <= x).mean()
        assert abs(emp - q) < 4 * np.sqrt(q * (1 - q) / scen) + 0.01, (q, emp)
    assert L.mean() == pytest.approx(pd_, rel=0.05)
    # the per-obligor path (all exposures distinct) agrees with the grouped binomial path
    M = portfolio_loss_mc(1 + 1e-9 * np.arange(n), pd_, 1.0, rho, scenarios=4000, seed=4) / n
    for q in (0.5, 0.9, 0.99):
        assert abs((M <= vasicek_quantile(q, pd_, rho)).mean() - q) < 4 * np.sqrt(q * (1 - q) / 4000) + 0.01
    s = loss_summary(L)
    assert s["q95"] <= s["q99"] <= s["q999"] and s["es99"] >= s["q99"]
    assert basel_correlation(0.0001) == pytest.approx(0.24, abs=0.001)
    assert basel_correlation(0.2) == pytest.approx(0.12, abs=0.001)


def test_risk_grades_and_warnings():
    c = pd.DataFrame({"avg_days_late": [0, 20, 70], "external_score": [90, 60, 10]})
    assert risk_grade(c).tolist() == ["A", "C", "E"]
    h = pd.DataFrame({"customer_id": ["a"] * 3 + ["b"] * 3, "period": [1, 2, 3] * 2,
                      "days_past_due": [0, 5, 12, 10, 5, 0], "exposure": [50, 60, 95, 10, 10, 10],
                      "credit_limit": [100] * 6})
    w = early_warnings(h).set_index("customer_id")
    assert w.loc["a", "warnings"] == ["days past due rising", "limit utilisation 95%"]
    assert w.loc["b", "warnings"] == []


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["prepayment", "rebate", "cash", "credit"]),
                          st.integers(-2000, 2000), st.booleans()), max_size=40))
def test_ledger_invariants(ops):
    from crmsim.finance.accounts import Ledger

    led = Ledger(credit_lines={"a": 1000})
    expected_rows = 0
    for k, (cust, acct, amt, transfer) in enumerate(ops):
        if transfer:
            r = led.transfer(k, cust, acct, "prepayment" if acct != "prepayment" else "cash", abs(amt))
            expected_rows += 2 if r["ok"] else 1   # both legs, or one refusal
        else:
            led.post(k, cust, acct, amt)
            expected_rows += 1                     # one movement, or one refusal
    assert len(led.movements) + len(led.refused) == expected_rows  # nothing silently lost
    f = led.frame()
    b = led.balances()
    # balances are the sum of accepted movements, and never below their floor
    sums = f.groupby(["customer_id", "account"])["amount"].sum()
    for r in b.itertuples():
        assert sums.get((r.customer_id, r.account), 0) == r.balance
        floor = -1000 if (r.account == "credit" and r.customer_id == "a") else 0
        assert r.balance >= floor
    # transfers conserve money: total = external posts only
    accepted_external = f[~f["note"].str.startswith(("to ", "from "))]["amount"].sum()
    assert b["balance"].sum() == accepted_external
    assert all(r["reason"] for r in led.refused)


def test_rebate_usage_conditions():
    from crmsim.finance.accounts import RebateUsage

    u = RebateUsage(max_order_share=0.1, max_line_share=0.5)
    assert u.usable(5000, [10000, 2000]) == 1200       # 10% of the order
    assert u.usable(300, [10000, 2000]) == 300          # the balance
    assert RebateUsage(max_order_share=1.0, max_line_share=0.05).usable(10**6, [1000, 3000]) == 200


def test_payment_terms_and_frame_agreement():
    from crmsim.finance.contracts import FrameAgreement, PaymentTerms

    assert PaymentTerms(kind="net", days=30).due_dates("2025-01-31", 500) == [(pd.Timestamp("2025-03-02"), 500)]
    assert PaymentTerms(kind="eom", days=0).due_dates("2025-02-10", 7)[0][0] == pd.Timestamp("2025-02-28")
    parts = PaymentTerms(kind="instalments", parts=[(1 / 3, 0), (1 / 3, 30), (1 / 3, 60)]).due_dates("2025-01-01", 1000)
    assert [a for _, a in parts] == [333, 333, 334] and sum(a for _, a in parts) == 1000
    with pytest.raises(ValueError, match="sum to 1"):
        PaymentTerms(kind="instalments", parts=[(0.5, 0), (0.4, 30)])
    fa = FrameAgreement(agreement_id="FA1", customer_id="a", start="2025-01-01", end="2025-12-31",
                        products=("crm", "bi"), prices={"crm": 10_000})
    lines = pd.DataFrame({"order_id": ["o1", "o2", "o3", "o4"], "customer_id": ["a", "a", "a", "b"],
                          "ordered_at": pd.to_datetime(["2025-03-01", "2026-01-05", "2025-03-01", "2025-03-01"]),
                          "product": ["crm", "crm", "erp", "bi"], "unit_price": [10_000, 10_000, 1, 5]})
    r = fa.check(lines)
    assert r["ok"].tolist() == [True, False, False, False]
    assert "outside 2025-01-01..2025-12-31" in r["reason"][1] and "not in the agreement's scope" in r["reason"][2]
    assert "not party to FA1" in r["reason"][3]


def test_receivable_recognition_per_product_form():
    from crmsim.finance.contracts import PaymentTerms
    from crmsim.finance.receivables import RecognitionRule, recognise

    lines = pd.DataFrame({"order_id": ["o1", "o1", "o2", "o3"], "line_no": [1, 2, 1, 1],
                          "customer_id": "a", "form": ["physical", "virtual", "service", "project"],
                          "amount": [1000, 600, 400, 10_000]})
    ev = pd.DataFrame({
        "order_id": ["o1", "o1", "o1", "o2", "o2", "o3", "o3"], "line_no": [1, 1, 2, 1, 1, 1, 1],
        "event": ["shipped", "signed", "took_effect", "booked", "confirmed", "milestone_confirmed", "milestone_confirmed"],
        "t": pd.to_datetime(["2025-03-01", "2025-03-04", "2025-03-02", "2025-03-01", "2025-03-10", "2025-04-01", "2025-06-01"]),
        "share": [None, None, None, None, None, 0.4, 0.6]})
    r = recognise(lines, ev, terms=PaymentTerms(kind="net", days=30))
    assert r[["form", "amount"]].values.tolist() == [["physical", 1000], ["virtual", 600], ["service", 400],
                                                     ["project", 4000], ["project", 6000]]
    assert r.loc[r["form"] == "physical", "recognised_at"].item() == pd.Timestamp("2025-03-04")  # on sign-off
    assert r.loc[r["form"] == "physical", "due_at"].item() == pd.Timestamp("2025-04-03")
    r2 = recognise(lines, ev, RecognitionRule(physical="shipped"))
    assert r2.loc[r2["form"] == "physical", "recognised_at"].item() == pd.Timestamp("2025-03-01")
    assert r["amount"].sum() == lines["amount"].sum()


def test_credit_simulation_trade_off_and_rules():
    from crmsim.sim.credit import CreditConfig, simulate_credit

    tight = simulate_credit(CreditConfig(customers=300, limit_multiplier=1.0), seed=2, horizon_days=180).metrics
    loose = simulate_credit(CreditConfig(customers=300, limit_multiplier=3.0), seed=2, horizon_days=180).metrics
    again = simulate_credit(CreditConfig(customers=300, limit_multiplier=1.0), seed=2, horizon_days=180).metrics
    assert tight == again
    assert tight["lost_sales"] > 3 * loose["lost_sales"] and tight["sales"] < loose["sales"]
    assert tight["avg_exposure"] < loose["avg_exposure"]
    dun = simulate_credit(CreditConfig(customers=300, limit_multiplier=1.0, dunning_every_days=7), seed=2,
                          horizon_days=180).metrics
    assert dun["dso"] < tight["dso"]


def test_credit_simulation_default_rate_matches_the_pds(monkeypatch):
    import crmsim.sim.credit as credit_sim
    from crmsim.sim.credit import CreditConfig, simulate_credit

    cfg = CreditConfig(customers=2000, grade_shares={"A": 0, "B": 0, "C": 1.0, "D": 0, "E": 0})
    # months of 30.4 days (DAYS_PER_MONTH): in 364 days defaults are drawn on the first days of
    # months 2..12 (days 31, 61, ..., 335: 11 draws) with the monthly PD of annual PD 2.5%
    expected = 1 - (1 - 0.025) ** (11 / 12)
    draws = []
    real = credit_sim.defaults_given_factor
    monkeypatch.setattr(credit_sim, "defaults_given_factor", lambda *a: (draws.append(1), real(*a))[1])
    nearly_independent = cfg.model_copy(update={"rho": 0.001})
    rates = [simulate_credit(nearly_independent, seed=s, horizon_days=364).metrics["defaults"] / 2000
             for s in range(12)]
    assert len(draws) == 11 * 12
    assert np.mean(rates) == pytest.approx(expected, rel=0.1)   # binomial spread only: 12 x 2000 customers
    correlated = [simulate_credit(cfg, seed=s, horizon_days=364).metrics["defaults"] / 2000 for s in range(12)]
    assert np.std(correlated) > 0.3 * expected                   # the common factor makes years differ
    assert np.std(correlated) > 2 * np.std(rates)


def test_order_centre_and_fulfilment_checks():
    from crmsim.finance.orders import check_fulfilment, project_budget, renewals, validate_orders

    orders = pd.DataFrame({"order_id": ["o1", "o2", "o3"], "scenario": ["dealer", "visit", "fax"],
                           "front_end": ["web", "mini_program", "h5"]})
    lines = pd.DataFrame({"order_id": ["o1", "o2", "o9"], "line_no": [1, 1, 1], "form": ["physical", "project", "gift"],
                          "qty": [2, 1, 0], "unit_price": np.array([100, 5000, 1], dtype=np.int64)})
    p = validate_orders(orders, lines)
    assert sorted(p["problem"].str.split(";").str[0]) == sorted([
        "unknown scenario 'fax'", "line 1: unknown product form 'gift'", "line 1: no such order",
        "order without lines", "line 1: quantity must be > 0"])
    ev = pd.DataFrame({"order_id": ["o1"] * 3 + ["o2"] * 3, "line_no": 1,
                       "event": ["order_confirmed", "signed", "shipped", "order_confirmed", "hours_logged", "activated"],
                       "t": pd.to_datetime(["2025-01-01", "2025-01-03", "2025-01-05", "2025-01-01", "2025-01-02", "2025-01-03"]),
                       "value": [0, 0, 0, 0, 120, 0]})
    f = check_fulfilment(lines, ev).set_index("order_id")
    assert f.loc["o1", "problems"] == ["events out of order: order_confirmed -> signed -> shipped"]
    assert f.loc["o2", "problems"] == ["event 'activated' is not a project event"]
    b = project_budget(ev, pd.DataFrame({"order_id": ["o2"], "line_no": [1], "budget_hours": [100], "budget_cost": [10]}))
    assert b["hours_used"].item() == 1.2 and b["over_budget"].item()
    assert renewals("2025-01-31", 1, "2025-05-01") == [pd.Timestamp("2025-02-28"), pd.Timestamp("2025-03-31"),
                                                       pd.Timestamp("2025-04-30")]


def test_credit_simulation_logs_the_book_over_time():
    from crmsim.sim.credit import CreditConfig, simulate_credit

    r = simulate_credit(CreditConfig(customers=100), seed=1, horizon_days=60)
    ex = r.events[r.events["event"] == "exposure"]
    assert len(ex) == 60 and (ex["value"] >= 0).all()
    cum = r.events[r.events["event"] == "cumulative_loss"]["value"].to_numpy()
    assert (np.diff(cum) >= 0).all() and cum[-1] == r.metrics["credit_loss"]


def test_the_credit_simulation_reports_dso_by_the_finance_rule():
    from crmsim.finance.ageing import dso
    from crmsim.sim.credit import CreditConfig, simulate_credit

    m = simulate_credit(CreditConfig(customers=80), 3, 120, 30).metrics
    assert m["dso"] == dso(m["avg_exposure"], m["sales"], 90)


def test_the_credit_simulations_defaults_are_the_one_factor_rules_answers():
    """Month by month, the customers the credit simulation defaults are the ones
    finance.portfolio.defaults_given_factor names for that month's factor draws (the day's stream
    draws Z, then one idiosyncratic draw per customer), among those not defaulted yet."""
    from crmsim.calendar import month_start_days
    from crmsim.finance import defaults_given_factor
    from crmsim.sim.credit import CreditConfig, credit_book, simulate_credit
    from crmsim.sim.engine import Streams

    cfg = CreditConfig(customers=400, annual_pd={"A": 0.05, "B": 0.1, "C": 0.2, "D": 0.3, "E": 0.5})
    r = simulate_credit(cfg, seed=7, horizon_days=200)
    ev = r.events[r.events["event"] == "default"]
    streams = Streams(np.random.SeedSequence(7))
    g, _, _ = credit_book(cfg, streams)
    pd_month = 1 - (1 - np.array(list(cfg.annual_pd.values()))[g]) ** (1 / 12)
    gone = np.zeros(cfg.customers, dtype=bool)
    months = 0
    for day in month_start_days(200).tolist():
        rng = streams.rng(f"day.{day}")
        z, e = rng.standard_normal(), rng.standard_normal(cfg.customers)
        expected = np.flatnonzero(~gone & defaults_given_factor(pd_month, cfg.rho, z, e))
        got = np.sort(ev.loc[ev["t"] == day, "entity_id"].to_numpy())
        assert got.tolist() == expected.tolist(), day
        gone[expected] = True
        months += expected.size > 0
    assert months >= 3 and gone.sum() == r.metrics["defaults"]


# Basel II IRB corporate risk weights (LGD 45%, M = 2.5 years), as tabulated in the BCBS
# illustrative risk-weight table: PD 0.03% -> 14.44%, 1% -> 92.32%, 20% -> 238.23%.
@pytest.mark.parametrize("pd_, rw", [(0.0003, 0.1444), (0.01, 0.9232), (0.20, 2.3823), (0.0001, 0.1444)])
def test_irb_risk_weights_match_the_basel_table(pd_, rw):
    from crmsim.finance import irb_capital

    assert irb_capital(pd_)["risk_weight"].round(4).iloc[0] == rw      # 0.01% is floored at 0.03%


def test_irb_maturity_adjustment_by_hand():
    from crmsim.finance import irb_capital

    # PD 1%: b = (0.11852 - 0.05478 ln 0.01)^2 = 0.137486; M = 5 scales K by
    # (1 + 2.5 b) / 1 = 1.343715 against M = 2.5, so RW = 0.923168 x 1.343715 = 1.24048
    r = irb_capital([0.01, 0.01, 0.01], maturity=[2.5, 5, 9])
    assert r["b"].iloc[0] == pytest.approx(0.137486, abs=1e-6)
    assert r["risk_weight"].iloc[1] == pytest.approx(1.24048, abs=1e-5)
    assert r["risk_weight"].iloc[2] == r["risk_weight"].iloc[1]          # M is capped at 5 years
    with pytest.raises(ValueError, match="PD"):
        irb_capital(1.5)


@pytest.mark.parametrize("invoice, months, days, due", [
    ("2024-01-31", 1, 0, "2024-02-29"),      # end of the month after: a leap February
    ("2023-01-15", 1, 0, "2023-02-28"),
    ("2024-12-10", 1, 10, "2025-02-10"),     # end of January + 10 days, across the year end
    ("2025-01-20", 0, 30, "2025-03-02"),     # end of the invoice month + 30 days (ERPNext's "days after EOM")
])
def test_end_of_month_terms(invoice, months, days, due):
    from crmsim.finance import PaymentTerms

    (d, a), = PaymentTerms(kind="eom", months=months, days=days).due_dates(invoice, 1000)
    assert d == pd.Timestamp(due) and a == 1000


def test_manual_partial_allocation_keeps_the_rest_as_an_advance():
    from crmsim.finance import allocate

    pay = pd.DataFrame({"payment_id": ["ADV1"], "customer_id": ["c1"], "amount": [1000]})
    rec = pd.DataFrame({"receivable_id": ["R1", "R2"], "customer_id": ["c1", "c1"], "amount": [500, 300],
                        "due_at": pd.to_datetime(["2025-01-31", "2025-02-28"])})
    w = allocate(pay, rec, manual=pd.DataFrame({"payment_id": ["ADV1"], "receivable_id": ["R1"], "amount": [400]}))
    # ERPNext payment reconciliation: allocate 400 of the advance to R1; R1 keeps 100 open, R2 is
    # untouched, and 600 stays an advance (not swept onto R2 by the oldest-first pass)
    assert w["allocations"][["receivable_id", "amount", "pass"]].values.tolist() == [["R1", 400, "manual"]]
    assert w["receivables"]["open"].tolist() == [100, 300]
    assert w["prepayments"]["prepayment"].tolist() == [600]
    # without the manual row the automatic passes would have paid both
    assert allocate(pay, rec)["receivables"]["open"].tolist() == [0, 0]
    with pytest.raises(ValueError, match="more than"):
        allocate(pay, rec, manual=pd.DataFrame({"payment_id": ["ADV1"], "receivable_id": ["R2"], "amount": [400]}))


# levels at 7 / 30 / 60 days past due; due 2025-01-01
@pytest.mark.parametrize("counting, last_level, last_sent, today, level, send", [
    ("due_date", 0, None, "2025-03-10", 1, True),            # 68 days past due, nothing sent yet: level 1 first
    ("due_date", 1, "2025-01-08", "2025-03-10", 2, True),    # one level at a time from the level sent
    ("due_date", 2, "2025-02-01", "2025-03-10", 3, True),
    ("due_date", 3, "2025-03-02", "2025-03-10", 3, False),   # the last level is not sent again
    ("previous", 1, "2025-02-25", "2025-03-10", 1, False),   # 13 days since level 1 < 23 (30 - 7)
    ("previous", 1, "2025-02-15", "2025-03-10", 2, True),    # 23 days since level 1
    ("previous", 2, "2025-02-15", "2025-03-10", 2, False),   # 23 days since level 2 < 30 (60 - 30)
    ("previous", 0, None, "2025-01-07", 0, False),           # 6 days past due: nothing yet
    ("previous", 0, None, "2025-01-08", 1, True),
])
def test_stateful_dunning(counting, last_level, last_sent, today, level, send):
    from crmsim.finance import DunningPolicy, dunning

    r = pd.DataFrame({"due_at": pd.to_datetime(["2025-01-01"]), "open": [10_000], "last_level": [last_level],
                      "last_sent_at": pd.to_datetime([last_sent])})
    d = dunning(r, DunningPolicy(counting=counting), today=today).iloc[0]
    assert (d["level"], bool(d["send"])) == (level, send)
    assert d["fee"] == ((0, 0, 1500, 4000)[level] if send else 0)


# --- credit control as ERPNext runs it: exposure per check point, the credit controller, limit changes

def _credit_book():
    customers = pd.DataFrame({"customer_id": ["C1"], "credit_limit": [100_000]})
    receivables = pd.DataFrame({"customer_id": ["C1"], "open": [60_000]})
    open_orders = pd.DataFrame({"customer_id": ["C1"], "unbilled": [30_000]})
    return customers, receivables, open_orders


def test_the_exposure_counts_what_the_check_point_says():
    from crmsim.finance.credit import CreditPolicy, check_order

    c, r, o = _credit_book()
    policy = CreditPolicy(check_points=("order", "invoice"), exposure_at={"invoice": ("receivables",)})
    order = {"order_id": "SO1", "customer_id": "C1", "amount": 20_000}
    at_order = check_order(order, c, r, o, policy, point="order")       # 60,000 + 30,000 + 20,000
    at_invoice = check_order(order, c, r, o, policy, point="invoice")   # 60,000 + 20,000: the order is being billed
    assert (at_order["ok"], at_order["exposure"]) == (False, 110_000)
    assert (at_invoice["ok"], at_invoice["exposure"]) == (True, 80_000)


def test_a_credit_controller_turns_the_hold_into_a_warning():
    from crmsim.finance.credit import CreditPolicy, check_order

    c, r, o = _credit_book()
    log: list = []
    order = {"order_id": "SO1", "customer_id": "C1", "amount": 20_000}
    rep = check_order(order, c, r, o, CreditPolicy(), log=log, user_roles=("sales",))
    boss = check_order(order, c, r, o, CreditPolicy(), log=log, user_roles=("sales", "credit_controller"))
    assert not rep["ok"] and rep["warning"] is None
    assert boss["ok"] and boss["warning"] == "exposure 110000 exceeds the customer limit 100000 by 10000"
    assert [e["action"] for e in log] == ["hold", "override"]
    nobody = check_order(order, c, r, o, CreditPolicy(controller_role=None), user_roles=("credit_controller",))
    assert not nobody["ok"]


def test_limit_changes_are_validated():
    from crmsim.errors import InputError
    from crmsim.finance.credit import change_limit, check_limits

    c, r, o = _credit_book()
    with pytest.raises(InputError, match="89999 is below its outstanding 90000 .*receivables 60000, open orders 30000"):
        change_limit(c, "C1", 89_999, r, o)
    assert change_limit(c, "C1", 90_000, r, o)["credit_limit"].tolist() == [90_000]      # at least the outstanding
    assert change_limit(c, "C2", 5_000, r, o)["customer_id"].tolist() == ["C1", "C2"]   # a new row
    two = pd.DataFrame({"customer_id": ["C1", "C1", "C1"], "company": ["DE", "FR", "DE"], "credit_limit": [1, 2, 3]})
    with pytest.raises(InputError, match=r"more than one limit for customer_id / company \['C1 / DE'\]"):
        check_limits(two)
    ok = two.iloc[:2]
    assert change_limit(ok, "C1", 70_000, r, company="FR")["credit_limit"].tolist() == [1, 70_000]


def test_importance_sampled_tail_matches_vasicek_and_is_unbiased():
    """The factor-shifted sample's q99.9 and tail probability agree with Vasicek's large-portfolio
    distribution (a grade-shared book of distinct exposures takes the conditional-uniform path),
    and it is more precise than plain sampling at the same size."""
    from crmsim.finance import portfolio_losses

    pd_, rho, n = 0.02, 0.15, 4000
    x999 = vasicek_quantile(0.999, pd_, rho) * n
    ead = 1 + 1e-9 * np.arange(n)   # distinct exposures, one grade
    qs_is, qs_plain = [], []
    for k in range(6):
        s = portfolio_losses(ead, pd_, 1.0, rho, scenarios=3000, seed=10 + k, tail=0.999)
        qs_is.append(s.quantile(0.999))
        qs_plain.append(portfolio_losses(ead, pd_, 1.0, rho, scenarios=3000, seed=20 + k).quantile(0.999))
    assert np.mean(qs_is) == pytest.approx(x999, rel=0.05)  # a finite book sits near the limit
    assert np.std(qs_is) < np.std(qs_plain) / 2
    s = portfolio_losses(ead, pd_, 1.0, rho, scenarios=6000, seed=3, tail=0.999)
    assert s.tail_probability(x999) == pytest.approx(0.001, rel=0.25)
    assert s.summary()["q999"] == s.quantile(0.999) and s.summary()["es99"] >= s.quantile(0.99)
    # unweighted, quantile() is the empirical quantile
    plain = portfolio_losses(np.ones(50), 0.1, 1.0, 0.2, scenarios=1000, seed=1)
    assert (plain.weights == 1).all() and plain.quantile(0.9) == np.sort(plain.losses)[::-1][100]  # 100 of 1000 above
    with pytest.raises(ValueError, match="tail must be in"):
        portfolio_losses(ead, pd_, 1.0, rho, tail=1.5)
