"""The README's Python snippets run as written (from the repository root)."""

import os
import re


def run_block(root, marker: str) -> dict:
    """Execute the README's first ```python block containing ``marker``; its namespace."""
    text = (root / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if marker in b)
    ns: dict = {}
    cwd = os.getcwd()
    os.chdir(root)
    try:
        exec(compile(block, "README.md", "exec"), ns)
    finally:
        os.chdir(cwd)
    return ns


def test_readme_cpq_tour_runs(root):
    ns = run_block(root, "load_cpq")
    assert ns["quote"].status in ("approved", "pending") and ns["quote"].needed is not None
    assert ns["priced"]["explanation"].notna().all() and len(ns["res"].lines) >= len(ns["lines"])


def test_readme_reclaim_replay_runs(root):
    s = run_block(root, "replay_reclaim(")["r"].summary.set_index("policy")
    assert s.loc["in force", "agreement"] == 1.0           # the history is read right
    assert s.loc["20 days", "reclaims"] > s.loc["in force", "reclaims"]
    assert s.loc["20 days", "deals_within_30"] > 0


def test_readme_quick_tour_ends_in_a_decision(root):
    rec = run_block(root, "res.decide()")["rec"]
    assert rec.status in ("change", "keep", "cannot_tell") and rec.choice is not None
    assert "revenue less rep cost" in rec.text() and not rec.defaulted


def test_readme_pipeline_snippet_runs(root):
    ns = run_block(root, "HistoryMapping(")
    assert len(ns["opps"]) == 400 and set(ns["opps"]["stage"]) >= {"won", "lost"}
    assert len(ns["report"]) > 0            # the cleaning is reported


def test_readme_lead_rules_snippet_runs(root):
    ns = run_block(root, "SourceMapping(source=\"fair\"")
    assert len(ns["accepted"]) + len(ns["quarantine"]) == 3          # every row lands in one
    assert "jörg@birch.de" in set(ns["accepted"]["email"].dropna())  # a non-ASCII address is valid
    assert len(ns["merged"]) <= len(ns["accepted"])


def test_readme_reclaim_rules_snippet_runs(root):
    ns = run_block(root, "due_for_reclaim(customers, policy")
    assert ns["policy"].combine == "any" and len(ns["customers"]) == 2000


def test_readme_table_rules_from_the_shell_run(root, tmp_path, capsys):
    """Every command of the README's shell block of table rules runs as written (in a folder that
    has the repository's data/ and scenarios/), and each writes its tables."""
    import shlex

    from crmsim.cli import main

    text = (root / "README.md").read_text()
    block = next(b for b in re.findall(r"```\n(.*?)```", text, re.S) if "crmsim reclaim data/examples/starter" in b)
    commands = [" ".join(c.split()) for c in block.replace("\\\n", " ").split("\n") if c.strip()]
    for name in ("data", "scenarios"):
        (tmp_path / name).symlink_to(root / name)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for c in commands:
            argv = shlex.split(c, comments=True)
            assert argv[0] == ".venv/bin/crmsim"
            assert main(argv[1:]) == 0, c
            assert "wrote " in capsys.readouterr().out
    finally:
        os.chdir(cwd)
    assert len(commands) == 8
    written = {p.name for p in (tmp_path / "results").iterdir()}
    assert {"due.xlsx", "ageing.xlsx", "writeoff", "scored", "assigned", "dedup.xlsx", "restored"} <= written


def test_readme_activity_holdout_snippet_runs(root, capsys):
    ns = run_block(root, "holdout_report(")
    out = capsys.readouterr().out
    assert len(ns["split"]) == 2357 and "total" in out
    rep = ns["holdout_report"](ns["fit_bgnbd"](ns["split"]), ns["split"])
    assert round(rep.loc["total", "relative_error"], 2) == -0.12   # the README's "12% low"
