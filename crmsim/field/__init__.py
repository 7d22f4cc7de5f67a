"""Sales force effectiveness (FEATURES SFE): visit cadence and plans, the visit SOP, day routes,
check-in checks and follow-up to-dos."""

import lazy_loader as lazy

# the names are those of __init__.pyi (which type checkers and IDEs read); each loads its module on
# first use, so that importing the package does not import every rule in it
__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
