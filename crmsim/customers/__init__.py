"""Customers (FEATURES L2C-4): public-pool rules, profile, grading and activity models."""

import lazy_loader as lazy

# the names are those of __init__.pyi (which type checkers and IDEs read); each loads its module on
# first use, so that importing the package does not import every rule in it
__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
