"""Bundled scenarios validate; bad scenario files give errors naming the file and the key path."""

import pytest

from crmsim.experiments import ScenarioError, load_scenario, variants
from crmsim.experiments.scenario import dump_resolved, parse_assignments

GOOD = """
schema_version = 1
name = "t"
[run]
replications = 2
horizon_days = 30
[baseline]
reps = { count = 2 }
"""

# (file stem, what to change, key path the error must name)
BAD = [
    ("typo_key", GOOD.replace("replications = 2", "replicatons = 2"), "run.replicatons"),
    ("wrong_type", GOOD.replace("replications = 2", 'replications = "ten"'), "run.replications"),
    ("negative_rate", GOOD + 'channels = { search = { volume_per_week = -5 } }\n',
     "baseline.channels.search.volume_per_week"),
    ("unknown_distribution", GOOD.replace("count = 2 }", 'count = 2, contact_hours = { kind = "weibull", shape = 2 } }'),
     "baseline.reps.contact_hours"),
    ("bad_distribution_param", GOOD.replace("count = 2 }", 'count = 2, contact_hours = { kind = "triangular", low = 3, mode = 2, high = 1 } }'),
     "baseline.reps.contact_hours.triangular"),
    ("empty_sweep", GOOD + "[[sweep]]\ngrid = {}\n", "sweep.0.grid"),
    ("empty_sweep_values", GOOD + '[[sweep]]\ngrid = { "reps.count" = [] }\n', "sweep.0.grid"),
    ("unknown_override_path", GOOD + '[[sweep]]\ngrid = { "reps.cuont" = [1, 2] }\n', "reps.cuont"),
    ("bad_override_value", GOOD + '[[sweep]]\ngrid = { "reps.count" = [3, 0] }\n', "baseline.reps.count"),
    ("missing_required", GOOD.replace("horizon_days = 30", ""), "run.horizon_days"),
    ("schema_version", GOOD.replace("schema_version = 1", "schema_version = 2"), "schema_version"),
    ("warmup_after_horizon", GOOD.replace("horizon_days = 30", "horizon_days = 30\nwarmup_days = 40"), "run"),
    ("empty_channel_name", GOOD + 'channels = { "" = { volume_per_week = 5 } }\n', "baseline.channels"),
    ("outcomes_of_an_undeclared_channel", GOOD + 'channels = { fax = { volume_per_week = 5 } }\n'
     'outcomes = { by_channel = { fair = { win_rate = 0.3 } } }\n', "baseline"),
    ("bad_condition_op", GOOD + '[[baseline.scoring.rules]]\npoints = 5\nwhen = [{ field = "channel", op = "like", value = "a" }]\n',
     "baseline.scoring.rules.0.when.0.op"),
    ("bad_policy", GOOD + 'assignment = { policy = "random" }\n', "baseline.assignment.policy"),
    ("negative_replications", GOOD.replace("replications = 2", "replications = -1"), "run.replications"),
    ("toml_syntax", GOOD.replace("[run]", "[run"), "line 4"),
    ("missing_reps", GOOD.replace("reps = { count = 2 }", ""), "baseline.reps"),
]


def test_bundled_scenarios_validate(root):
    files = sorted((root / "scenarios").glob("*.toml"))
    assert {f.name for f in files} >= {"funnel.toml", "funnel_small.toml"}
    for f in files:
        sc = load_scenario(f)
        assert len(variants(sc)) >= 2


@pytest.mark.parametrize("stem, text, path", BAD, ids=[b[0] for b in BAD])
def test_bad_scenario_names_file_and_key_path(tmp_path, stem, text, path):
    f = tmp_path / f"{stem}.toml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    msg = str(e.value)
    assert str(f) in msg, msg
    assert path in msg, msg


def test_overrides_and_resolved_round_trip(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(GOOD)
    sc = load_scenario(f, parse_assignments(["run.replications=5", "baseline.assignment.policy=least_loaded"]))
    assert sc.run.replications == 5 and sc.baseline.assignment.policy == "least_loaded"
    (tmp_path / "r.toml").write_text(dump_resolved(sc))
    assert load_scenario(tmp_path / "r.toml") == sc
    with pytest.raises(ScenarioError, match=r"s\.toml: --set: unknown override path 'run.nope'"):
        load_scenario(f, {"run.nope": 1})


def test_sweep_is_a_grid_and_baseline_point_runs_once(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(GOOD + '[[sweep]]\ngrid = { "reps.count" = [2, 3], "assignment.policy" = ["round_robin", "least_loaded"] }\n')
    names = [v.name for v in variants(load_scenario(f))]
    assert names == ["baseline", "reps.count=2,assignment.policy=least_loaded",
                     "reps.count=3,assignment.policy=round_robin",
                     "reps.count=3,assignment.policy=least_loaded"]


def test_sweep_over_whole_tables_with_labels_and_list_paths(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(GOOD + """
[[sweep]]
grid = { "scoring" = [{ mql_threshold = 10 }, { mql_threshold = 90 }] }
labels = { "scoring" = ["low", "high"] }

[[sweep]]
grid = { "scoring" = [{ mql_threshold = 20 }] }
""")
    vs = variants(load_scenario(f))
    assert [v.name for v in vs] == ["baseline", "scoring=low", "scoring=high", "scoring=#0"]
    assert vs[2].config.scoring.mql_threshold == 90
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD + '[[sweep]]\ngrid = { "reps.count" = [1, 2] }\nlabels = { "reps.count" = ["one"] }\n')
    with pytest.raises(ScenarioError, match=r"sweep.0: Value error, labels for 'reps.count': 1 names for 2 values"):
        load_scenario(bad)
