"""Lead channels as the funnel models them: a channel's volume, weekday pattern, trend, quality,
cost and lead intent (:class:`ChannelProfile`), Poisson arrivals with that pattern
(:func:`arrival_times`) and the attributes a scoring rule sees (:func:`lead_attributes`).

Channel names are the user's own. ``DEFAULT_CHANNELS`` (named ``SYNTH_CHANNELS``) are the
illustrative defaults of crmsim's synthetic worlds and demo scenarios (assumptions for a mid-sized
B2B seller, not published figures); a calibrated scenario replaces them with the user's channels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from crmsim.config import Config
from crmsim.rng import rng_from

__all__ = ["ChannelProfile", "DEFAULT_CHANNELS", "SYNTH_CHANNELS", "COMPANY_SIZES", "JOB_LEVELS",
           "arrival_times", "attribute_draws", "lead_attributes"]

COMPANY_SIZES: tuple[str, ...] = ("1-9", "10-49", "50-249", "250+")
JOB_LEVELS: tuple[str, ...] = ("staff", "manager", "director", "executive")
_SIZE_P = np.array([0.35, 0.30, 0.20, 0.15])
_LEVEL_P = np.array([0.40, 0.30, 0.20, 0.10])
#: How job level scales a lead's intent (decision power): an assumption.
_LEVEL_INTENT = np.array([0.7, 1.0, 1.2, 1.35])


class ChannelProfile(Config):
    """Volume, weekday pattern, quality and cost of one lead channel.

    Parameters
    ----------
    volume_per_week : mean leads per week (Poisson).
    weekday_weights : 7 relative weights, Monday first (a weekday pattern).
    intent_alpha, intent_beta : Beta distribution of a lead's latent intent in [0, 1]: the chance it
        qualifies when contacted at once.
    engagement_mean : mean count of behaviour events (visits, downloads...) before intake.
    cost_per_lead : marketing cost per lead, in currency units.
    invalid_share : share failing the intake quality gate (quarantined).
    duplicate_share : share that duplicate an earlier lead (merged).
    growth_per_year : log-linear trend of the volume: the rate on day t is
        ``volume_per_week * exp(growth_per_year * t / 365.25)`` (0: no trend), so
        ``volume_per_week`` is the level at the start of the run.

    Examples
    --------
    >>> p = ChannelProfile(volume_per_week=70, weekday_weights=(1, 1, 1, 1, 1, 0, 0), cost_per_lead=45)
    >>> len(arrival_times(p, 28, seed=1)), p.intent_alpha / (p.intent_alpha + p.intent_beta)
    (279, 0.2857142857142857)
    """

    volume_per_week: float = Field(ge=0)
    weekday_weights: tuple[float, float, float, float, float, float, float] = (1, 1, 1, 1, 1, 0.4, 0.3)
    intent_alpha: float = Field(default=2.0, gt=0)
    intent_beta: float = Field(default=5.0, gt=0)
    engagement_mean: float = Field(default=3.0, ge=0)
    cost_per_lead: float = Field(default=30.0, ge=0)
    invalid_share: float = Field(default=0.05, ge=0, le=1)
    duplicate_share: float = Field(default=0.08, ge=0, le=1)
    growth_per_year: float = Field(default=0.0, ge=-5, le=5)

    @field_validator("weekday_weights")
    @classmethod
    def _weights(cls, v):
        if any(w < 0 for w in v) or sum(v) <= 0:
            raise ValueError(f"weekday_weights must be >= 0 with a positive sum, got {list(v)}")
        return v

    @property
    def mean_intent(self) -> float:
        return self.intent_alpha / (self.intent_alpha + self.intent_beta)


#: The channel names of crmsim's synthetic worlds (FEATURES L2C-1: ads, search engines, events,
#: email marketing, service accounts such as a WeChat official account, social communities).
#: Defaults for synthetic data only: tables, scenarios and calibration take any channel name.
SYNTH_CHANNELS: tuple[str, ...] = ("ads", "search", "events", "email", "service_account", "social")

#: Illustrative per-channel defaults (assumptions, see module docstring); about 700 leads a week.
DEFAULT_CHANNELS: dict[str, ChannelProfile] = {
    "ads": ChannelProfile(volume_per_week=180, intent_alpha=1.5, intent_beta=6, engagement_mean=2,
                          cost_per_lead=45, invalid_share=0.08, duplicate_share=0.06),
    "search": ChannelProfile(volume_per_week=140, intent_alpha=3, intent_beta=5, engagement_mean=4,
                             cost_per_lead=60, invalid_share=0.04, duplicate_share=0.07),
    "events": ChannelProfile(volume_per_week=60, weekday_weights=(0.6, 1.4, 1.6, 1.4, 0.8, 0.1, 0.1),
                             intent_alpha=4, intent_beta=5, engagement_mean=5,
                             cost_per_lead=150, invalid_share=0.03, duplicate_share=0.15),
    "email": ChannelProfile(volume_per_week=120, weekday_weights=(1.3, 1.2, 1.1, 1, 0.9, 0.3, 0.2),
                            intent_alpha=2, intent_beta=6, engagement_mean=3,
                            cost_per_lead=15, invalid_share=0.05, duplicate_share=0.10),
    "service_account": ChannelProfile(volume_per_week=90, weekday_weights=(1, 1, 1, 1, 1, 0.8, 0.8),
                                      intent_alpha=2, intent_beta=5, engagement_mean=3,
                                      cost_per_lead=10, invalid_share=0.06, duplicate_share=0.08),
    "social": ChannelProfile(volume_per_week=110, weekday_weights=(0.9, 0.9, 0.9, 0.9, 1, 1.2, 1.2),
                             intent_alpha=1.2, intent_beta=7, engagement_mean=2,
                             cost_per_lead=8, invalid_share=0.12, duplicate_share=0.09),
}


assert tuple(DEFAULT_CHANNELS) == SYNTH_CHANNELS


def arrival_times(profile: ChannelProfile, horizon_days: float, seed=None) -> np.ndarray:
    """Sorted arrival times (days from a Monday 00:00) of a Poisson process with a weekday pattern.

    The count on day d is Poisson(volume_per_week * w[d % 7] / sum(w)); arrivals are uniform within
    the day, scaled by the trend ``exp(growth_per_year * t / 365.25)`` at mid-day. With equal
    weights and no trend this is a homogeneous Poisson process.

    Examples
    --------
    >>> t = arrival_times(ChannelProfile(volume_per_week=70, weekday_weights=(1, 1, 1, 1, 1, 0, 0)), 14, seed=1)
    >>> len(t), sorted(set((t // 1 % 7).astype(int).tolist()))       # no lead on a Saturday (5) or Sunday (6)
    (135, [0, 1, 2, 3, 4])
    """
    rng = rng_from(seed)
    n_days = int(np.ceil(horizon_days))
    w = np.asarray(profile.weekday_weights, dtype=float)
    rate = profile.volume_per_week * w / w.sum()
    days = np.arange(n_days)
    lam = rate[days % 7]
    if profile.growth_per_year:
        lam = lam * np.exp(profile.growth_per_year * (days + 0.5) / 365.25)
    counts = rng.poisson(lam)
    day = np.repeat(np.arange(n_days, dtype=float), counts)
    t = np.sort(day + rng.random(day.size))
    return t[t < horizon_days]


def lead_attributes(channel: str, profile: ChannelProfile, n: int, seed=None,
                    categories: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Attributes a scoring rule can see, plus the latent ``intent`` it cannot.

    ``channel`` is any name; ``categories`` (default: just ``channel``) are the categories of the
    ``channel`` column, so that several channels' frames concatenate into one categorical.

    ``engagement`` is Poisson with mean ``engagement_mean * intent / mean_intent`` (so it carries a
    signal about intent); ``job_level`` scales intent by decision power.

    Examples
    --------
    >>> a = lead_attributes("trade fair", ChannelProfile(volume_per_week=10), 3, seed=1, categories=("web", "trade fair"))
    >>> a.columns.tolist(), a["channel"].cat.categories.tolist()
    (['channel', 'company_size', 'job_level', 'engagement', 'intent'], ['web', 'trade fair'])
    """
    cats = list(categories) if categories is not None else [channel]
    if channel not in cats:
        raise ValueError(f"channel {channel!r} is not among the categories {cats}")
    a = attribute_draws(profile, n, seed)
    return pd.DataFrame(
        {
            "channel": pd.Categorical.from_codes(np.full(n, cats.index(channel)), cats),
            "company_size": pd.Categorical.from_codes(a["company_size"], categories=COMPANY_SIZES),
            "job_level": pd.Categorical.from_codes(a["job_level"], categories=JOB_LEVELS),
            "engagement": a["engagement"],
            "intent": a["intent"],
        }
    )


def attribute_draws(profile: ChannelProfile, n: int, seed=None) -> dict[str, np.ndarray]:
    """The draws of :func:`lead_attributes` as arrays (``company_size`` and ``job_level`` as
    codes into :data:`COMPANY_SIZES` and :data:`JOB_LEVELS`), for code that builds its own
    table; the same seed gives the same draws.

    Examples
    --------
    >>> d = attribute_draws(ChannelProfile(volume_per_week=10), 3, seed=1)
    >>> sorted(d), d["company_size"].tolist()
    (['company_size', 'engagement', 'intent', 'job_level'], [1, 3, 0])
    """
    rng = rng_from(seed)
    size = rng.choice(len(COMPANY_SIZES), size=n, p=_SIZE_P)
    level = rng.choice(len(JOB_LEVELS), size=n, p=_LEVEL_P)
    base = rng.beta(profile.intent_alpha, profile.intent_beta, size=n)
    engagement = rng.poisson(profile.engagement_mean * base / profile.mean_intent)
    intent = np.clip(base * _LEVEL_INTENT[level], 0.0, 1.0)
    return {"company_size": size.astype(np.int8), "job_level": level.astype(np.int8),
            "engagement": engagement.astype(np.int64), "intent": intent}
