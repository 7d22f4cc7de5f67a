"""Random generators from whatever seed a caller gives (DESIGN principle 4: same seed, same result)."""

from __future__ import annotations

import numpy as np

__all__ = ["rng_from"]


def rng_from(seed) -> np.random.Generator:
    """A Generator from an int, SeedSequence, Generator or None.

    >>> rng_from(1).integers(0, 10) == rng_from(1).integers(0, 10)
    np.True_
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
