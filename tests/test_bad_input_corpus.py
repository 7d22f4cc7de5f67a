"""A generated bad-input corpus: every case must end in a named error (the message names the file
and the field, key or column), never a traceback, never silently accepted.

* scenario values: numeric leaves of every bundled scenario set to a string, to ``inf``, to ``nan``
  (``crmsim validate``);
* scenario structure: the same dozen mistakes in every bundled scenario (missing ``[run]``, unknown
  keys, a bad model, a bad grid, a bad ``[decision]``, a file that is not UTF-8 or not TOML, ...);
* tables: every required column of every table schema missing, and its values unreadable
  (``crmsim.tables.validate``);
* CLI commands with bad files and arguments.

The counts per entry point are printed (``pytest -s``) for the closing note of the hardening issue.
"""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import tomli_w

from crmsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def numeric_leaves(d: dict, prefix: tuple = ()) -> list[tuple[str, ...]]:
    """Dotted paths of the int/float leaves of nested dicts (not inside lists)."""
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += numeric_leaves(v, (*prefix, k))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append((*prefix, k))
    return out


def set_path(d: dict, path: tuple, value) -> dict:
    d = copy.deepcopy(d)
    node = d
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return d


def _value_cases():
    cases = []
    for f in SCENARIOS:
        raw = tomllib.loads(f.read_text())
        leaves = [p for p in numeric_leaves(raw) if p[0] in ("run", "baseline")]
        step = max(1, len(leaves) // 10)                      # about ten leaves per scenario
        for path in leaves[::step][:10]:
            for bad in ("abc", math.inf, math.nan):
                cases.append(pytest.param(f, path, bad, id=f"{f.stem}:{'.'.join(path)}={bad}"))
    return cases


def _write(tmp_path: Path, raw: dict, like: Path) -> Path:
    """Write a mutated scenario next to copies of the files it refers to (empirical csv)."""
    out = tmp_path / like.name
    out.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return out


def check_named(capsys, rc: int, *names: str) -> str:
    err = capsys.readouterr()
    text = err.err + err.out
    assert rc != 0, f"accepted silently: {text[-400:]}"
    assert "Traceback" not in text, text[-2000:]
    for n in names:
        assert n in text, f"the message does not name {n!r}: {text[-600:]}"
    return text


@pytest.mark.parametrize("scenario, path, bad", _value_cases())
def test_bad_scenario_values_are_named(tmp_path, capsys, scenario, path, bad):
    raw = set_path(tomllib.loads(scenario.read_text()), path, bad)
    f = _write(tmp_path, raw, scenario)
    rc = main(["validate", str(f)])
    check_named(capsys, rc, f.name, path[-1])


def _structure_mutations(raw: dict) -> list[tuple[str, dict | bytes | str, str]]:
    """(what, mutated scenario or raw text, a word the error must contain)."""
    no_run = {k: v for k, v in raw.items() if k != "run"}
    zero = set_path(raw, ("run", "replications"), 0)
    warm = set_path(raw, ("run", "warmup_days"), raw["run"]["horizon_days"])
    huge = set_path(raw, ("run", "replications"), 10**9)
    extra = {**raw, "colour": "blue"}
    model = {**raw, "model": "nope"}
    version = {**raw, "schema_version": 2}
    name = {**raw, "name": "has spaces"}
    grid_path = {**raw, "sweep": [{"grid": {"nope.deeper": [1, 2]}}]}
    grid_empty = {**raw, "sweep": [{"grid": {next(iter(raw["sweep"][0]["grid"])): []}}]} if raw.get("sweep") else None
    dec_metric = {**raw, "decision": {"objective": [{"metric": "no_such_metric", "weight": 1}]}}
    dec_op = {**raw, "decision": {"objective": [{"metric": "no_such_metric", "weight": 1}],
                                  "constraints": [{"metric": "x", "op": "about", "value": 1}]}}
    dec_weight = {**raw, "decision": {"objective": [{"parameter": "run", "weight": 0}]}}
    text = tomli_w.dumps(raw)
    out = [("no [run]", no_run, "run"), ("zero replications", zero, "replications"),
           ("warm-up >= horizon", warm, "warmup_days"), ("a billion replications", huge, "--allow-large"),
           ("unknown key", extra, "colour"), ("unknown model", model, "model"),
           ("schema version", version, "schema_version"), ("bad name", name, "name"),
           ("unknown grid path", grid_path, "nope"), ("decision metric", dec_metric, "no_such_metric"),
           ("decision op", dec_op, "op"), ("decision weight 0", dec_weight, "weight"),
           ("not UTF-8", text.encode("utf-8") + "\nx = 'caf\xe9'\n".encode("latin-1"), "UTF-8"),
           ("not TOML", text[: len(text) // 2] + "\n[[[", "TOML"),
           ("empty file", "", "schema_version")]
    if grid_empty is not None:
        out.append(("empty grid list", grid_empty, "empty list"))
    return out


def _structure_cases():
    cases = []
    for f in SCENARIOS:
        raw = tomllib.loads(f.read_text())
        for what, _mutated, word in _structure_mutations(raw):
            cases.append(pytest.param(f, what, word, id=f"{f.stem}:{what}"))
    return cases


@pytest.mark.parametrize("scenario, what, word", _structure_cases())
def test_bad_scenario_structure_is_named(tmp_path, capsys, scenario, what, word):
    raw = tomllib.loads(scenario.read_text())
    mutated = next(m for w, m, _ in _structure_mutations(raw) if w == what)
    f = tmp_path / scenario.name
    if isinstance(mutated, bytes):
        f.write_bytes(mutated)
    elif isinstance(mutated, str):
        f.write_text(mutated, encoding="utf-8")
    else:
        f.write_text(tomli_w.dumps(mutated), encoding="utf-8")
    rc = main(["validate", str(f)])
    check_named(capsys, rc, f.name, word)


# ---------------------------------------------------------------------------- tables

def _table_cases():
    from crmsim.tables import SCHEMAS

    cases = []
    for name, schema in SCHEMAS.items():
        for col, c in schema.columns.items():
            if c.required:
                cases.append(pytest.param(name, col, "missing", id=f"{name}.{col}:missing"))
            if "datetime" in str(c.dtype).lower():
                cases.append(pytest.param(name, col, "2025-13-45", id=f"{name}.{col}:bad date"))
            elif any(t in str(c.dtype).lower() for t in ("int", "float")):
                cases.append(pytest.param(name, col, "abc", id=f"{name}.{col}:not a number"))
    return cases


def _valid_row(schema) -> dict:
    """One row that passes ``schema`` (the first allowed value of an ``isin`` check, else a
    plain value of the column's type)."""
    row = {}
    for col, c in schema.columns.items():
        allowed = next((ch.statistics.get("allowed_values") for ch in c.checks
                        if "allowed_values" in (ch.statistics or {})), None)
        dt = str(c.dtype).lower()
        if allowed:
            row[col] = sorted(allowed)[0]
        elif "datetime" in dt:
            row[col] = pd.Timestamp("2025-03-03")
        elif "bool" in dt:
            row[col] = False
        elif "int" in dt:
            row[col] = 1
        elif "float" in dt:
            row[col] = 1.0
        else:
            row[col] = "x1"
    return row


@pytest.mark.parametrize("name, col, bad", _table_cases())
def test_bad_tables_are_named(capsys, name, col, bad):
    from crmsim.tables import SCHEMAS, TableError, validate

    schema = SCHEMAS[name]
    df = pd.DataFrame([_valid_row(schema), _valid_row(schema)])
    for c, sc in schema.columns.items():   # two rows: unique ids stay unique
        if sc.unique:
            first = df[c].iloc[0]
            df[c] = [first, f"{first}b"] if isinstance(first, str) else [1, 2]
    validate(name, df.copy(), source="ok.csv")   # the base passes: the mutation is what fails
    if bad == "missing":
        df = df.drop(columns=[col])
    else:
        df[col] = df[col].astype(object)
        df.loc[1, col] = bad
    with pytest.raises(TableError) as e:
        validate(name, df, source=f"{name}.csv")
    msg = str(e.value)
    assert f"{name}.csv" in msg and col in msg, msg


# ---------------------------------------------------------------------------- CLI commands

LINES = "order_id,customer_id,product_id,qty\no1,ACME,ws,1\n"


def _write_cli_files(tmp: Path) -> None:
    """The bad files the CLI cases read."""
    (tmp / "inf.csv").write_text("order_id,customer_id,product_id,qty\no1,ACME,ws,inf\n")
    (tmp / "word.csv").write_text("order_id,customer_id,product_id,qty\no1,ACME,ws,many\n")
    (tmp / "noprod.csv").write_text("order_id,customer_id,qty\no1,ACME,1\n")
    (tmp / "empty.csv").write_text("")
    (tmp / "ragged.csv").write_text("order_id,customer_id,product_id,qty\no1,ACME,ws,1,extra\n")
    (tmp / "bin.csv").write_bytes(bytes(range(256)) * 4)
    (tmp / "a_dir").mkdir(exist_ok=True)
    (tmp / "lines.csv").write_text(LINES)
    (tmp / "bad_setup.toml").write_text("[[product]]\nproduct_id = 'ws'\nbase_price = -5\n")
    notrun = tmp / "not_a_run"
    notrun.mkdir(exist_ok=True)


def _cli_cases(tmp: Path):
    """(what, argv, a word the error must contain), over the files in ``tmp``."""
    setup = str(ROOT / "data/examples/cpq_setup.toml")
    mapping = str(ROOT / "data/examples/mql_export_map.toml")
    notrun = tmp / "not_a_run"
    return [
        ("price: qty inf", ["price", str(tmp / "inf.csv"), "--setup", setup, "--out", str(tmp / "o.csv")], "qty"),
        ("price: qty not a number", ["price", str(tmp / "word.csv"), "--setup", setup, "--out", str(tmp / "o.csv")],
         "qty"),
        ("price: no product_id", ["price", str(tmp / "noprod.csv"), "--setup", setup, "--out", str(tmp / "o.csv")],
         "product_id"),
        ("price: empty file", ["price", str(tmp / "empty.csv"), "--setup", setup, "--out", str(tmp / "o.csv")],
         "empty.csv"),
        ("price: ragged row", ["price", str(tmp / "ragged.csv"), "--setup", setup, "--out", str(tmp / "o.csv")],
         "ragged.csv"),
        ("price: binary file", ["price", str(tmp / "bin.csv"), "--setup", setup, "--out", str(tmp / "o.csv")],
         "bin.csv"),
        ("price: lines are a folder", ["price", str(tmp / "a_dir"), "--setup", setup, "--out", str(tmp / "o.csv")],
         "a_dir"),
        ("price: no such setup", ["price", str(tmp / "lines.csv"), "--setup", str(tmp / "nope.toml"), "--out",
                                  str(tmp / "o.csv")], "nope.toml"),
        ("price: bad setup", ["price", str(tmp / "lines.csv"), "--setup", str(tmp / "bad_setup.toml"), "--out",
                              str(tmp / "o.csv")], "base_price"),
        ("run: no such file", ["run", str(tmp / "nope.toml")], "nope.toml"),
        ("run: a folder", ["run", str(tmp / "a_dir")], "a_dir"),
        ("run: negative jobs", ["run", str(ROOT / "scenarios/funnel_small.toml"), "--jobs", "-1"], "--jobs"),
        ("run: bad --set", ["run", str(ROOT / "scenarios/funnel_small.toml"), "--set", "baseline.nope=3"], "nope"),
        ("run: bad --target-ci", ["run", str(ROOT / "scenarios/funnel_small.toml"), "--target-ci", "won",
                                  "--out", str(tmp / "r1")], "--target-ci"),
        ("report: not a run folder", ["report", str(notrun)], "not_a_run"),
        ("results: nothing stored", ["results", "query", "select 1", "--root", str(tmp)], "no stored replications"),
        ("calibrate: no such history", ["calibrate", str(tmp / "nope.csv"), "--out", str(tmp / "c1"), "--map", mapping], "nope.csv"),
        ("calibrate: empty history", ["calibrate", str(tmp / "empty.csv"), "--out", str(tmp / "c2"), "--map", mapping], "empty.csv"),
        ("validate: no such file", ["validate", str(tmp / "nope.toml")], "nope.toml"),
    ]


CLI_CASES = [what for what, _, _ in _cli_cases(Path("."))]


@pytest.mark.parametrize("what", CLI_CASES)
def test_bad_cli_input_is_named(tmp_path, capsys, what):
    _write_cli_files(tmp_path)
    argv, word = next((a, w) for c, a, w in _cli_cases(tmp_path) if c == what)
    try:
        rc = main(argv)
    except SystemExit as e:          # argparse usage errors exit 2 with a usage line
        rc = e.code
    check_named(capsys, rc, word)


def test_zz_corpus_size(capsys):
    """Printed for the closing note; at least 200 cases across the entry points."""
    n_values = len(_value_cases())
    n_structure = len(_structure_cases())
    n_tables = len(_table_cases())
    total = n_values + n_structure + n_tables + len(CLI_CASES)
    with capsys.disabled():
        print(f"\nbad-input corpus: {n_values} scenario values, {n_structure} scenario structure, "
              f"{n_tables} tables, {len(CLI_CASES)} CLI = {total} cases")
    assert total >= 200
