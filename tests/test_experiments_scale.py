"""Results store, resume, failures, the Dask executor, statistics, and the report in a browser."""

import dataclasses
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pandas as pd
import pytest

from crmsim.cli import main
from crmsim.experiments import load_scenario, run_experiment
from crmsim.experiments.store import RunStore, query


def small(root, reps=3):
    return load_scenario(root / "scenarios/funnel_small.toml", {"run.replications": reps})


def test_resume_runs_only_what_is_missing_and_gives_the_same_result(root, tmp_path):
    sc = small(root, 4)
    full = run_experiment(sc)
    store = RunStore(tmp_path, scenario_name=sc.name, rid="r1", model=sc.model)
    first = run_experiment(small(root, 2), store=store)   # an "interrupted" run: 2 of 4
    assert len(first.summary) == 6 and len(list((tmp_path / "reps").glob("*.parquet"))) == 6
    seen = []
    resumed = run_experiment(sc, store=store, resume=True, progress=lambda d, t: seen.append(d))
    assert seen[0] == 6 and seen[-1] == 12                 # started from the stored 6
    pd.testing.assert_frame_equal(resumed.summary, full.summary, check_dtype=False)
    assert len(list((tmp_path / "reps").glob("*.parquet"))) == 12   # nothing stored twice
    with pytest.raises(ValueError, match="another scenario version"):
        RunStore(tmp_path, scenario_name=sc.name, rid="other", model=sc.model)


def test_a_failing_replication_is_recorded_and_does_not_lose_the_others(root, tmp_path, monkeypatch):
    from crmsim.sim import funnel
    from crmsim.sim.registry import MODELS, get_model

    real = funnel.simulate_funnel

    def flaky(cfg, seed, *a, **k):
        if seed.spawn_key == (1,) and cfg.assignment.policy == "least_loaded":
            raise RuntimeError("boom in replication 1")
        return real(cfg, seed, *a, **k)

    spec = get_model("funnel")
    monkeypatch.setitem(MODELS, "funnel", dataclasses.replace(spec, simulate=flaky))
    sc = small(root, 3)
    store = RunStore(tmp_path, scenario_name=sc.name, rid="r", model=sc.model)
    res = run_experiment(sc, store=store)
    assert len(res.failures) == 1 and len(res.summary) == 8
    f = store.failures()[0]
    assert f["replication"] == 1 and f["seed"] == "7/1" and "boom in replication 1" in f["traceback"]
    monkeypatch.setitem(MODELS, "funnel", spec)
    again = run_experiment(sc, store=store, resume=True)
    assert not again.failures and len(again.summary) == 9 and store.failures() == []


def test_dask_local_cluster_gives_identical_results(root):
    pytest.importorskip("dask.distributed")
    from crmsim.experiments.runner import make_executor

    sc = small(root, 3)
    serial = run_experiment(sc)
    ex, close = make_executor("local", 2)
    try:
        dask = run_experiment(sc, executor=ex)
    finally:
        close()
    pd.testing.assert_frame_equal(serial.summary, dask.summary)


def test_scheduler_setting_in_the_scenario_runs_on_dask(root, tmp_path):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "d"
    assert main(["run", str(root / "scenarios/funnel_small.toml"), "--out", str(out), "--quiet", "--jobs", "2",
                 "--set", 'run.scheduler="local"']) == 0
    ref = tmp_path / "s"
    assert main(["run", str(root / "scenarios/funnel_small.toml"), "--out", str(ref), "--quiet", "--jobs", "1"]) == 0
    assert (out / "summary.csv").read_bytes() == (ref / "summary.csv").read_bytes()
    # where it ran is not part of the run id: the Dask run can be resumed serially
    assert (out / "run.json").read_text().split('"run_id"')[1] == (ref / "run.json").read_text().split('"run_id"')[1]


def test_cli_store_query_and_report(root, tmp_path):
    out = tmp_path / "funnel_small"
    assert main(["run", str(root / "scenarios/funnel_small.toml"), "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    assert main(["run", str(root / "scenarios/funnel_small.toml"), "--out", str(out), "--quiet", "--jobs", "1",
                 "--resume", "--replications", "4"]) == 0
    q = query("select variant, count(*) n from runs group by 1 order by 1", root=tmp_path)
    assert q["n"].tolist() == [4, 4, 4]
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "Scenario" in html and "mean [95% CI]" in html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


SMALL = {   # every bundled scenario, shrunk so that a run and its report take seconds
    "field_visits": ["baseline.customers.count=300"],
    "promotions": ["baseline.customers=200", "run.horizon_days=91"],
    "credit_policy": ["baseline.customers=150", "run.horizon_days=120"],
    "pool_reclamation": ["baseline.customers.count=300", "baseline.reps.count=3", "baseline.reps.target_holding=100",
                         "run.horizon_days=60"],
    "pool_regions": ["baseline.customers.count=300", "run.horizon_days=60"],
    "funnel": ["run.horizon_days=35", "run.warmup_days=7"],
    "funnel_small": [],
    "lead_scoring": ["run.horizon_days=35", "run.warmup_days=7"],
}


def _visible_text(dom: str) -> str:
    """The text a person sees: no scripts, styles or tags."""
    dom = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", dom)
    import html as _html

    return _html.unescape(re.sub(r"<[^>]+>", " ", dom))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize("scenario", sorted(SMALL))
def test_report_renders_in_a_headless_browser_decision_first_and_readable(root, tmp_path, scenario, capsys):
    out = tmp_path / scenario
    args = [x for kv in SMALL[scenario] for x in ("--set", kv)]
    assert main(["run", str(root / f"scenarios/{scenario}.toml"), "--out", str(out), "--quiet",
                 "--replications", "2", *args, "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Decision: " in printed                        # the CLI ends in a recommendation
    html = (out / "report.html").read_text()
    n_plots = html.count("Plotly.newPlot(")
    assert n_plots >= 3
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tempfile.mkdtemp()}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=15000", "--dump-dom", (out / "report.html").as_uri()],
        capture_output=True, text=True, timeout=180)
    dom = proc.stdout
    rendered = len(re.findall(r'class="plot-container plotly"', dom))
    assert rendered == n_plots, f"{rendered} of {n_plots} figures rendered"
    assert dom.count('class="main-svg"') >= n_plots
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln]
    assert not console, console
    # the decision comes first, before any table or figure
    assert 0 < dom.index('id="decision"') < min(dom.index("<table"), dom.index("plot-container"))
    text = _visible_text(dom)
    assert "Decision:" in text.split("Comparison")[0]
    sci = re.findall(r"\d\.?\d*e[+-]\d+", text)
    assert not sci, f"scientific notation on the page: {sci[:5]}"
    from crmsim.experiments import load_scenario as _load
    from crmsim.sim.registry import get_model

    model = _load(root / f"scenarios/{scenario}.toml").model
    if any(u.startswith("money") for u in get_model(model).units.values()):   # field has no money metric
        assert "EUR" in text.split("Comparison")[1].split("Scenario")[0]   # money says its currency


def test_replications_needed_and_selection_of_the_best():
    from scipy import stats

    from crmsim.experiments.stats import replications_needed, select_best

    x = np.random.default_rng(0).normal(10, 2, 10)
    n = replications_needed(x, half_width=0.5)
    s = x.std(ddof=1)
    assert stats.t.ppf(0.975, n - 1) * s / np.sqrt(n) <= 0.5 < stats.t.ppf(0.975, n - 2) * s / np.sqrt(n - 1)
    assert 40 <= n <= 100  # ~ (1.96 s / 0.5)^2 with s ~ 2
    assert replications_needed(x, half_width=5) == 10
    rng = np.random.default_rng(1)
    common = rng.normal(0, 1, 30)
    s = pd.DataFrame({"variant": np.repeat(["a", "b", "c"], 30), "replication": np.tile(range(30), 3),
                      "won": np.concatenate([common + 1, common + 1.05, common + 3 + rng.normal(0, 0.1, 30)])})
    sel = select_best(s, "won", confidence=0.95)
    assert sel["best"].tolist() == [False, False, True] and sel.attrs["subset"] == ["c"]
    # c no better than b and noisier: the data cannot tell them apart, both stay
    close = s.assign(won=np.where(s["variant"] == "c", np.tile(common, 3) + 1.05 + rng.normal(0, 0.5, 90), s["won"]))
    assert set(select_best(close, "won").attrs["subset"]) >= {"b", "c"}


def test_run_to_precision_reaches_the_target(root):
    from crmsim.experiments.runner import run_to_precision
    from crmsim.experiments.stats import mean_ci

    res = run_to_precision(small(root, 3), "ttfc_mean_h", 1.0, n0=3, max_n=40)
    for _, g in res.summary.groupby("variant"):
        m, lo, hi = mean_ci(g["ttfc_mean_h"])
        assert (hi - lo) / 2 <= 1.0 or len(g) == 40
    assert res.summary.groupby("variant").size().min() > 3
