"""The declared table schemas (pandera), loaded on first use by :mod:`crmsim.tables` (pandera
takes a noticeable part of a second to import, and most table functions never need it)."""

from __future__ import annotations

import pandera.pandas as pa

from crmsim.tables import (
    ACTIVITY_KINDS,
    GRADES,
    LEAD_EVENT_TYPES,
    LEAD_STAGES,
    OPPORTUNITY_STAGES,
    PRODUCT_FORMS,
)

__all__ = ["SCHEMAS"]


def _col(dtype, *, nullable=False, isin=None, ge=None, unique=False, required=True,
         nonempty=False) -> pa.Column:
    checks = []
    if nonempty:
        checks.append(pa.Check.str_length(min_value=1, error="a non-empty name"))
    if isin is not None:
        checks.append(pa.Check.isin(list(isin)))
    if ge is not None:
        checks.append(pa.Check.ge(ge))
    return pa.Column(dtype, checks=checks, nullable=nullable, unique=unique, required=required)


_S = str
_DT = pa.DateTime

#: Declared schemas; the first column of each is its key.
SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "leads": pa.DataFrameSchema(
        {
            "lead_id": _col(_S, unique=True),
            "created_at": _col(_DT),
            "channel": _col(_S, nonempty=True),  # any name of the user's own
            "name": _col(_S, nullable=True),
            "company": _col(_S, nullable=True),
            "email": _col(_S, nullable=True),
            "phone": _col(_S, nullable=True),
            "city": _col(_S, nullable=True),
            "stage": _col(_S, isin=LEAD_STAGES),
            "cost": _col(float, ge=0),
        },
        name="leads",
    ),
    "lead_events": pa.DataFrameSchema(
        {
            "event_id": _col(_S, unique=True),
            "lead_id": _col(_S),
            "t": _col(_DT),
            "event": _col(_S, isin=LEAD_EVENT_TYPES),
            "campaign": _col(_S, nullable=True),
        },
        name="lead_events",
    ),
    "reps": pa.DataFrameSchema(
        {
            "rep_id": _col(_S, unique=True),
            "team": _col(_S),
            "region": _col(_S),
            "hours_per_day": _col(float, ge=0),
            "max_open_leads": _col(int, ge=0),
        },
        name="reps",
    ),
    "customers": pa.DataFrameSchema(
        {
            "customer_id": _col(_S, unique=True),
            "name": _col(_S),
            "industry": _col(_S, nullable=True),
            "region": _col(_S),
            "grade": _col(_S, isin=GRADES),
            "owner_id": _col(_S, nullable=True),
            "created_at": _col(_DT),
            "last_followup_at": _col(_DT, nullable=True),
            "annual_revenue": _col(float, ge=0),
            # Public-pool columns (crmsim.customers.pool); optional, checked when present.
            "received_at": _col(_DT, nullable=True, required=False),
            "last_opportunity_at": _col(_DT, nullable=True, required=False),
            "last_deal_at": _col(_DT, nullable=True, required=False),
            "contract_end_at": _col(_DT, nullable=True, required=False),
            "locked": _col(bool, required=False),
            "deal_closed": _col(bool, required=False),
            "open_opportunities": _col(int, ge=0, required=False),
            "followup_plan_active": _col(bool, required=False),
            "pool_id": _col(_S, nullable=True, required=False),
            "entered_pool_at": _col(_DT, nullable=True, required=False),
            "previous_owner_id": _col(_S, nullable=True, required=False),
            "left_owner_at": _col(_DT, nullable=True, required=False),
        },
        name="customers",
    ),
    "activities": pa.DataFrameSchema(
        {
            "activity_id": _col(_S, unique=True),
            "customer_id": _col(_S),
            "owner_id": _col(_S, nullable=True),
            "t": _col(_DT),
            "kind": _col(_S, isin=ACTIVITY_KINDS),
        },
        name="activities",
    ),
    "orders": pa.DataFrameSchema(
        {
            "order_id": _col(_S, unique=True),
            "customer_id": _col(_S),
            "ordered_at": _col(_DT),
            "amount": _col(float, ge=0),
        },
        name="orders",
    ),
    "tickets": pa.DataFrameSchema(
        {
            "ticket_id": _col(_S, unique=True),
            "customer_id": _col(_S),
            "opened_at": _col(_DT),
            "closed_at": _col(_DT, nullable=True),
        },
        name="tickets",
    ),
    "opportunities": pa.DataFrameSchema(
        {
            "opportunity_id": _col(_S, unique=True),
            "customer_id": _col(_S),
            "owner_id": _col(_S),
            "created_at": _col(_DT),
            "expected_close": _col(_DT, nullable=True),
            "stage": _col(_S, isin=OPPORTUNITY_STAGES),
            "amount": _col(float, ge=0),
            "probability": pa.Column(float, checks=[pa.Check.in_range(0, 1)]),
        },
        name="opportunities",
    ),
    "products": pa.DataFrameSchema(
        {
            "product_id": _col(_S, unique=True),
            "category": _col(_S),
            "form": _col(_S, isin=PRODUCT_FORMS),
            "base_unit": _col(_S),
            "base_price": _col(int, ge=0),      # minor units per base unit
        },
        name="products",
    ),
}
