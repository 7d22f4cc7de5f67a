"""Pipeline (FEATURES L2C-5): opportunities, the sales process, history loading, analytics and
forecasting."""

from .analytics import (
    ageing,
    cohort_curves,
    cohort_figure,
    funnel_figure,
    pipeline_velocity,
    sankey_figure,
    stage_conversion,
    time_to_close,
    win_rates,
)
from .flat import (
    CutoffWarning,
    FlatModel,
    backtest_flat,
    check_products,
    fill_amounts,
    stage_history_from_flat,
)
from .forecast import (
    Forecast,
    MarkovModel,
    backtest,
    monte_carlo,
    open_at,
    weighted_pipeline,
)
from .history import HistoryMapping, canonical_text, load_history, parse_amount
from .opportunities import (
    AutoCloseRule,
    SalesProcess,
    Stage,
    StageError,
    check_history,
    stage_at,
)

__all__ = [
    "CutoffWarning",
    "FlatModel",
    "backtest_flat",
    "check_products",
    "fill_amounts",
    "stage_history_from_flat",
    "Forecast",
    "HistoryMapping",
    "MarkovModel",
    "ageing",
    "backtest",
    "cohort_curves",
    "cohort_figure",
    "funnel_figure",
    "monte_carlo",
    "open_at",
    "pipeline_velocity",
    "sankey_figure",
    "stage_conversion",
    "time_to_close",
    "weighted_pipeline",
    "win_rates",
    "SalesProcess",
    "AutoCloseRule",
    "Stage",
    "StageError",
    "canonical_text",
    "check_history",
    "load_history",
    "parse_amount",
    "stage_at",
]
