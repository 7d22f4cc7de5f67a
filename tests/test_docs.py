"""The documentation site builds with no warnings (Sphinx -W), and its scenario reference lists
every key of every registered model, generated from the models themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_scenario_reference_has_every_key_of_every_model():
    from crmsim.experiments.reference import field_rows, scenario_reference
    from crmsim.experiments.scenario import MODELS, scenario_class

    text = scenario_reference()
    for model in MODELS:
        base = scenario_class(model).model_fields["baseline"].annotation
        for cls, path, rows in field_rows(base, "baseline."):
            assert f"### `[{path}]` ({cls.__name__})" in text
            for r in rows:
                assert f"| `{r['key']}` |" in text
    assert "| `limit_days` | int | >= 0 | required | the rule fires when the days counted are strictly greater" in text
    assert "## `model = \"pool\"`" in text and "[baseline.policy.rules[]]" in text


def test_the_docs_build_without_warnings(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "docs",
                        str(tmp_path / "html")], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    html = tmp_path / "html"
    for page in ("index.html", "scenarios.html", "getting-started/sales-ops.html", "getting-started/finance.html",
                 "api.html", "notebooks/03_public_pool.html", "_generated/api/crmsim.shell.html"):
        assert (html / page).is_file(), page
    nb = (html / "notebooks" / "04_receivables_credit.html").read_text(encoding="utf-8")
    assert "plotly-graph-div" in nb                 # the figures are in the page, as built
