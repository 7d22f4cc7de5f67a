"""Sales force effectiveness (FEATURES SFE): visit cadence and plans, the visit SOP, day routes,
check-in checks and follow-up to-dos."""

from .checkin import (
    CheckinRules,
    TodoRule,
    account_timeline,
    check_visits,
    todo_status,
    todos_from_visits,
)
from .plans import Cadence, adjust, coverage, plan_visits
from .routes import (
    Route,
    distance_matrix,
    haversine_km,
    plan_route,
    read_tsplib,
    read_tsplib_tour,
    tour_length,
)
from .sop import SOP, STORE_VISIT, Step

__all__ = [
    "SOP",
    "STORE_VISIT",
    "Cadence",
    "CheckinRules",
    "Route",
    "Step",
    "TodoRule",
    "account_timeline",
    "adjust",
    "check_visits",
    "coverage",
    "distance_matrix",
    "haversine_km",
    "plan_route",
    "plan_visits",
    "read_tsplib",
    "read_tsplib_tour",
    "todo_status",
    "todos_from_visits",
    "tour_length",
]
