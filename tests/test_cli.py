import subprocess
import sys

import pandas as pd
import pytest

from crmsim.cli import main


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "crmsim.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = tmp_path_factory.mktemp("cli")
    for jobs in ("1", "2"):
        assert main(["run", str(root / "scenarios/funnel_small.toml"), "--out", str(out / jobs),
                     "--jobs", jobs, "--quiet"]) == 0
    return out


def test_run_writes_every_output(outputs):
    names = {p.name for p in (outputs / "1").iterdir()}
    assert names >= {"scenario.resolved.toml", "summary.csv", "comparison.csv", "events.parquet",
                     "report.html"}
    s = pd.read_csv(outputs / "1" / "summary.csv")
    assert {"variant", "replication", "seed", "won", "ttfc_mean_h"} <= set(s.columns)
    assert len(s) == 3 * 3
    c = pd.read_csv(outputs / "1" / "comparison.csv")
    assert {"mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high"} <= set(c.columns)
    ev = pd.read_parquet(outputs / "1" / "events.parquet")
    assert set(ev["variant"]) == set(s["variant"])
    html = (outputs / "1" / "report.html").read_text()
    assert html.count("Plotly.newPlot") >= 4 and "<script" in html


def test_same_seed_same_summary_serial_or_parallel(outputs):
    a = (outputs / "1" / "summary.csv").read_bytes()
    b = (outputs / "2" / "summary.csv").read_bytes()
    assert a == b


def test_validate_and_list(root, tmp_path):
    ok = run_cli("validate", str(root / "scenarios/funnel.toml"))
    assert ok.returncode == 0 and "runs" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("schema_version = 1\n")
    r = run_cli("validate", str(bad))
    assert r.returncode == 1 and "bad.toml" in r.stderr and "run" in r.stderr
    ls = run_cli("list", cwd=root)
    assert "funnel.toml" in ls.stdout and "headcount" in ls.stdout


def test_run_bad_set_is_a_clear_error(root, capsys):
    assert main(["run", str(root / "scenarios/funnel_small.toml"), "--set", "baseline.reps.count=0",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "funnel_small.toml" in err and "baseline.reps.count" in err


def test_run_a_pool_scenario(root, tmp_path):
    text = (root / "scenarios/pool_reclamation.toml").read_text()
    text = text.replace("count = 3000", "count = 300").replace("count = 16", "count = 3") \
        .replace("target_holding = 250", "target_holding = 100").replace("horizon_days = 364", "horizon_days = 60")
    f = tmp_path / "pool_small.toml"
    f.write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(f), "--replications", "2", "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    s = pd.read_csv(out / "summary.csv")
    assert {"reclaims", "lost", "owners_3plus"} <= set(s.columns) and len(s) == 8 * 2
    cust = pd.read_parquet(out / "customers.parquet")
    assert set(cust["variant"]) == set(s["variant"])
    assert "Revenue against customers lost" in (out / "report.html").read_text()


def test_price_order_lines_from_the_command_line(root, tmp_path, capsys):
    lines = tmp_path / "lines.csv"
    lines.write_text("order_id,customer_id,customer_grade,date,product_id,qty,unit\n"
                     "o1,ACME,A,2025-05-02,ws,4,piece\no1,ACME,A,2025-05-02,paper,3,box\n"
                     "o2,Birch,B,2025-05-03,care,2,year\n")
    out = tmp_path / "priced" / "out.csv"
    assert main(["price", str(lines), "--setup", str(root / "data/examples/cpq_setup.toml"), "--out", str(out)]) == 0
    t = pd.read_csv(out)
    paid = t[~t["free"]]
    assert paid["product_id"].tolist() == ["ws", "paper", "care"]
    assert paid["amount"].tolist() == [4 * 79_050, 3 * 2_500 * 2, 24 * 1_000]
    assert paid["explanation"].iloc[0] == "rule list-ws (list): 85000; -7.0% (key-accounts, compounding)"
    assert t.loc[t["free"], ["product_id", "qty", "unit"]].values.tolist() == [["paper", 1, "box"]]
    assert pd.read_csv(out.with_suffix(".promotions.csv"))["promo_id"].tolist() == ["paper-b3g1"]
    printed = capsys.readouterr().out
    assert "3 lines priced" in printed and "amount 3,552" in printed   # 355,200 cents read as 3,552
    cur = tmp_path / "priced" / "cur.csv"
    assert main(["price", str(lines), "--setup", str(root / "data/examples/cpq_setup.toml"), "--out", str(cur),
                 "--amounts", "currency"]) == 0
    c = pd.read_csv(cur)
    assert c.loc[~c["free"], "amount"].tolist() == [a / 100 for a in paid["amount"]]
    assert c["qty"].tolist() == t["qty"].tolist()          # quantities are not money
    assert pd.read_csv(cur.with_suffix(".promotions.csv"))["cost"].tolist() == \
        [x / 100 for x in pd.read_csv(out.with_suffix(".promotions.csv"))["cost"]]
    lines.write_text("order_id,customer_id,region,product_id,qty\no1,ACME,export,ws,1\no1,ACME,export,paper,500\n")
    assert main(["price", str(lines), "--setup", str(root / "data/examples/cpq_setup.toml"), "--out", str(out)]) == 0
    t = pd.read_csv(out)
    t = t[~t["free"]].set_index("product_id")
    assert t.loc["ws", "explanation"] == "not saleable to this customer (denied by no-hardware-export)"
    assert t.loc["paper", "amount"] == 1_000 and "1 not saleable" in capsys.readouterr().out
    lines.write_text("product_id,qty\nws,4\nws,four\n")
    assert main(["price", str(lines), "--setup", str(root / "data/examples/cpq_setup.toml"), "--out", str(out)]) == 2
    assert "lines.csv: column 'qty' expects finite numbers >= 0; rows [1] have ['four']" in capsys.readouterr().err
    lines.write_text("product_id,qty\nws,4\n")
    assert main(["price", str(lines), "--setup", str(root / "data/examples/cpq_setup.toml"), "--out", str(out)]) == 2
    assert "promotions need columns ['order_id', 'customer_id'] (or pass --no-promotions)" in capsys.readouterr().err
    assert main(["price", str(lines), "--setup", str(root / "data/examples/cpq_setup.toml"), "--out", str(out),
                 "--no-promotions"]) == 0
