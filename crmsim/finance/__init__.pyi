"""Contracts to cash (FEATURES L2C-6): write-off, accounts, credit control, ageing and dunning,
expected credit loss, portfolio losses. Money in ledgers is integer minor units (cents)."""

from .accounts import ACCOUNT_TYPES, Ledger, RebateUsage
from .ageing import (
    DEFAULT_BUCKETS,
    DunningPolicy,
    ageing,
    bucket_labels,
    dso,
    dunning,
    late_payments,
    open_as_of,
)
from .contracts import FrameAgreement, OrderContract, PaymentTerms
from .credit import CreditPolicy, check_order, credit_limits, early_warnings, exposure, risk_grade
from .ecl import loss_rates_from_roll_rates, provision, roll_rate_matrix
from .orders import (
    FORM_EVENTS,
    FRONT_ENDS,
    SCENARIOS,
    check_fulfilment,
    project_budget,
    renewals,
    validate_orders,
)
from .portfolio import (
    LossSample,
    basel_correlation,
    defaults_given_factor,
    expected_loss,
    irb_capital,
    loss_summary,
    portfolio_loss_mc,
    portfolio_losses,
    vasicek_cdf,
    vasicek_quantile,
)
from .receivables import (
    EVENTS,
    FORMS,
    RecognitionRule,
    load_erp_receivables,
    recognise,
)
from .writeoff import PASSES, allocate, to_cents, unallocate

__all__ = [
    "in_currency",  # noqa: F822 -- imported eagerly in __init__.py (stubs take relative imports only)
    "ACCOUNT_TYPES",
    "DEFAULT_BUCKETS",
    "EVENTS",
    "FORM_EVENTS",
    "FRONT_ENDS",
    "SCENARIOS",
    "FORMS",
    "PASSES",
    "CreditPolicy",
    "FrameAgreement",
    "OrderContract",
    "PaymentTerms",
    "RecognitionRule",
    "DunningPolicy",
    "Ledger",
    "RebateUsage",
    "ageing",
    "allocate",
    "basel_correlation",
    "expected_loss",
    "irb_capital",
    "bucket_labels",
    "check_fulfilment",
    "check_order",
    "credit_limits",
    "dso",
    "dunning",
    "late_payments",
    "open_as_of",
    "early_warnings",
    "exposure",
    "load_erp_receivables",
    "loss_rates_from_roll_rates",
    "loss_summary",
    "defaults_given_factor",
    "portfolio_loss_mc",
    "portfolio_losses",
    "LossSample",
    "project_budget",
    "provision",
    "recognise",
    "renewals",
    "risk_grade",
    "roll_rate_matrix",
    "to_cents",
    "unallocate",
    "validate_orders",
    "vasicek_cdf",
    "vasicek_quantile",
]
