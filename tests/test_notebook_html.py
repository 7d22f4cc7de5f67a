"""Notebooks exported to HTML with nbconvert show their figures (each figure is saved as plotly
JSON for JupyterLab and nbval, and as HTML for an export), rendered in a headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def figures(nb) -> int:
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if "application/vnd.plotly.v1+json" in o.get("data", {}))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_saved_figure_has_an_html_form_for_exports(path):
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    n = figures(nb)
    assert n >= 1, f"{path.name} has no figure"
    bare = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.get("outputs", [])
            if "application/vnd.plotly.v1+json" in o.get("data", {}) and "text/html" not in o["data"]]
    assert not bare, f"{path.name}: cells {bare} have a figure without an HTML form (rebuild with tools/build_notebooks.py)"
    body, _ = HTMLExporter().from_notebook_node(nb)
    assert body.count("Plotly.newPlot(") == n


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize("name", ["03_public_pool", "04_receivables_credit"])
def test_an_exported_notebook_renders_its_figures_in_a_browser(name, tmp_path):
    """The export loads plotly.js from its CDN; the test machine has no internet, so the CDN's
    address is pointed at the same file shipped in the plotly package."""
    import plotly
    from nbconvert import HTMLExporter

    path = next(p for p in NOTEBOOKS if p.stem == name)
    nb = nbformat.read(path, as_version=4)
    body, _ = HTMLExporter().from_notebook_node(nb)
    local = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").as_uri()
    body, k = re.subn(r'src="https://cdn\.plot\.ly/plotly-[0-9.]+\.min\.js"[^>]*>', f'src="{local}">', body)
    assert k >= 1
    body = re.sub(r'<script src="https://cdnjs[^"]*"></script>', "", body)   # MathJax: not needed offline
    page = tmp_path / f"{name}.html"
    page.write_text(body, encoding="utf-8")
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--allow-file-access-from-files",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tempfile.mkdtemp()}", "--virtual-time-budget=20000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=240)
    rendered = len(re.findall(r'class="plot-container plotly"', proc.stdout))
    assert rendered == figures(nb), f"{rendered} of {figures(nb)} figures rendered"
