"""Every package and module has a curated __all__ whose names exist; nothing happens at import."""

import importlib
import pkgutil
import subprocess
import sys

import crmsim

MODULES = sorted(m.name for m in pkgutil.walk_packages(crmsim.__path__, "crmsim."))


def test_every_module_has_a_valid_all():
    assert len(MODULES) > 10
    for name in MODULES:
        mod = importlib.import_module(name)
        assert hasattr(mod, "__all__"), f"{name} has no __all__"
        names = list(mod.__all__)
        assert len(names) == len(set(names)), f"{name}.__all__ has duplicates"
        for n in names:
            assert hasattr(mod, n), f"{name}.__all__ names '{n}', which does not exist"


def test_packages_reexport_their_public_api():
    for pkg in ("crmsim", "crmsim.sim", "crmsim.leads", "crmsim.experiments", "crmsim.report"):
        mod = importlib.import_module(pkg)
        assert mod.__all__, pkg


def test_import_has_no_side_effects():
    deps = "import numpy, pandas, scipy.stats, pydantic, simpy, pandera.pandas, plotly, networkx; "
    code = (deps + "import warnings, pandas as pd; before = (pd.get_option('display.max_rows'), "
            "len(warnings.filters)); import crmsim, crmsim.sim.funnel, crmsim.experiments; "
            "assert before == (pd.get_option('display.max_rows'), len(warnings.filters))")
    subprocess.run([sys.executable, "-c", code], check=True)
