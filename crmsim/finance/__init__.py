"""Contracts to cash (FEATURES L2C-6): write-off, accounts, credit control, ageing and dunning,
expected credit loss, portfolio losses. Money in ledgers is integer minor units (cents)."""

import lazy_loader as lazy

from crmsim.units import in_currency  # noqa: F401 -- re-exported (see __all__)

# the names are those of __init__.pyi (which type checkers and IDEs read); each loads its module on
# first use, so that importing the package does not import every rule in it
__getattr__, _dir, __all__ = lazy.attach_stub(__name__, __file__)
__all__ = sorted([*__all__, "in_currency"])


def __dir__():
    return list(__all__)
