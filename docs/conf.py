"""Sphinx configuration of crmsim's documentation site: ``make docs`` (warnings are errors).

The scenario format reference is generated from the pydantic models at build time
(:mod:`crmsim.experiments.reference`); the API reference from the docstrings (numpydoc); the
notebooks are rendered with the outputs they were built with (``tools/build_notebooks.py``), not
executed again.
"""

from pathlib import Path

from crmsim.experiments.reference import scenario_reference

HERE = Path(__file__).resolve().parent
(HERE / "_generated").mkdir(exist_ok=True)
(HERE / "_generated" / "scenario_reference.md").write_text(scenario_reference(), encoding="utf-8")

project = "crmsim"
author = "crmsim developers"
copyright = "2026, crmsim developers"
extensions = [
    "myst_nb",                       # Markdown pages and the notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.intersphinx",
]
exclude_patterns = ["_build", "notebooks/.ipynb_checkpoints", "**/.ipynb_checkpoints"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "off"            # rendered as built and checked by nbval, not run again here
nb_render_markdown_format = "myst"
html_theme = "pydata_sphinx_theme"
html_title = "crmsim"
html_theme_options = {"navigation_depth": 2, "show_toc_level": 2}
autosummary_generate = True
autosummary_imported_members = False
# each function documented once, where it is defined (a package's __all__ re-exports it)
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False,
                           "ignore-module-all": True}
autodoc_typehints = "none"           # the signatures carry the types; numpydoc the prose
autodoc_member_order = "bysource"
autodoc_mock_imports = []
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()   # the docstrings are checked as doctests by pytest, not for style here
intersphinx_mapping = {}
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]
