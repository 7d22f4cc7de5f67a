"""The README's CPQ tour runs as written (from the repository root)."""

import os
import re


def test_readme_cpq_tour_runs(root):
    text = (root / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "load_cpq" in b)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        ns: dict = {}
        exec(compile(block, "README.md", "exec"), ns)
    finally:
        os.chdir(cwd)
    assert ns["quote"].status in ("approved", "pending") and ns["quote"].needed is not None
    assert ns["priced"]["explanation"].notna().all() and len(ns["res"].lines) >= len(ns["lines"])
