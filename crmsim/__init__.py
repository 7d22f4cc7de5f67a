"""crmsim: run the rules of a sales-management system on your own tables, and simulate a rule
change before you make it.

Subpackages: :mod:`crmsim.leads` (domain rules), :mod:`crmsim.sim` (SimPy worlds),
:mod:`crmsim.experiments` (scenario files, runs, statistics), :mod:`crmsim.report` (figures).
Nothing happens at import: no I/O, no global options, no warnings filters, and no heavy import
(``crmsim.validate`` and ``crmsim.TableError`` load the table schemas when first used, so that
``crmsim --help`` starts at once).
"""

__version__ = "0.1.0"
__all__ = ["TableError", "validate", "__version__"]


def __getattr__(name: str):
    if name in ("TableError", "validate"):
        from crmsim import tables

        return getattr(tables, name)
    raise AttributeError(f"module 'crmsim' has no attribute {name!r}")
