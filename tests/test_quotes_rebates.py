import pandas as pd
import pytest

from crmsim.cpq.quotes import (
    ApprovalLevel,
    ApprovalPolicy,
    Quote,
    required_level,
    required_level_index,
)
from crmsim.cpq.rebates import RebateRule, RebateTier, accrue, compute_rebates, redeem, tier_amount
from crmsim.finance.accounts import Ledger, RebateUsage

POLICY = ApprovalPolicy(levels=(ApprovalLevel(name="rep", max_discount=0.10),
                                ApprovalLevel(name="manager", max_discount=0.20, max_amount=5_000_000),
                                ApprovalLevel(name="director", max_discount=0.35)))


@pytest.mark.parametrize("discount, amount, level", [
    (0.0, 1, "rep"), (0.10, 10**9, "rep"), (0.1001, 100, "manager"), (0.20, 5_000_000, "manager"),
    (0.20, 5_000_001, "director"), (0.35, 1, "director"), (0.36, 1, None),
])
def test_approval_routing(discount, amount, level):
    assert required_level(discount, amount, POLICY) == level
    assert required_level_index([discount], [amount], POLICY)[0] == (-1 if level is None else POLICY.rank(level))


def lines(**prices):
    return pd.DataFrame([{"product_id": p, "qty": q, "list_price": lp, "unit_price": up} for p, (q, lp, up) in prices.items()])


def test_quote_versions_diff_approval_audit_and_expiry():
    q = Quote("Q1", "c1", POLICY, validity_days=30)
    q.revise(lines(crm=(10, 10_000, 9_500), bi=(2, 20_000, 20_000)), "2025-03-01", "ann")
    assert q.submit("2025-03-01", "ann") == "approved"            # 5% within the rep's authority
    q.revise(lines(crm=(20, 10_000, 8_500), svc=(1, 50_000, 50_000)), "2025-03-05", "ann", "bigger deal")
    d = q.diff(1, 2).set_index("product_id")
    assert d["change"].to_dict() == {"bi": "removed", "crm": "changed", "svc": "added"}
    assert d["amount_change"].to_dict() == {"bi": -40_000, "crm": 170_000 - 95_000, "svc": 50_000}
    assert q.status == "draft" and q.submit("2025-03-05", "ann") == "pending" and q.needed == "manager"
    with pytest.raises(ValueError, match="rep may not approve; needs manager or above"):
        q.approve("2025-03-06", "bob", "rep")
    q.approve("2025-03-06", "max", "director")
    with pytest.raises(ValueError, match="accept refused: status is expired \\(valid until 2025-04-04\\)"):
        q.accept("2025-04-05", "customer")
    q.accept("2025-04-04", "customer")
    assert q.state("2025-12-31") == "accepted"
    a = q.audit_frame()
    assert a["action"].tolist() == ["created", "approved", "revised", "submitted", "approve refused", "approved",
                                    "accept refused", "accepted"]
    assert a["version"].tolist() == [1, 1, 2, 2, 2, 2, 2, 2]
    q2 = Quote("Q2", "c1", POLICY)
    q2.revise(lines(crm=(1, 10_000, 6_000)), "2025-03-01", "ann")
    with pytest.raises(ValueError, match="discount 40.0% on 6000 is beyond every approval level"):
        q2.submit("2025-03-01", "ann")
    strict = Quote("Q3", "c1", POLICY)
    strict.revise(lines(crm=(1, 10_000, 8_000), bi=(10, 10_000, 10_000)), "2025-03-01", "ann")
    assert strict.current.discount("max_line") == pytest.approx(0.2) and strict.current.discount("quote") == pytest.approx(0.2 / 11)
    loose = Quote("Q4", "c1", ApprovalPolicy(levels=POLICY.levels, basis="quote"))
    loose.revise(strict.current.lines, "2025-03-01", "ann")
    assert strict.submit("2025-03-01", "ann") == "pending" and loose.submit("2025-03-01", "ann") == "approved"


@pytest.mark.parametrize("spend, whole, marginal", [
    (99_999, 0, 0), (100_000, 2_000, 0), (499_999, 10_000, 8_000), (500_000, 20_000, 8_000), (600_000, 24_000, 12_000),
])
def test_rebate_tiers_at_boundaries(spend, whole, marginal):
    tiers = (RebateTier(min_amount=100_000, rate=0.02), RebateTier(min_amount=500_000, rate=0.04))
    assert tier_amount(spend, tiers, "whole") == whole
    assert tier_amount(spend, tiers, "marginal") == marginal


def test_rebates_accrue_and_redeem_within_usage():
    L = pd.DataFrame({"order_id": ["o1", "o2", "o3", "o4"], "customer_id": ["c1", "c1", "c1", "c2"],
                      "date": pd.to_datetime(["2025-01-10", "2025-02-10", "2025-04-02", "2025-01-05"]),
                      "product_id": ["crm", "crm", "crm", "pen"], "category": ["sw", "sw", "sw", "office"],
                      "amount": [300_000, 300_000, 50_000, 700_000]})
    vol = RebateRule(rebate_id="vol", period="Q", category=("sw",),
                     tiers=(RebateTier(min_amount=100_000, rate=0.02), RebateTier(min_amount=500_000, rate=0.04)))
    goods = RebateRule(rebate_id="pens", basis="order", product_id=("pen",), form="goods", goods_product="pen",
                       goods_unit_value=700, tiers=(RebateTier(min_amount=0, rate=0.01),))
    r = compute_rebates(L, [vol, goods])
    assert r[["customer_id", "rebate_id", "key", "amount", "goods_qty"]].values.tolist() == [
        ["c1", "vol", "2025Q1", 24_000, 0], ["c2", "pens", "o4", 7_000, 10]]   # Q2's 50,000 is below every tier
    led = Ledger()
    ent = accrue(r, led, "2025-04-01")
    assert led.balance("c1", "rebate") == 24_000 and ent["goods_qty"].tolist() == [10]
    used = redeem(led, "c1", [100_000, 20_000], RebateUsage(max_order_share=0.1, max_line_share=0.05), "2025-04-03", "o5")
    assert used == 6_000 and led.balance("c1", "rebate") == 18_000            # 5% of each line binds
    with pytest.raises(ValueError, match="strictly increasing"):
        RebateRule(rebate_id="x", tiers=(RebateTier(min_amount=5, rate=0.1), RebateTier(min_amount=5, rate=0.2)))
    with pytest.raises(KeyError, match="conditions on 'customer_grade'"):
        compute_rebates(L, [RebateRule(rebate_id="g", customer_grade=("A",), tiers=(RebateTier(min_amount=0, rate=0.1),))])
