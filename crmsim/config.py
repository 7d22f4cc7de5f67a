"""Base class for every rule and scenario config object: frozen, validated, no extra keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Config", "check_known", "path_value"]


class Config(BaseModel):
    """A frozen pydantic model that rejects unknown keys, and inf or NaN in any float.

    Every rule (``ScoringRule``, ``RecycleRule`` ...) and every scenario section derives from it,
    so the same object can be built in Python or declared in a TOML scenario file.

    Examples
    --------
    >>> class Rule(Config):
    ...     limit_days: int = 30
    >>> Rule(limit_days=10).limit_days
    10
    >>> try:
    ...     Rule(limit_dayz=10)
    ... except ValueError as e:
    ...     print(str(e).splitlines()[1:3])
    ['limit_dayz', '  Extra inputs are not permitted [type=extra_forbidden, input_value=10, input_type=int]']
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


def check_known(values, allowed, what: str) -> None:
    """Raise ``ValueError("unknown <what> [...]; <what>s are [...]")`` for values outside
    ``allowed`` (used by config validators).

    Examples
    --------
    >>> check_known(["fair", "web"], ["web", "ads"], "channel")
    Traceback (most recent call last):
    ...
    ValueError: unknown channel ['fair']; allowed: ['web', 'ads']
    """
    bad = sorted(set(values) - set(allowed))
    if bad:
        raise ValueError(f"unknown {what} {bad}; allowed: {list(allowed)}")


def path_value(d, path: str):
    """The value at a dotted path into nested dicts and lists (``"policy.rules.0.limit_days"``);
    raises KeyError, IndexError or TypeError when the path is not there.

    Examples
    --------
    >>> path_value({"policy": {"rules": [{"limit_days": 30}]}}, "policy.rules.0.limit_days")
    30
    """
    for part in path.split("."):
        d = d[int(part)] if isinstance(d, list) else d[part]
    return d
