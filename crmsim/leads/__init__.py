"""Leads (FEATURES L2C-1..3): scoring, assignment, lifecycle rules and funnel metrics."""

import lazy_loader as lazy

# the names are those of __init__.pyi (which type checkers and IDEs read); each loads its module on
# first use, so that importing the package does not import every rule in it
__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
