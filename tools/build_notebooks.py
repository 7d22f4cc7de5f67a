"""Execute the notebooks in place, as CI will check them (CRMSIM_FAST=1); figures are saved as
plotly JSON (what nbval and JupyterLab read) and as HTML (what an nbconvert export shows).

    python tools/build_notebooks.py [notebooks/01_lead_funnel.ipynb ...]

Outputs and execution counts are saved: nbval compares the cells marked ``# NBVAL_CHECK_OUTPUT``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def build(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    os.environ["CRMSIM_FAST"] = "1"
    os.environ["PLOTLY_RENDERER"] = "plotly_mimetype+notebook_connected"   # JSON for nbval, HTML for nbconvert
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)
    print(f"executed {path}")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    paths = [Path(p) for p in sys.argv[1:]] or sorted((root / "notebooks").glob("*.ipynb"))
    for p in paths:
        build(p)
