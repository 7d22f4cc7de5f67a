"""Bad input and bad luck: named errors, no file of the user's lost, resume after kill -9."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from crmsim.cli import main
from crmsim.experiments import load_scenario, variants

SMALL = """
schema_version = 1
name = "hard"
[run]
replications = {reps}
base_seed = 3
horizon_days = 56
warmup_days = 7
[baseline]
channels.search = {{ volume_per_week = 60 }}
reps = {{ count = 3 }}
outcomes = {{ deal_amount = {{ kind = "empirical", csv = "deals.csv", column = "amount" }} }}
[[sweep]]
grid = {{ "reps.count" = [2, 3] }}
"""


def _scenario(tmp_path, reps=2):
    (tmp_path / "deals.csv").write_text("amount\n1000\n2500.5\n400\n")
    f = tmp_path / "hard.toml"
    f.write_text(SMALL.format(reps=reps))
    return f


def test_empirical_csv_with_a_sweep_loads_and_runs(tmp_path):
    f = _scenario(tmp_path)
    sc = load_scenario(f)
    assert [v.name for v in variants(sc)][0] == "baseline"
    assert len(variants(sc)) == 2          # reps.count=3 is the baseline: run once
    assert main(["run", str(f), "--out", str(tmp_path / "out"), "--quiet"]) == 0


def test_out_folder_with_the_users_files_is_refused_and_kept(tmp_path, capsys):
    f = _scenario(tmp_path)
    mine = tmp_path / "mine"
    (mine / "reps").mkdir(parents=True)
    (mine / "reps" / "notes.txt").write_text("my notes")
    (mine / "tables").mkdir()
    assert main(["run", str(f), "--out", str(mine), "--quiet"]) == 2
    assert "not a crmsim run" in capsys.readouterr().err
    assert (mine / "reps" / "notes.txt").read_text() == "my notes" and (mine / "tables").is_dir()


def test_a_second_run_on_the_same_folder_waits_its_turn(tmp_path, capsys):
    f = _scenario(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".crmsim-lock").write_text(str(os.getpid()))      # a live run holds it
    assert main(["run", str(f), "--out", str(out), "--quiet"]) == 2
    assert "another crmsim run" in capsys.readouterr().err
    (out / ".crmsim-lock").write_text("999999999")           # its run is gone: taken over
    assert main(["run", str(f), "--out", str(out), "--quiet"]) == 0
    assert not (out / ".crmsim-lock").exists()


def test_kill_then_resume_gives_the_same_summary(tmp_path):
    f = _scenario(tmp_path, reps=40)
    ref = tmp_path / "ref"
    assert main(["run", str(f), "--out", str(ref), "--quiet", "--jobs", "1", "--replications", "40"]) == 0
    cmd = [sys.executable, "-m", "crmsim.cli", "run", str(f), "--out", str(tmp_path / "k"), "--quiet", "--jobs", "1",
           "--replications", "40"]
    env = dict(os.environ)
    reps = tmp_path / "k" / "reps"
    rng = np.random.default_rng(5)
    points = np.sort(rng.choice(np.arange(3, 78), 5, replace=False))   # five kill points of 80 runs
    for k in points:
        p = subprocess.Popen(cmd + ["--resume"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.time()
        while len(list(reps.glob("*.parquet"))) < k and p.poll() is None and time.time() - t0 < 60:
            time.sleep(0.005)
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert len(list(reps.glob("*.parquet"))) < 80     # killed mid-run
    stale = tmp_path / "k" / "reps" / ".tmp-x.parquet"      # a half-written file of an older crmsim
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"")
    done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "k" / "summary.csv").read_bytes() == (ref / "summary.csv").read_bytes()


@pytest.mark.parametrize("text, expect", [
    ("x\x00\xff\xfe", "not a UTF-8 text file"),
    (SMALL.format(reps=2).replace("horizon_days = 56", "horizon_days = inf"), "run.horizon_days: Input should be a finite number"),
    (SMALL.format(reps=2).replace('column = "amount"', 'column = "nope"'), "column 'nope' not in"),
])
def test_bad_scenario_files_are_named_errors(tmp_path, capsys, text, expect):
    (tmp_path / "deals.csv").write_text("amount\n1000\n")
    f = tmp_path / "bad.toml"
    f.write_bytes(text.encode("utf-8", "surrogateescape") if "\x00" not in text else b"x\x00\xff\xfe")
    assert main(["validate", str(f)]) == 1
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err
    assert main(["validate", str(tmp_path)]) == 1
    assert "is a folder" in capsys.readouterr().err


def test_more_cli_mistakes_are_named_errors(tmp_path, capsys):
    f = _scenario(tmp_path)
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "--quiet", "--target-ci", "nope=2"]) == 2
    assert "--target-ci: unknown metric 'nope'" in capsys.readouterr().err
    assert main(["results", "query", "selec * from runs", "--root", str(tmp_path)]) == 2
    assert "results query: Parser Error" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert main(["run", str(f), "--out", str(tmp_path / "afile" / "sub"), "--quiet"]) == 2
    assert "cannot create the folder" in capsys.readouterr().err


def test_a_csv_row_with_more_fields_than_its_header_is_named(tmp_path):
    from crmsim.errors import InputError
    from crmsim.tables import read_table

    (tmp_path / "x.csv").write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InputError, match=r"x.csv: Expected 2 fields in line 3, saw 3; every row needs"):
        read_table(tmp_path / "x.csv", source="leads")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(InputError, match="is empty"):
        read_table(tmp_path / "e.csv")


@pytest.mark.parametrize("make, expect", [
    (lambda: __import__("crmsim.cpq.pricing", fromlist=["PriceRule"]).PriceRule(
        rule_id="r1", value=100, valid_from="2025-01-01", valid_to="2025-13-45"), "valid_to '2025-13-45' is not a date"),
    (lambda: __import__("crmsim.cpq.promotions", fromlist=["Promotion"]).Promotion(
        promo_id="p1", kind="item", percent_off=0.1, valid_from="2025-03-01", valid_to="2025-02-01"),
     "valid_to 2025-02-01 is before valid_from 2025-03-01"),
    (lambda: __import__("crmsim.sim.distributions", fromlist=["Constant"]).Constant(value=-2), "greater than or equal to 0"),
    (lambda: __import__("crmsim.sim.distributions", fromlist=["Empirical"]).Empirical(values=[1.0, float("nan")]),
     "finite number"),
    (lambda: __import__("crmsim.sim.distributions", fromlist=["Empirical"]).Empirical(values=[1.0, -5.0]),
     "negative or not finite"),
])
def test_silently_accepted_values_are_refused(make, expect):
    with pytest.raises(ValueError, match=expect):
        make()


def test_oversized_scenarios_are_refused_before_they_are_built(tmp_path, capsys):
    big = tmp_path / "big.toml"
    grid = ", ".join(str(k) for k in range(1, 1001))
    big.write_text(f'schema_version = 1\nname = "g"\n[run]\nhorizon_days = 30\n[baseline]\nreps = {{ count = 2 }}\n'
                   f'[[sweep]]\ngrid = {{ "reps.count" = [{grid}], "recycle.max_wait_days" = [{grid}] }}\n')
    t0 = time.time()
    assert main(["validate", str(big)]) == 1
    assert time.time() - t0 < 5 and "1,000,001 variants exceeds the limit" in capsys.readouterr().err
    many = tmp_path / "many.toml"
    many.write_text(SMALL.format(reps=10**9))
    (tmp_path / "deals.csv").write_text("amount\n1\n")
    assert main(["validate", str(many)]) == 1
    assert "--allow-large" in capsys.readouterr().err


def test_pool_rules_name_bad_dates_and_flags():
    from crmsim import synth
    from crmsim.customers import ReclaimPolicy, ReclaimRule, due_for_reclaim
    from crmsim.errors import InputError

    c = synth.customers(30, seed=1)
    pol = ReclaimPolicy(rules=[ReclaimRule(kind="no_followup", limit_days=30)])
    bad = c.assign(last_followup_at=c["last_followup_at"].astype(str).where(c.index != 3, "31/31/2025"))
    with pytest.raises(InputError, match=r"column 'last_followup_at' expects dates; rows \[3\]"):
        due_for_reclaim(bad, pol, "2025-06-30")
    words = c.assign(locked=np.where(c["locked"], "yes", "no"))
    assert due_for_reclaim(words, pol, "2025-06-30").equals(due_for_reclaim(c, pol, "2025-06-30"))
    with pytest.raises(InputError, match=r"column 'locked' expects yes/no"):
        due_for_reclaim(c.assign(locked="perhaps"), pol, "2025-06-30")


def test_a_payment_without_a_customer_is_held_not_lost():
    import pandas as pd

    from crmsim.finance.writeoff import allocate

    rec = pd.DataFrame({"receivable_id": ["r1"], "customer_id": ["c1"], "amount": np.array([1000], dtype="int64")})
    pay = pd.DataFrame({"payment_id": ["p1", "p2"], "customer_id": ["c1", None],
                        "amount": np.array([1200, 500], dtype="int64")})
    out = allocate(pay, rec)
    assert out["prepayments"].values.tolist() == [["c1", 200]]
    assert out["unidentified"][["payment_id", "unallocated"]].values.tolist() == [["p2", 500]]
    total = out["allocations"]["amount"].sum() + out["prepayments"]["prepayment"].sum() + out["unidentified"]["unallocated"].sum()
    assert total == pay["amount"].sum()   # every cent accounted for


def test_a_full_disk_is_a_named_error_and_the_run_resumes(tmp_path, capsys, monkeypatch):
    import errno

    from crmsim.experiments.store import RunStore

    f = _scenario(tmp_path, reps=4)
    ref = tmp_path / "ref"
    assert main(["run", str(f), "--out", str(ref), "--quiet", "--jobs", "1"]) == 0
    capsys.readouterr()
    real = RunStore.write_replication
    calls = {"n": 0}

    def full(self, *a, **kw):   # the disk fills up after three replications
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.root / "reps" / "x.parquet"))
        return real(self, *a, **kw)

    monkeypatch.setattr(RunStore, "write_replication", full)
    out = tmp_path / "out"
    assert main(["run", str(f), "--out", str(out), "--quiet", "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "--resume" in err and "Traceback" not in err
    monkeypatch.setattr(RunStore, "write_replication", real)
    assert main(["run", str(f), "--out", str(out), "--quiet", "--jobs", "1", "--resume"]) == 0
    assert (out / "summary.csv").read_bytes() == (ref / "summary.csv").read_bytes()


def test_a_missing_optional_package_is_a_named_error_with_its_extra(monkeypatch, tmp_path, capsys):
    import pandas as pd

    from crmsim.errors import MissingDependency
    from crmsim.leads import fit_logistic

    monkeypatch.setitem(sys.modules, "sklearn", None)        # as if scikit-learn were not installed
    monkeypatch.setitem(sys.modules, "ortools", None)
    with pytest.raises(MissingDependency, match=r"fit_logistic .*'scikit-learn'.*crmsim\[ml\]"):
        fit_logistic(pd.DataFrame({"x": ["a", "b"], "y": [0, 1]}), "y", ["x"])
    # a simulation that needs one stops before its first replication, with one line
    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    rc = main(["run", str(root / "scenarios/field_visits.toml"), "--out", str(tmp_path / "f"), "--quiet",
               "--replications", "1", "--set", "baseline.customers.count=50"])
    err = capsys.readouterr().err
    assert rc == 2 and "the field simulation needs the optional package 'ortools'" in err and "crmsim[solver]" in err
    assert "Traceback" not in err
