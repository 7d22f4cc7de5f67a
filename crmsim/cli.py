"""Command line: ``crmsim run | validate | calibrate | replay | price | report | results | init | list``,
and the table rules on exports (``reclaim | ageing | writeoff | score | assign | dedup``, :mod:`crmsim.shell`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _bundled(name: str) -> Path:
    """A folder shipped inside the package (``scenarios``, ``examples``): found after ``pip
    install`` as in a source checkout."""
    from importlib.resources import files

    return Path(str(files("crmsim") / name))


def _bundled_dirs() -> list[Path]:
    """./scenarios (the user's project), then the scenarios bundled with crmsim."""
    cwd = Path.cwd() / "scenarios"
    return [d for d in dict.fromkeys([cwd.resolve() if cwd.is_dir() else cwd, _bundled("scenarios").resolve()])
            if d.is_dir()]


def comparison_text(comparison, metrics: list[str], labels: dict[str, str] | None = None,
                    units: dict[str, str] | None = None, currency: str = "") -> str:
    """A plain-text table: per variant, each metric's mean and its paired difference to baseline,
    in the metric's unit (money with its currency, shares as %)."""
    from crmsim.units import fmt, fmt_ci, unit_of

    labels, units = labels or {}, units or {}
    variants = list(dict.fromkeys(comparison["variant"]))
    c = comparison.set_index(["variant", "metric"])
    rows = []
    for v in variants:
        cells = []
        for m in metrics:
            r, u = c.loc[(v, m)], unit_of(units, m)
            if v == "baseline":
                cell = fmt_ci(r["mean"], r["ci_low"], r["ci_high"], u, currency, compact=True)
            else:
                star = "*" if (r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0) else ""
                cell = (f"{fmt(r['mean'], u, currency, compact=True)} "
                        f"({fmt(r['diff'], u, currency, signed=True, compact=True)}{star})")
            cells.append(cell)
        rows.append([labels.get(v, v), *cells])
    head = ["variant", *metrics]
    widths = [max(len(str(x[k])) for x in [head, *rows]) for k in range(len(head))]
    fmt_row = lambda row: "  ".join(  # noqa: E731
        f"{x:<{w}}" if k == 0 else f"{x:>{w}}" for k, (x, w) in enumerate(zip(row, widths)))
    lines = [fmt_row(head), "-" * (sum(widths) + 2 * len(widths) - 2), *map(fmt_row, rows)]
    lines.append("baseline: mean [95% CI]; others: mean (paired difference to baseline, "
                 "* = 95% CI excludes 0)")
    return "\n".join(lines)


def cmd_run(args) -> int:
    from crmsim.experiments import (
        ScenarioError,
        fast_mode,
        load_scenario,
        parse_assignments,
        variants,
    )

    if args.jobs < 0:
        raise ScenarioError(f"--jobs must be >= 0 (0 = one per CPU), got {args.jobs}")
    overrides = parse_assignments(args.set or [])
    if args.replications is not None:
        overrides["run.replications"] = args.replications
    if args.seed is not None:
        overrides["run.base_seed"] = args.seed
    sc = load_scenario(args.file, overrides, allow_large=args.allow_large)
    if fast_mode() and args.replications is None and sc.run.replications > 3:
        print(f"CRMSIM_FAST is set: {sc.run.replications} -> 3 replications", file=sys.stderr)
        sc = load_scenario(args.file, {**overrides, "run.replications": 3}, allow_large=args.allow_large)
    if args.jobs > (os.cpu_count() or 1):
        print(f"warning: --jobs {args.jobs} is more than the {os.cpu_count()} CPUs here; runs will share them",
              file=sys.stderr)
    from crmsim.experiments.store import check_run_folder, run_lock

    vs = variants(sc)
    total = len(vs) * sc.run.replications
    jobs = args.jobs or min(os.cpu_count() or 1, total)
    out = Path(args.out) if args.out else Path("results") / sc.name
    check_run_folder(out)
    from crmsim.experiments.scenario import baseline_equivalents

    same = baseline_equivalents(sc)
    if same:
        print(f"note: grid point{'s' if len(same) > 1 else ''} {'; '.join(same)} {'are' if len(same) > 1 else 'is'} "
              "the baseline itself: run once, as the baseline", file=sys.stderr)
    with run_lock(out):
        return _execute(args, sc, vs, total, jobs, out)


def _execute(args, sc, vs, total: int, jobs: int, out: Path) -> int:
    """Run a scenario's variants into the run folder ``out`` (held by the caller's lock) and write
    the summary, comparison, frames and report."""
    import pandas as pd
    from tqdm import tqdm

    from crmsim.experiments import ScenarioError, dump_resolved, run_experiment
    from crmsim.experiments.runner import make_executor
    from crmsim.experiments.store import RunStore, run_id
    from crmsim.report import KEY_METRICS, write_report
    from crmsim.sim.registry import get_model

    out.mkdir(parents=True, exist_ok=True)
    raw = sc.model_dump(mode="json", by_alias=True, exclude_none=True)
    raw["run"].pop("replications")
    raw["run"].pop("scheduler", None)  # where it runs does not change the results
    raw.pop("decision", None)  # nor what is decided from them, nor the currency they are shown in
    raw.pop("currency", None)
    scheduler = args.scheduler or sc.run.scheduler
    import tomli_w

    rid = run_id(tomli_w.dumps(raw))
    if not args.resume and (out / "reps").exists():
        import shutil

        for sub in ("reps", "failures", "events", "tables"):
            shutil.rmtree(out / sub, ignore_errors=True)
        (out / "run.json").unlink(missing_ok=True)
    store = RunStore(out, scenario_name=sc.name, rid=rid, model=sc.model)
    where = f"Dask scheduler {scheduler}" if scheduler else f"{jobs} worker(s)"
    print(f"{sc.name}: {len(vs)} variants x {sc.run.replications} replications = {total} runs "
          f"on {where} -> {out}/ (run {rid}{', resuming' if args.resume else ''})", file=sys.stderr)
    t0 = time.perf_counter()
    executor, close = make_executor(scheduler, jobs)
    try:
        with tqdm(total=total, unit="run", file=sys.stderr, disable=args.quiet) as bar:
            def progress(done: int, _total: int) -> None:
                bar.update(done - bar.n)

            if args.target_ci:
                from crmsim.experiments.runner import run_to_precision

                metric, _, hw = args.target_ci.partition("=")
                try:
                    hw_f = float(hw)
                except ValueError:
                    raise ScenarioError(f"--target-ci {args.target_ci!r}: expected METRIC=HALF_WIDTH, "
                                        "e.g. won=2") from None
                res = run_to_precision(sc, metric, hw_f, n0=min(5, sc.run.replications),
                                       max_n=max(sc.run.replications, 200), store=store, jobs=jobs,
                                       executor=executor, progress=progress)
            else:
                res = run_experiment(sc, jobs=jobs, executor=executor, progress=progress, store=store,
                                     resume=args.resume)
    finally:
        close()
    if res.failures:
        for f in res.failures:
            last = f["traceback"].strip().splitlines()[-1]
            print(f"FAILED {f['variant']} replication {f['replication']} (seed {f['seed']}): {last}",
                  file=sys.stderr)
        print(f"{len(res.failures)} replication(s) failed; tracebacks in {out}/failures/. "
              "Fix and rerun with --resume to run only those.", file=sys.stderr)
        if res.summary.empty:
            return 1
    comp = res.comparison()
    (out / "scenario.resolved.toml").write_text(dump_resolved(sc), encoding="utf-8")
    res.summary.to_csv(out / "summary.csv", index=False)
    comp.to_csv(out / "comparison.csv", index=False)
    ev = pd.concat([e.assign(variant=v) for v, e in res.events.items()], ignore_index=True)
    ev["variant"] = ev["variant"].astype("category")
    ev.to_parquet(out / "events.parquet", index=False)
    table_name = get_model(sc.model).table
    ld = pd.concat([x.assign(variant=v) for v, x in res.tables.items()], ignore_index=True)
    ld.to_parquet(out / f"{table_name}.parquet", index=False)
    write_report(out / "report.html", res, comp)
    spec = get_model(sc.model)
    labels = {v.name: v.label for v in vs}
    keys = list(dict.fromkeys([*KEY_METRICS[sc.model][:4],
                               *(t.metric for t in (sc.decision.objective if sc.decision else ()) if t.metric),
                               *(c.metric for c in (sc.decision.constraints if sc.decision else ()))]))
    from crmsim.report.html import split_varying

    shown, flat = split_varying(comp, keys)
    print(comparison_text(comp, shown, labels, spec.units, sc.currency))
    if flat:
        print(f"the same in every variant (not shown): {', '.join(flat)}")
    if res.summary["variant"].nunique() > 1:
        import textwrap

        rec = res.decide()
        print("\n" + textwrap.fill("Decision: " + rec.text(), width=100))
    print(f"\n{len(res.summary)} runs in {time.perf_counter() - t0:.1f} s; wrote scenario.resolved.toml, "
          f"summary.csv, comparison.csv, events.parquet, {table_name}.parquet, report.html to {out}/")
    return 1 if res.failures else 0


def cmd_report(args) -> int:
    import tomllib

    from crmsim.experiments import ExperimentResult
    from crmsim.experiments.scenario import scenario_from_dict, variants
    from crmsim.experiments.store import RunStore
    from crmsim.report import write_report

    run = Path(args.run_dir)
    resolved = run / "scenario.resolved.toml"
    if not resolved.exists():
        print(f"error: {resolved} not found: is {run} a crmsim run folder?", file=sys.stderr)
        return 2
    sc = scenario_from_dict(tomllib.loads(resolved.read_text(encoding="utf-8")), source=str(resolved))
    meta = json.loads((run / "run.json").read_text()) if (run / "run.json").exists() else {}
    store = RunStore(run, scenario_name=sc.name, rid=meta.get("run_id", ""), model=sc.model) if meta else None
    summary = store.summary().drop(columns=["run_id"], errors="ignore") if store else \
        __import__("pandas").read_csv(run / "summary.csv")
    vs = [v.name for v in variants(sc)]
    order = {v: k for k, v in enumerate(vs)}
    summary = summary[summary["variant"].isin(order)]
    summary = summary.assign(_o=summary["variant"].map(order)).sort_values(["_o", "replication"]) \
        .drop(columns="_o").reset_index(drop=True)
    events, tables = {}, {}
    for v in vs:
        ev, tb = store.read_frames(v) if store else (None, None)
        if ev is not None:
            events[v], tables[v] = ev, tb
    res = ExperimentResult(sc, summary, [], events, tables)
    path = write_report(run / "report.html", res, res.comparison())
    print(f"wrote {path}")
    return 0


def cmd_results(args) -> int:
    from crmsim.errors import need

    duckdb = need("duckdb", "results query (SQL over stored runs)")

    from crmsim.errors import InputError
    from crmsim.experiments.store import query

    try:
        df = query(args.sql, root=args.root)
    except duckdb.Error as e:
        raise InputError(f"results query: {str(e).splitlines()[0]}; the table is 'runs' (scenario, run_id, "
                         "variant, replication, seed and every metric)") from None
    print(df.to_string(index=False) if len(df) < 200 else df.head(200).to_string(index=False))
    return 0


def cmd_validate(args) -> int:
    from crmsim.experiments import ScenarioError, load_scenario, variants

    bad = 0
    for f in args.files:
        try:
            sc = load_scenario(f, allow_large=args.allow_large)
        except ScenarioError as e:
            print(f"INVALID {e}", file=sys.stderr)
            bad += 1
        else:
            n = len(variants(sc))
            print(f"ok {f}: '{sc.name}', {n} variants x {sc.run.replications} replications "
                  f"= {n * sc.run.replications} runs")
    return 1 if bad else 0


def _default_funnel_base() -> Path | None:
    """The funnel scenario bundled with crmsim, if there is one."""
    p = _bundled("scenarios") / "funnel.toml"
    return p if p.is_file() else None


def _provenance_text(prov) -> str:
    lines = []
    for r in prov.itertuples():
        v = r.value if not isinstance(r.value, float) else f"{r.value:.4g}"
        v = str(v) if len(str(v)) <= 40 else str(v)[:37] + "..."
        ci = f" [{r.ci_low:.4g}, {r.ci_high:.4g}] n={r.n}" if r.ci_low == r.ci_low and r.n else ""
        note = f"  ({r.note})" if r.note and r.source != "fitted" else ""
        lines.append(f"  {r.path} = {v}: {r.source}{ci}{note}")
    return "\n".join(lines)


def _base_scenario(args, model: str, bundled: str):
    """The ``--base`` scenario (default: the bundled one) whose rules the calibration keeps."""
    from crmsim.errors import InputError
    from crmsim.experiments import load_scenario

    path = Path(args.base) if args.base else _bundled("scenarios") / bundled
    if not path.is_file():
        raise InputError(f"no base scenario: pass --base FILE (a {model} scenario whose rules and sweep to keep)")
    base = load_scenario(path)
    if base.model != model:
        raise InputError(f"{path}: model is '{base.model}'; calibrate --model {model} needs a {model} scenario")
    return base


def _write_calibration(base, cal, exclusions, args, model: str, source: str, sweep: list | None = None) -> dict:
    """Write a calibrated scenario and its estimates, provenance and exclusions next to ``--out``
    (never over a file crmsim did not write), and print where every parameter came from."""
    from crmsim.errors import InputError
    from crmsim.experiments import dump_resolved
    from crmsim.experiments.scenario import scenario_from_dict
    from crmsim.outputs import claim_outputs

    out = Path(args.out)
    if out.suffix != ".toml":
        raise InputError(f"--out {out}: give a scenario file name ending in .toml")
    stem = out.with_suffix("")
    files = {"scenario": out, "estimates": Path(f"{stem}.estimates.csv"), "provenance": Path(f"{stem}.provenance.csv"),
             "exclusions": Path(f"{stem}.exclusions.csv")}
    if args.validate:
        files["validation"] = Path(f"{stem}.validation.csv")
    claim_outputs(files.values())
    raw = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    raw.update(name=f"{base.name}_calibrated", description=f"{base.description} (calibrated on {source})",
               baseline=cal.config.model_dump(mode="json", by_alias=True, exclude_none=True))
    if sweep is not None:
        raw["sweep"] = sweep
    sc = scenario_from_dict(raw, source=str(out))
    start, end = cal.window
    out.write_text(f"# Calibrated by crmsim calibrate --model {model} on {source} ({start.date()}..{end.date()}).\n"
                   f"# Where every parameter came from: {files['provenance'].name}\n" + dump_resolved(sc), encoding="utf-8")
    cal.estimates.to_csv(files["estimates"], index=False)
    cal.provenance.to_csv(files["provenance"], index=False)
    exclusions.to_csv(files["exclusions"], index=False)
    print("\nwhere each parameter of the calibrated scenario came from:")
    print(_provenance_text(cal.provenance))
    print("  " + ", ".join(f"{k}: {v}" for k, v in cal.provenance["source"].value_counts().items()))
    for n in cal.notes:
        print(f"note: {n}")
    print("wrote " + ", ".join(str(f) for k, f in files.items() if k != "validation"))
    return files


def cmd_calibrate_credit(args) -> int:
    """``crmsim calibrate --model credit``: the credit scenario fitted to invoices, payments and
    customers, with its provenance and, with ``--validate N``, the time-split check."""

    from crmsim.errors import InputError
    from crmsim.experiments.calibrate import _set_paths
    from crmsim.experiments.credit_twin import (
        calibrate_credit,
        credit_split_validation,
        load_credit_history,
    )
    from crmsim.tables import read_table

    if not (args.invoices and args.customers):
        raise InputError("calibrate --model credit needs --invoices FILE and --customers FILE (and --payments FILE "
                         "unless the invoices have a paid date)")
    columns = _read_map_columns(args.map)
    tables = {k: read_table(getattr(args, k), source=f"{k} table") for k in ("customers", "invoices", "payments",
                                                                             "dunning") if getattr(args, k)}
    history = load_credit_history(tables["customers"], tables["invoices"], tables.get("payments"), columns=columns,
                                  observed_until=args.observed_until, dunning=tables.get("dunning"))
    print(history.summary())
    base = _base_scenario(args, "credit", "credit_policy.toml")
    base_set = _set_paths(base.baseline)
    cal = calibrate_credit(history, base.baseline, start=args.start, end=args.end, base_set=base_set)
    files = _write_calibration(base, cal, history.exclusions, args, "credit", args.invoices)
    if args.validate:
        val = credit_split_validation(history, base.baseline, split=args.split, replications=args.validate)
        _print_split(val, files["validation"], args.validate)
    return 0


def _read_map_columns(path) -> dict:
    from crmsim.shell import (
        read_columns_map,  # one reader of [columns] for calibrate and the table commands
    )

    return read_columns_map(path)


def cmd_calibrate_pool(args) -> int:
    """``crmsim calibrate --model pool``: the pool scenario fitted to customers, activities, deals
    and the ownership log, with provenance and, with ``--validate N``, the time-split check."""
    from crmsim.customers import pool_history
    from crmsim.errors import InputError
    from crmsim.experiments.pool_twin import calibrate_pool, pool_split_validation
    from crmsim.tables import read_table

    if not (args.customers and args.activities and args.deals):
        raise InputError("calibrate --model pool needs --customers, --activities and --deals (and --ownership, the "
                         "owner-change log, unless the customers table has owner_id and received_at)")
    columns = _read_map_columns(args.map)
    t = {k: read_table(getattr(args, k), source=f"{k} table") for k in ("customers", "activities", "deals", "ownership")
         if getattr(args, k)}
    history = pool_history(t["customers"], t["activities"], t["deals"], t.get("ownership"), columns=columns,
                           start=args.start, end=args.end)
    print(f"{len(history.customers):,} customers, {len(history.spells):,} ownership spells, "
          f"{len(history.followups):,} follow-ups, {len(history.deals):,} deals, {history.start.date()}..{history.end.date()}")
    for r in history.exclusions.itertuples():
        print(f"  excluded from {r.table}: {r.rows} row(s), {r.reason} (first: {r.first})")
    base = _base_scenario(args, "pool", "pool_reclamation.toml")
    cal = calibrate_pool(history, base.baseline)
    files = _write_calibration(base, cal, history.exclusions, args, "pool", args.customers)
    if args.validate:
        val = pool_split_validation(history, base.baseline, split=args.split, replications=args.validate)
        _print_split(val, files["validation"], args.validate)
    return 0


def cmd_calibrate_field(args) -> int:
    """``crmsim calibrate --model field``: the field scenario fitted to a stores table and a visit /
    check-in log, with provenance and, with ``--validate N``, the time-split check."""
    from crmsim.errors import InputError, read_toml
    from crmsim.experiments.field_twin import (
        calibrate_field,
        field_split_validation,
        load_visit_history,
    )
    from crmsim.tables import read_table

    if not (args.stores and args.visits):
        raise InputError("calibrate --model field needs --stores FILE (customer_id, lat, lon [, grade, owner_id]) and "
                         "--visits FILE (rep_id, customer_id, checkin_at [, checkout_at, status, planned_at, visit_type])")
    columns = _read_map_columns(args.map)
    statuses = read_toml(args.map, "mapping file").get("statuses", {}) if args.map else {}
    if not isinstance(statuses, dict):
        raise InputError(f"{args.map}: [statuses] must map the export's status words to done / cancelled / missed / planned")
    history = load_visit_history(read_table(args.stores, source="stores table"),
                                 read_table(args.visits, source="visits table"), columns=columns, statuses=statuses)
    print(history.summary())
    base = _base_scenario(args, "field", "field_visits.toml")
    from crmsim.experiments.calibrate import _set_paths

    cal = calibrate_field(history, base.baseline, start=args.start, end=args.end, base_set=_set_paths(base.baseline))
    files = _write_calibration(base, cal, history.exclusions, args, "field", args.visits)
    if args.validate:
        val = field_split_validation(history, base.baseline, split=args.split, replications=args.validate)
        _print_split(val, files["validation"], args.validate)
    return 0


def cmd_calibrate_promo(args) -> int:
    """``crmsim calibrate --model promo``: the promotion scenario fitted to order lines with
    their prices and discounts, with provenance and, with ``--validate N``, a held-out past
    promotion (``--holdout ID``, default the last one with enough log before it)."""
    from crmsim.errors import InputError
    from crmsim.experiments.calibrate import _set_paths
    from crmsim.experiments.promo_twin import (
        calibrate_promo,
        load_order_history,
        promo_split_validation,
        replan_sweeps,
    )
    from crmsim.tables import read_table

    if not args.lines:
        raise InputError("calibrate --model promo needs --lines FILE (order lines: order_date, customer_id, product_id, "
                         "qty, list_price and discount_pct, discount_amount or net_amount [, order_id, segment, "
                         "category, promo_id, free, unit_cost])")
    columns = _read_map_columns(args.map)
    history = load_order_history(read_table(args.lines, source="order lines"), columns=columns)
    print(history.summary())
    base = _base_scenario(args, "promo", "promotions.toml")
    cal = calibrate_promo(history, base.baseline, start=args.start, end=args.end, base_set=_set_paths(base.baseline))
    raw = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    sweep, moved = replan_sweeps(raw.get("sweep", []), base.baseline.start_date, cal, history)
    cal.notes += moved
    files = _write_calibration(base, cal, history.exclusions, args, "promo", args.lines, sweep=sweep)
    if args.validate:
        val = promo_split_validation(history, base.baseline, holdout=args.holdout, replications=args.validate)
        print(f"\nheld-out promotion: {val['promotion']}")
        _print_split(val, files["validation"], args.validate)
    return 0


def _print_split(val: dict, path: Path, n: int) -> None:
    t = val["table"]
    t.to_csv(path, index=False)
    print(f"\ntime split: fitted before {val['split'].date()}, simulated after it ({n} replications):")
    for r in t.itertuples():
        verdict = "PASS" if r.within_10pct else ("in range" if r.within_range else "FAIL")
        print(f"  {r.metric:<20} observed {r.observed:>16,.2f}  simulated {r.simulated:>16,.2f} "
              f"[{r.sim_low:,.2f}, {r.sim_high:,.2f}]  {r.error_pct:+6.1f}%  {verdict}")
    print(f"wrote {path}")


def cmd_calibrate(args) -> int:
    import pandas as pd

    if args.model == "credit":
        return cmd_calibrate_credit(args)
    if args.model == "pool":
        return cmd_calibrate_pool(args)
    if args.model == "field":
        return cmd_calibrate_field(args)
    if args.model == "promo":
        return cmd_calibrate_promo(args)
    if not args.history:
        from crmsim.errors import InputError

        raise InputError("calibrate: give the lead / MQL export (or --model credit / pool / field / promo with their tables)")
    if not args.map:
        from crmsim.errors import InputError

        raise InputError("calibrate: --map MAPPING.toml is required for the funnel (see data/examples/mql_export_map.toml)")

    from crmsim.experiments import dump_resolved, load_scenario
    from crmsim.experiments.calibrate import calibrate, split_validation
    from crmsim.experiments.lead_history import load_lead_history, load_mapping
    from crmsim.experiments.scenario import scenario_from_dict

    mapping = load_mapping(args.map)
    history = load_lead_history(args.history, mapping, deals=args.deals)
    print(history.summary())
    base_path = Path(args.base) if args.base else _default_funnel_base()
    if base_path is None:
        from crmsim.errors import InputError

        raise InputError("no base scenario: pass --base FILE (a funnel scenario whose rules and team to keep)")
    base = load_scenario(base_path)
    if base.model != "funnel":
        from crmsim.errors import InputError

        raise InputError(f"{base_path}: model is '{base.model}'; calibrate fits a funnel scenario")
    from crmsim.experiments.calibrate import _set_paths

    base_set = _set_paths(base.baseline)
    cal = calibrate(history, base.baseline, start=pd.Timestamp(args.start) if args.start else None,
                    end=pd.Timestamp(args.end) if args.end else None,
                    observed_until=pd.Timestamp(args.observed_until) if args.observed_until else None,
                    base_set=base_set)
    start, end = cal.window
    days = float((end - start) / pd.Timedelta(days=1))
    raw = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    raw.update(name=f"{base.name}_calibrated", description=f"{base.description} (calibrated on {args.history})",
               baseline=cal.config.model_dump(mode="json", by_alias=True, exclude_none=True))
    raw["run"]["horizon_days"] = days
    raw["run"]["warmup_days"] = min(raw["run"]["warmup_days"], days / 4)
    out = Path(args.out)
    if out.suffix != ".toml":
        from crmsim.errors import InputError

        raise InputError(f"--out {out}: give a scenario file name ending in .toml")
    sc = scenario_from_dict(raw, source=str(out))
    stem = out.with_suffix("")
    files = {"scenario": out, "estimates": Path(f"{stem}.estimates.csv"),
             "provenance": Path(f"{stem}.provenance.csv"), "exclusions": Path(f"{stem}.exclusions.csv")}
    if args.validate:
        files |= {"validation": Path(f"{stem}.validation.csv"), "report": Path(f"{stem}.validation.html")}
    from crmsim.outputs import claim_outputs

    claim_outputs(files.values())
    out.write_text(f"# Calibrated by crmsim calibrate on {args.history} ({start.date()}..{end.date()}).\n"
                   f"# Where every parameter came from: {files['provenance'].name}\n" + dump_resolved(sc),
                   encoding="utf-8")
    cal.estimates.to_csv(files["estimates"], index=False)
    cal.provenance.to_csv(files["provenance"], index=False)
    pd.concat([history.exclusions, history.channels.rename(columns={"value": "reason"}).assign(
        table="leads")[["table", "reason", "rows", "first_rows"]] if len(history.channels) else None]
    ).to_csv(files["exclusions"], index=False)
    print("\nwhere each parameter of the calibrated scenario came from:")
    print(_provenance_text(cal.provenance))
    counts = cal.provenance["source"].value_counts()
    print("  " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    for n in cal.notes:
        print(f"note: {n}")
    print("wrote " + ", ".join(str(f) for k, f in files.items() if k not in ("validation", "report")))
    if args.validate:
        from tqdm import tqdm

        bar = tqdm(total=args.validate, desc="time-split validation", unit="run", file=sys.stderr,
                   disable=not sys.stderr.isatty())
        val = split_validation(history, base.baseline, split=args.split, replications=args.validate,
                               base_set=base_set, progress=lambda i, n: bar.update(1))
        bar.close()
        table = val["table"]
        vfile = files["validation"]
        table.to_csv(vfile, index=False)
        from crmsim.report import render_html
        from crmsim.report.figures import split_validation_figure

        title = (f"crmsim calibrate: {args.history}, fitted on {start.date()}..{val['split'].date()}, "
                 f"checked on {val['split'].date()}..{val['end'].date()}")
        Path(f"{stem}.validation.html").write_text(
            render_html(title, [split_validation_figure(table), table.round(3).to_html(index=False)]),
            encoding="utf-8")
        print(f"\ntime split: fitted on {start.date()}..{val['split'].date()} only, simulated "
              f"{val['split'].date()}..{val['end'].date()} ({args.validate} replications) vs the history:")
        print(_validation_text(table))
        print(f"wrote {vfile} and {stem}.validation.html")
    return 0


def cmd_replay(args) -> int:
    from pydantic import ValidationError

    from crmsim.errors import InputError, read_toml, validation_message
    from crmsim.experiments.lead_history import load_lead_history, load_mapping
    from crmsim.leads.replay import ReplayRules, replay
    from crmsim.outputs import claim_outputs

    mapping = load_mapping(args.map)
    history = load_lead_history(args.history, mapping, deals=args.deals)
    print(history.summary())
    raw = read_toml(args.rules, "rules file")
    sets = raw.get("rules")
    if not isinstance(sets, dict) or not sets:
        raise InputError(f"{args.rules}: needs [rules.<name>] tables, e.g. [rules.proposed.scoring] "
                         "mql_threshold = 55")
    rules = {}
    for name, body in sets.items():
        try:
            rules[name] = ReplayRules.model_validate(body)
        except ValidationError as e:
            raise InputError(f"{args.rules}: rules.{name}: {validation_message(e)}") from None
    res = replay(history.table, rules, reps=args.reps, start=args.start, end=args.end)
    out = Path(args.out)
    files = claim_outputs([out / "replay_summary.csv", out / "replay_weekly.csv", out / "replay_leads.csv"])
    res.summary.to_csv(files[0], index=False)
    res.weekly.to_csv(files[1], index=False)
    res.leads.to_csv(files[2], index=False)
    print()
    print(res.text())
    print("wrote " + ", ".join(map(str, files)))
    return 0


def _validation_text(table) -> str:
    lines = []
    for r in table.itertuples():
        if r.historical != r.historical and r.simulated != r.simulated:
            continue
        rel = f"{r.rel_error:+.1%}" if r.rel_error == r.rel_error else "-"
        fmt = (lambda x: f"{x:.3f}") if r.metric == "conversion" else (lambda x: f"{x:,.1f}")
        lines.append(f"  {'PASS' if r.passed else 'FAIL'} {r.channel} {r.metric}: simulated {fmt(r.simulated)} vs "
                     f"history {fmt(r.historical)} [{fmt(r.hist_ci_low)}, {fmt(r.hist_ci_high)}] ({rel}; "
                     f"{r.n_leads} leads)")
    return "\n".join(lines)


def _price_input(path: str):
    """Order lines from CSV, Parquet or Excel with ``qty`` as numbers and ``date`` as dates; errors
    name the file, column and rows."""
    from crmsim.errors import InputError
    from crmsim.tables import date_column, quantity_column, read_table

    df = read_table(path, source=path)
    missing = [c for c in ("product_id", "qty") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing}; order lines need product_id and qty")
    try:
        df["qty"] = quantity_column(df, "qty", path)
    except ValueError as e:
        raise InputError(str(e)) from None
    if "date" in df.columns:
        df["date"] = date_column(df, "date", path)
    return df


def cmd_price(args) -> int:
    import pandas as pd

    from crmsim.cpq import apply_promotions, load_cpq, price_lines
    from crmsim.units import fmt, in_currency

    if args.amounts is None:     # a workbook is read by people: currency units; a CSV keeps the ledgers' cents
        args.amounts = "currency" if Path(args.out).suffix.lower() == ".xlsx" else "minor"

    def shown(t):
        return in_currency(t) if args.amounts == "currency" else t

    try:
        setup = load_cpq(args.setup)
        lines = _price_input(args.lines)
        priced = price_lines(lines, setup.catalog.frame(), setup.price_rules, policy=setup.pricing,
                             units=setup.catalog.units() if "unit" in lines.columns else None,
                             saleable=setup.saleable)
        out = Path(args.out)
        promos = setup.promotions and not args.no_promotions
        if promos:
            need = [c for c in ("order_id", "customer_id") if c not in priced.columns]
            if need:
                raise ValueError(f"{args.lines}: promotions need columns {need} (or pass --no-promotions)")
            ok = priced["amount"].notna().to_numpy()   # lines not saleable keep their reason, no promotion
            res = apply_promotions(priced[ok].assign(amount=priced.loc[ok, "amount"].astype("int64")),
                                   setup.promotions, policy=setup.promotion_policy,
                                   cost={p.product_id: p.cost for p in setup.catalog if p.cost is not None})
            table = pd.concat([res.lines, priced[~ok].assign(free=False)], ignore_index=True)
            extra = {"promotions": shown(res.applied), "skipped": shown(res.skipped)}
        else:
            table, extra = priced, {}
        if out.suffix.lower() == ".xlsx":     # one workbook: the priced lines, then what was given and not
            from crmsim.outputs import write_tables

            write_tables(out, {"priced": shown(table), **extra}, currency=args.currency)
        else:
            from crmsim.outputs import claim_outputs

            claim_outputs([out, *[out.with_suffix(f".{name}.csv") for name in extra]])
            for name, t in extra.items():
                t.to_csv(out.with_suffix(f".{name}.csv"), index=False)
            shown(table).to_csv(out, index=False)
    except (ValueError, KeyError, FileNotFoundError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    unpriced = int(priced["unit_price"].isna().sum())
    xlsx = Path(args.out).suffix.lower() == ".xlsx"

    def money(x) -> str:   # the set-up's prices are minor units: shown in currency units
        return fmt(float(x), "money_minor")

    print(f"{len(lines):,} lines priced by {len(setup.price_rules)} rules: amount {money(priced['amount'].sum())}"
          + (f"; {unpriced} not saleable" if unpriced else ""))
    if promos:
        print(f"promotions: {len(res.applied)} given, discount {money(res.applied['discount'].sum())}, "
              f"{int(res.applied['free_units'].sum())} free units, {len(res.skipped)} not given (see "
              f"{'its skipped sheet' if xlsx else out.with_suffix('.skipped.csv').name}); "
              f"net {money(table['net_amount'].sum())}")
    print(f"wrote {out}" + (f", {out.with_suffix('.promotions.csv')}" if promos and not xlsx else "")
          + (" (amounts in currency units)" if args.amounts == "currency" else
             " (amounts in minor units, as the set-up's prices; --amounts currency for currency units)"))
    return 0


def cmd_init(args) -> int:
    """Copy a starter project: the bundled scenarios and example exports (with their mapping
    files), so that ``cd DIR && crmsim run scenarios/funnel.toml`` works anywhere. Never
    overwrites: an existing file is an error naming it."""
    import shutil

    from crmsim.errors import InputError

    dest = Path(args.dir)
    plan = [(f, dest / "scenarios" / f.name) for f in sorted(_bundled("scenarios").glob("*.toml"))]
    plan += [(f, dest / "data" / "examples" / f.name) for f in sorted(_bundled("examples").iterdir()) if f.is_file()]
    starter = _bundled("examples") / "starter"    # policy.toml, data/customers.xlsx, start_here.ipynb
    plan += [(f, dest / f.relative_to(starter)) for f in sorted(starter.rglob("*")) if f.is_file()]
    if not plan:
        raise InputError("init: this crmsim installation has no bundled scenarios or examples")
    clash = [str(t) for _, t in plan if t.exists()]
    if clash:
        raise InputError(f"init: {len(clash)} file(s) already exist and are not overwritten (first: {clash[0]}); "
                         "choose an empty or new folder")
    for src, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    n_s = sum(1 for _, t in plan if t.parent.name == "scenarios")
    n_e = sum(1 for _, t in plan if t.parent.name == "examples")
    print(f"wrote {n_s} scenarios to {dest / 'scenarios'}, {n_e} example exports to {dest / 'data' / 'examples'}, "
          f"policy.toml with data/customers.xlsx, and start_here.ipynb\nnext: cd {dest} && crmsim run "
          f"scenarios/funnel.toml\n      crmsim reclaim data/customers.xlsx --policy policy.toml    # who goes back "
          f"to the pool\n      jupyter lab start_here.ipynb    # the rule on the table, then simulated, to a decision")
    return 0


def cmd_list(args) -> int:
    import tomllib

    dirs = [Path(args.dir)] if args.dir else _bundled_dirs()
    found = False
    for d in dirs:
        for f in sorted(d.glob("*.toml")):
            try:
                desc = tomllib.loads(f.read_text(encoding="utf-8")).get("description", "")
            except tomllib.TOMLDecodeError:
                desc = "(invalid TOML: run 'crmsim validate')"
            print(f"{str(f):<40} {desc}")
            found = True
    if not found:
        print("no scenario files found (looked in: " + ", ".join(map(str, dirs)) + ")", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crmsim", description="Simulate a sales-rule change before you make it.",
                                epilog="Exit codes: 0 ok, 1 some runs failed, 2 bad input or usage.")
    p.add_argument("--debug", action="store_true", help="show a traceback for input errors")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a scenario file and write results")
    r.add_argument("file")
    r.add_argument("--out", help="output folder (default results/<scenario name>/)")
    r.add_argument("--allow-large", action="store_true", help="run a scenario beyond the size limits "
                   "(2,000 variants, 100,000 runs, 3,660 days)")
    r.add_argument("--replications", type=int, help="override run.replications")
    r.add_argument("--seed", type=int, help="override run.base_seed")
    r.add_argument("--set", action="append", metavar="PATH=VALUE",
                   help="override any key by dotted path, e.g. baseline.reps.count=10 (repeatable)")
    r.add_argument("--jobs", type=int, default=0, help="worker processes (default: CPU count; 1 = serial)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--scheduler", metavar="ADDR",
                   help="run on Dask: a scheduler address (tcp://host:8786) or 'local' for a LocalCluster")
    r.add_argument("--target-ci", metavar="METRIC=HW",
                   help="add replications until every variant's 95%% CI of METRIC is within +/- HW")
    r.add_argument("--resume", action="store_true",
                   help="keep the replications already stored in the output folder; run the rest")
    r.set_defaults(func=cmd_run)
    rp = sub.add_parser("report", help="regenerate report.html of a run folder")
    rp.add_argument("run_dir")
    rp.set_defaults(func=cmd_report)
    rs = sub.add_parser("results", help="query stored runs with SQL (DuckDB); the table is 'runs'")
    rs.add_argument("action", choices=["query"])
    rs.add_argument("sql")
    rs.add_argument("--root", default="results", help="folder of run folders (default: results)")
    rs.set_defaults(func=cmd_results)
    v = sub.add_parser("validate", help="check scenario files without running them")
    v.add_argument("files", nargs="+")
    v.add_argument("--allow-large", action="store_true", help="accept scenarios beyond the size limits")
    v.set_defaults(func=cmd_validate)
    c = sub.add_parser("calibrate", help="fit the funnel, credit, pool, field or promotion scenario to your exports",
                       description="Fit a scenario to your own exports. Examples: crmsim calibrate mqls.csv --deals "
                                   "closed_deals.csv --map map.toml --out my_funnel.toml --validate 5;  crmsim "
                                   "calibrate --model credit --invoices invoices.csv --payments payments.csv "
                                   "--customers customers.csv --map credit_map.toml --out my_credit.toml --validate 10;  crmsim "
                                   "calibrate --model field --stores stores.csv --visits visits.csv --map field_map.toml "
                                   "--out my_field.toml --validate 5;  crmsim calibrate --model promo --lines order_lines.csv "
                                   "--map promo_map.toml --out my_promotions.toml --validate 5")
    c.add_argument("history", nargs="?", help="lead / MQL export (CSV or Parquet), for the funnel")
    c.add_argument("--model", choices=["funnel", "credit", "pool", "field", "promo"], default="funnel",
                   help="which simulation to fit (default funnel); credit reads --invoices, --customers, --payments; "
                        "pool reads --customers, --activities, --deals, --ownership; field reads --stores, --visits; "
                        "promo reads --lines")
    c.add_argument("--lines", help="promo: order lines (order_date, customer_id, product_id, qty, list_price and "
                                   "discount_pct / discount_amount / net_amount [, order_id, segment, category, "
                                   "promo_id, free, unit_cost])")
    c.add_argument("--holdout", help="promo: the past promotion (its id) the --validate check holds out (default: "
                                     "the last one with 12 weeks of log before it)")
    c.add_argument("--stores", help="field: stores (customer_id, lat, lon [, grade, owner_id])")
    c.add_argument("--visits", help="field: visit / check-in log (rep_id, customer_id, checkin_at [, checkout_at, "
                                    "status, planned_at, visit_type]); statuses in the map's [statuses]")
    c.add_argument("--activities", help="pool: follow-ups (customer_id, followup_at)")
    c.add_argument("--ownership", help="pool: owner-change log (customer_id, changed_at, owner_id [, action]) or "
                                       "intervals (customer_id, owner_id, owned_from, owned_to)")
    c.add_argument("--invoices", help="credit: invoices / receivables (invoice_id, customer_id, amount, issued_at, "
                                      "due_at [, paid_at])")
    c.add_argument("--customers", help="credit: customers (customer_id, grade [, credit_limit, defaulted_at]); "
                                       "pool: accounts (customer_id [, grade, region, lost_at])")
    c.add_argument("--payments", help="credit: payments (invoice_id, paid_at, amount)")
    c.add_argument("--dunning", help="credit: reminders sent (invoice_id, dunned_at); fits the dunning cadence and "
                                     "effect")
    c.add_argument("--map", help="TOML mapping: [columns] (crmsim name = export column); for the funnel also "
                                 "[statuses] or default_status, [channel_map], [deals] (required for the funnel)")
    c.add_argument("--deals", help="funnel: deals table joined by lead id (or [deals] file in the mapping); "
                                   "pool: deals (customer_id, deal_at [, amount, won])")
    c.add_argument("--out", required=True, help="scenario file to write (.toml); estimates, provenance and "
                                                "exclusions CSVs are written next to it")
    c.add_argument("--base", help="scenario whose rules to keep (default: the bundled scenarios/funnel.toml, "
                                  "credit_policy.toml, pool_reclamation.toml, field_visits.toml or promotions.toml)")
    c.add_argument("--start", help="first day of the history to use (default: first lead)")
    c.add_argument("--end", help="day after the last creation day to use (default: after the last lead)")
    c.add_argument("--observed-until", help="outcomes known until this day (default: --end if given, else "
                                            "the day after the last date of any kind in the history)")
    c.add_argument("--validate", type=int, default=0, metavar="N",
                   help="time-split check: fit on the first part only, simulate the rest N times, compare")
    c.add_argument("--split", type=float, default=2 / 3, help="share of the history to fit on in the "
                                                               "time split (default 2/3)")
    c.add_argument("--jobs", type=int, default=0, help="(unused by calibrate; kept for compatibility)")
    c.set_defaults(func=cmd_calibrate)
    rp = sub.add_parser("replay", help="replay lead rules (MQL threshold, assignment, recycling) on your history",
                        description="What would a rule have done to the leads you had? Example: crmsim replay "
                                    "mqls.csv --map map.toml --rules rules.toml --reps 8 --out replay/")
    rp.add_argument("history", help="lead / MQL export (CSV or Parquet)")
    rp.add_argument("--map", required=True, help="TOML mapping, as for calibrate")
    rp.add_argument("--deals", help="deals table joined by lead id (or [deals] file in the mapping)")
    rp.add_argument("--rules", required=True, help="TOML with [rules.<name>] tables: scoring, assignment, recycle")
    rp.add_argument("--reps", type=int, required=True, help="number of reps the MQLs are assigned to")
    rp.add_argument("--start", help="first creation day replayed")
    rp.add_argument("--end", help="day after the last one replayed")
    rp.add_argument("--out", required=True, help="folder for replay_summary.csv, replay_weekly.csv, replay_leads.csv")
    rp.set_defaults(func=cmd_replay)
    pr = sub.add_parser("price", help="price order lines through a CPQ set-up (price books, promotions)")
    pr.add_argument("lines", help="order lines (CSV or Parquet): product_id, qty [, unit, date, order_id, "
                                  "customer_id, customer_grade, region, channel, ...]")
    pr.add_argument("--setup", required=True, help="CPQ set-up TOML (see data/examples/cpq_setup.toml)")
    pr.add_argument("--out", required=True, help="priced lines CSV (explanation per line; promotions and skipped "
                                                 "next to it) or NAME.xlsx (one sheet each)")
    pr.add_argument("--no-promotions", action="store_true", help="price books only")
    pr.add_argument("--amounts", choices=("minor", "currency"), default=None,
                    help="write money columns in integer minor units (cents, as the set-up's prices; the default "
                         "for CSV) or in currency units with decimals (the default for --out NAME.xlsx)")
    pr.add_argument("--currency", default="", help="currency shown on money in Excel output (e.g. EUR)")
    pr.set_defaults(func=cmd_price)
    it = sub.add_parser("init", help="copy a starter project (bundled scenarios, example exports and their "
                                     "mappings) into a new folder")
    it.add_argument("dir", help="the folder to create (existing files are never overwritten)")
    it.set_defaults(func=cmd_init)
    ls = sub.add_parser("list", help="list bundled scenarios with their description")
    ls.add_argument("dir", nargs="?", help="folder to list (default: ./scenarios and the bundled ones)")
    ls.set_defaults(func=cmd_list)
    from crmsim.shell import (
        add_commands,  # reclaim, ageing, writeoff, score, assign, dedup on exports
    )

    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """The ``crmsim`` command: parse ``argv`` (default: the command line), run the command and
    return its exit code (0 done, 2 bad input or usage, the message printed instead of a
    traceback).

    Examples
    --------
    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()) as out:
    ...     code = main(["list"])
    >>> code, "credit_policy.toml" in out.getvalue()
    (0, True)
    """
    args = build_parser().parse_args(argv)
    from crmsim.errors import CrmsimError  # scenario and table errors are CrmsimErrors too

    try:
        return args.func(args)
    except CrmsimError as e:
        if getattr(args, "debug", False):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:   # the reader went away (crmsim list | head): not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (no second error when Python flushes at exit)
        return 0
    except OSError as e:   # a full disk, a folder that cannot be written, a file that vanished
        if getattr(args, "debug", False):
            raise
        where = f": {e.filename}" if e.filename else ""
        hint = (" Nothing stored so far is lost: free the space or fix the permission, then rerun with --resume "
                "to continue the run." if args.func is cmd_run else "")
        print(f"error: {e.strerror or e}{where}.{hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
