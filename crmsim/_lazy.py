"""Modules loaded on first use (the importlib recipe, :class:`importlib.util.LazyLoader`): heavy
dependencies such as ``scipy.special`` (about 0.2 s) are paid for by the functions that use them,
not by ``import crmsim.<package>``."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

__all__ = ["lazy_module"]


def lazy_module(name: str) -> ModuleType:
    """``name`` as a module whose code runs at its first attribute access (the already imported
    module if there is one).

    Examples
    --------
    >>> m = lazy_module("json")
    >>> m.dumps([1])
    '[1]'
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
