"""A sixth model is one new file: this one. It registers a toy simulation and runs it through
scenarios, the runner, the CLI and the report without touching crmsim."""

import numpy as np
import pandas as pd
from pydantic import Field

from crmsim.cli import main
from crmsim.config import Config
from crmsim.experiments import load_scenario, run_experiment
from crmsim.report import write_report
from crmsim.sim.engine import Result
from crmsim.sim.registry import MODELS, ModelSpec, get_model, register


class ToyConfig(Config):
    """Jobs arrive (Poisson) and each is late with probability ``late_share``."""

    jobs_per_day: float = Field(gt=0)
    late_share: float = Field(ge=0, le=1)


def simulate_toy(cfg: ToyConfig, seed, horizon_days: float, warmup_days: float = 0.0, *, keep_events=True):
    rng = np.random.default_rng(seed)
    n = rng.poisson(cfg.jobs_per_day * (horizon_days - warmup_days))
    late = rng.random(n) < cfg.late_share
    table = pd.DataFrame({"job": np.arange(n), "late": late})
    events = pd.DataFrame({"t": np.sort(rng.uniform(warmup_days, horizon_days, n)), "entity": "job",
                           "entity_id": np.arange(n), "event": "done", "actor": -1, "value": np.nan})
    return Result(table=table, events=events, metrics={"done": float(n), "late": float(late.sum())})


def test_a_toy_sixth_model_runs_everywhere(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(MODELS, "toy", ModelSpec(name="toy", config=ToyConfig, simulate=simulate_toy,
                                                 table="jobs", key_metrics=("late", "done")))
    assert get_model("toy").table == "jobs"
    f = tmp_path / "toy.toml"
    f.write_text('schema_version = 1\nname = "toy"\nmodel = "toy"\n[run]\nreplications = 3\nhorizon_days = 30\n'
                 '[baseline]\njobs_per_day = 4\nlate_share = 0.2\n[[sweep]]\ngrid = { late_share = [0.1, 0.3] }\n')
    sc = load_scenario(f)
    res = run_experiment(sc, jobs=1)
    comp = res.comparison()
    late = comp[(comp["metric"] == "late")].set_index("variant")["mean"]
    assert late["late_share=0.1"] < late["baseline"] < late["late_share=0.3"]
    page = write_report(tmp_path / "report.html", res, comp).read_text()
    assert "late" in page and "funnel by channel" not in page.lower()   # no other model's figures
    assert main(["run", str(f), "--out", str(tmp_path / "out"), "--jobs", "1", "--quiet"]) == 0
    assert (tmp_path / "out" / "jobs.parquet").is_file()
    assert "late" in capsys.readouterr().out


def test_a_spec_without_key_metrics_is_refused():
    import pytest

    with pytest.raises(ValueError, match="key_metrics"):
        register(ModelSpec(name="empty", config=ToyConfig, simulate=simulate_toy, table="x", key_metrics=()))
