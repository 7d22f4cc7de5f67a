"""Table rules from the shell: ``crmsim reclaim | ageing | writeoff | score | assign | dedup``.

Each command reads the user's export (CSV, Parquet or Excel, ``book.xlsx#Sheet``), renames its
columns by a mapping (``[columns]``: crmsim name = export column, the format ``crmsim calibrate``
reads; in ``--map FILE`` or in the rule file itself), converts the columns the rule reads (dates,
amounts in currency units, yes/no flags, numbers) row by row, and sets every row it cannot use
aside in a ``quarantine`` table with the export's row number and the reason, instead of failing
the whole file. The rule is read from a TOML file in the format a scenario uses: a scenario file
(its baseline's rule, or ``--variant`` for one of its sweep's variants), a file with the rule's
section (``[policy]``, ``[scoring]``, ``[assignment]``, ``[dedup]``, ``[dunning]``), or the rule's
keys at the top, so that a rule tried on a table is the rule simulated. The domain rules do the
work (DESIGN principle 1); this module only reads, converts, explains and writes.

Results go to a folder of CSV files or, with ``--out NAME.xlsx``, one workbook with a sheet per
table (money in currency units, formatted with the currency); crmsim never overwrites a file it
did not write (:mod:`crmsim.outputs`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Col", "Loaded", "load_export", "load_rule", "add_commands"]

#: how a converted column is read: ``id`` (text, required per row), ``text``, ``date`` (the day),
#: ``datetime`` (the day and the time of day), ``money``
#: (currency units with any thousands separator or sign, to integer minor units), ``number``,
#: ``flag`` (yes/no, true/false, 1/0; blank = no)
KINDS = ("id", "text", "date", "datetime", "money", "number", "flag")
#: how the ids a merged record absorbed are written in one cell of the merged table
ID_SEP = " | "


@dataclass(frozen=True)
class Col:
    """A column a command reads: crmsim's ``name``, its ``kind`` (:data:`KINDS`), whether the
    table must have it, whether a row must have a value (``ids`` always do), whether values must
    be unique (later repeats are quarantined) and whether negative amounts are refused.

    Examples
    --------
    >>> c = Col("amount", "money", required=True, non_negative=True)
    >>> c.kind, c.required, c.non_negative
    ('money', True, True)
    """

    name: str
    kind: str = "text"
    required: bool = False
    filled: bool = False
    unique: bool = False
    non_negative: bool = False


@dataclass
class Loaded:
    """A read export: ``table`` (crmsim's column names, converted, the rows that can be used, with
    ``source_row``: the row number in the file, header = 1) and ``quarantine`` (the rows set aside,
    in the export's own columns, with ``source_row`` and ``reason``).

    Examples
    --------
    >>> import pandas as pd
    >>> export = pd.DataFrame({"Customer": ["K1", "K2", ""], "Balance": ["1,200.50", "oops", "3"]})
    >>> ld = load_export(export, "customers", [Col("customer_id", "id"), Col("open", "money")], {"customer_id": "Customer", "open": "Balance"})
    >>> ld.table[["customer_id", "open", "source_row"]].values.tolist(), ld.quarantine["reason"].tolist()
    ([['K1', 120050, 2]], ["'Balance' (open): 'oops' is not an amount", "'Customer' (customer_id): blank"])
    """

    table: object
    quarantine: object


def _input_error(msg: str):
    from crmsim.errors import InputError

    return InputError(msg)


def read_columns_map(path) -> dict[str, str]:
    """``[columns]`` of a mapping TOML (crmsim name = export column), checked."""
    from crmsim.errors import read_toml

    if not path:
        return {}
    cols = read_toml(path, "mapping file").get("columns", {})
    if not isinstance(cols, dict) or not all(isinstance(v, str) for v in cols.values()):
        raise _input_error(f"{path}: [columns] must map crmsim names to export column names (strings)")
    return cols


def load_export(src, what: str, cols: list[Col], columns: dict[str, str] | None = None) -> Loaded:
    """Read ``src`` (a path or a DataFrame) as table ``what``: rename by ``columns`` (crmsim name
    -> export column; entries for other tables' columns are ignored), check the ``required``
    columns, convert each declared column and quarantine the rows that cannot be used (see the
    module docstring). Columns nobody declared are kept as they are (text).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"No": ["1", "2", "2", ""], "Due": ["2025-01-31", "31.01.2025", "x", "2025-02-01"],
    ...                     "Amt": ["1,200.50", "80", "9", "5"]})
    >>> got = load_export(raw, "invoices", [Col("invoice_id", "id", unique=True), Col("due_at", "date"),
    ...                   Col("amount", "money", required=True)], {"invoice_id": "No", "due_at": "Due", "amount": "Amt"})
    >>> got.table[["invoice_id", "amount"]].values.tolist()
    [['1', 120050], ['2', 8000]]
    >>> got.quarantine[["source_row", "reason"]].values.tolist()
    [[4, "'No' (invoice_id): 2 also at row 3; 'Due' (due_at): 'x' is not a date"], [5, "'No' (invoice_id): blank"]]
    """
    import numpy as np
    import pandas as pd

    from crmsim.pipeline.history import parse_amount
    from crmsim.tables import need_columns, parse_dates, parse_flags, read_table

    raw = read_table(src, source=f"{what} table" + ("" if isinstance(src, pd.DataFrame) else f" ({src})"))
    columns = {crm: exp.strip() for crm, exp in (columns or {}).items()}
    names = {crm: exp for crm, exp in columns.items() if exp in raw.columns}
    for crm, exp in names.items():
        if crm != exp and crm in raw.columns and crm not in columns.values():
            raise _input_error(f"{what} table: has both '{crm}' and '{exp}', which the mapping reads as "
                               f"'{crm}'; drop one or map another column")
    # one export column may be read under several names (a map shared by tables: 'Date' is the
    # invoices' issue date and the payments' payment date)
    mapped = {exp for crm, exp in names.items() if crm != exp}
    df = raw.drop(columns=[c for c in mapped if c not in names])
    for crm, exp in names.items():
        df[crm] = raw[exp]
    order: list[str] = []
    for c in raw.columns:        # crmsim's names where the export had the column
        order += [crm for crm, exp in names.items() if exp == c and crm not in order] or ([c] if c in df.columns else [])
    df = df[list(dict.fromkeys(order))]
    need_columns(df, [c.name for c in cols if c.required], what, columns)
    shown = {c.name: f"'{names[c.name]}' ({c.name})" if c.name in names and names[c.name] != c.name
             else f"'{c.name}'" for c in cols}
    reasons = [[] for _ in range(len(df))]

    def flag_rows(bad, template: str, values=None):
        """Add ``template`` (``{v}``: the row's value in ``values``) to each bad row's reasons."""
        for k in np.flatnonzero(np.asarray(bad)):
            reasons[k].append(template.replace("{v}", "" if values is None else str(values.iloc[k])))

    out = df.copy()
    for c in cols:
        if c.name not in df.columns:
            continue
        s = df[c.name]
        numeric = c.kind in ("money", "number") and pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if numeric:             # read as numbers already: nothing to parse
            txt = None
            blank = s.isna().to_numpy()
        else:
            txt = s.astype("string").str.strip()
            blank = (txt.isna() | (txt == "")).to_numpy()
        if c.kind in ("id", "text"):
            out[c.name] = txt.mask(pd.Series(blank, index=txt.index)).astype("object")
            out.loc[blank, c.name] = None
        elif c.kind in ("date", "datetime"):
            d, bad = parse_dates(s)
            flag_rows(bad, f"{shown[c.name]}: '{{v}}' is not a date", s)
            out[c.name] = pd.to_datetime(d).dt.normalize() if c.kind == "date" else pd.to_datetime(d)
        elif c.kind in ("money", "number"):
            if numeric:
                v = s.astype("float64")
            else:
                v = pd.to_numeric(txt, errors="coerce").astype("float64")
                if c.kind == "money":   # "$1,234.50", "1.234,50 EUR", "12k": read one by one
                    odd = v.isna().to_numpy() & ~blank
                    if odd.any():
                        v[odd] = [parse_amount(x) for x in s[odd].tolist()]
            bad = v.isna().to_numpy() & ~blank | ~np.isfinite(v.fillna(0).to_numpy())
            flag_rows(bad, f"{shown[c.name]}: '{{v}}' is not {'an amount' if c.kind == 'money' else 'a number'}", s)
            if c.non_negative:
                neg = (v < 0).fillna(False).to_numpy()
                flag_rows(neg, f"{shown[c.name]}: negative ({{v}}); a credit note or a refund is not taken here", s)
            if c.kind == "money":
                from crmsim.finance.writeoff import to_cents

                ok = v.notna().to_numpy() & np.isfinite(v.fillna(0).to_numpy())
                cents = to_cents(np.where(ok, v.fillna(0).to_numpy(), 0))
                out[c.name] = pd.array(np.where(ok, cents, 0), dtype="int64") if ok.all() else \
                    pd.array([int(x) if k else None for k, x in zip(ok, cents)], dtype="Int64")
            else:
                out[c.name] = v
        elif c.kind == "flag":
            yes, bad = parse_flags(s)
            flag_rows(bad & ~blank, f"{shown[c.name]}: '{{v}}' is not yes/no (true/false, 1/0)", s)
            out[c.name] = yes
        if c.kind == "id" or c.filled:
            flag_rows(blank, f"{shown[c.name]}: blank")
        if c.unique:
            ids = out[c.name]
            dup = ids.duplicated(keep="first").to_numpy() & ~blank
            if dup.any():
                first = {v: k for k, v in reversed(list(enumerate(ids.tolist())))}
                at = pd.Series([f"{v} also at row {first[v] + 2}" if d else "" for v, d in zip(ids.tolist(), dup)])
                flag_rows(dup, f"{shown[c.name]}: {{v}}", at)
    bad = np.array([bool(r) for r in reasons], dtype=bool)
    row = np.arange(len(df)) + 2
    table = out[~bad].assign(source_row=row[~bad]).reset_index(drop=True)
    quarantine = raw[bad].assign(source_row=row[bad], reason=["; ".join(r) for r in reasons if r]).reset_index(drop=True)
    return Loaded(table, quarantine)


def load_rule(path, cls, section: str, *, variant: str | None = None, extra_sections=()) -> tuple[object, dict]:
    """The rule of class ``cls`` from a TOML file (see the module docstring) and the file's other
    sections (``columns``, and any of ``extra_sections``, e.g. ``pools``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "policy.toml"
    >>> _ = p.write_text('[columns]\\nowner_id = "Owner"\\n\\n[policy]\\nrules = [{kind = "no_followup", limit_days = 45}]\\n')
    >>> from crmsim.customers.pool import ReclaimPolicy
    >>> rule, other = load_rule(p, ReclaimPolicy, "policy")
    >>> rule.rules[0].limit_days, other["columns"]
    (45, {'owner_id': 'Owner'})
    """
    from pydantic import ValidationError

    from crmsim.errors import read_toml, validation_message

    doc = read_toml(path, "rule file")
    if "model" in doc and "baseline" in doc:   # a scenario: the rule it simulates
        from crmsim.experiments import load_scenario
        from crmsim.experiments.scenario import variants

        sc = load_scenario(path)
        cfg = sc.baseline
        if variant:
            vs = variants(sc, source=str(path))
            hit = [v for v in vs if variant in (v.name, v.label)]
            if not hit:
                raise _input_error(f"{path}: no variant '{variant}'; variants are {[v.label for v in vs]}")
            cfg = hit[0].config
        if not hasattr(cfg, section):
            raise _input_error(f"{path}: a '{sc.model}' scenario has no {section} rule; give a file with [{section}] "
                               f"or a scenario of a model that has one")
        rule = getattr(cfg, section)
        extras = {k: getattr(cfg, k) for k in extra_sections if hasattr(cfg, k)}
        return rule, {"columns": doc.get("columns", {}), **extras}
    if variant:
        raise _input_error(f"{path}: --variant needs a scenario file (with model and [baseline])")
    known = {"columns", *extra_sections}
    body = doc[section] if section in doc else {k: v for k, v in doc.items() if k not in known}
    where = f"[{section}]" if section in doc else "(top level)"
    if not isinstance(body, dict):
        raise _input_error(f"{path}: {section} must be a table of settings, got {type(body).__name__}")
    try:
        rule = cls.model_validate(body)
    except ValidationError as e:
        raise _input_error(f"{path}: {where}: {validation_message(e)}") from None
    return rule, {k: doc[k] for k in known if k in doc}


def _columns(args, sections: dict) -> dict[str, str]:
    if getattr(args, "map", None):
        return read_columns_map(args.map)
    cols = sections.get("columns") or {}
    if not isinstance(cols, dict) or not all(isinstance(v, str) for v in cols.values()):
        raise _input_error(f"{args.rules if hasattr(args, 'rules') else 'rule file'}: [columns] must map crmsim names "
                           "to export column names (strings)")
    return cols


def _as_of(args, default=None):
    import pandas as pd

    if args.as_of:
        t = pd.to_datetime(args.as_of, errors="coerce")
        if pd.isna(t):
            raise _input_error(f"--as-of {args.as_of!r}: expected a date (2025-06-30)")
        return t.normalize(), "given"
    if default is not None:
        return pd.Timestamp(default).normalize(), "the day after the export's last date"
    return pd.Timestamp.today().normalize(), "today; --as-of DATE to choose"


def _out(args, stem: str) -> Path:
    if args.out:
        return Path(args.out)
    src = Path(str(args.table).split("#")[0]).stem
    return Path("results") / f"{stem}-{src}"


def _write(args, stem: str, tables: dict, quarantine: dict, notes: list[str], currency: str) -> None:
    """Write the result tables, one quarantine table (per input, with the input named) and the
    notes; print where and what was set aside."""
    import pandas as pd

    from crmsim.outputs import write_tables
    from crmsim.units import in_currency

    q = [t.assign(input=name)[["input", "source_row", "reason", *[c for c in t.columns if c not in
                                                                ("source_row", "reason")]]]
         for name, t in quarantine.items() if len(t)]
    qt = pd.concat(q, ignore_index=True) if q else pd.DataFrame(columns=["input", "source_row", "reason"])
    shown = {k: in_currency(v) for k, v in tables.items()}
    shown["quarantine"] = qt
    shown["notes"] = pd.DataFrame({"note": notes})
    files = write_tables(_out(args, stem), shown, currency=currency)
    for name, t in quarantine.items():
        if len(t):
            first = t.iloc[0]
            print(f"set aside from {name}: {len(t):,} row(s), first row {first['source_row']}: {first['reason']}")
    for n in notes:
        print(f"note: {n}")
    where = files[0] if len(files) == 1 else files[0].parent
    print(f"wrote {where}" + ("" if len(files) == 1 else f" ({', '.join(f.name for f in files)})"))


def _money(currency: str):
    """Minor units as a receivables clerk reads them: to the cent, with the currency (the metric
    format of :func:`crmsim.units.fmt` rounds large amounts to whole units)."""
    return lambda x: f"{x / 100:,.2f}" + (f" {currency}" if currency else "")


def _guard(fn):
    """Run a command; a rule's KeyError / ValueError about the data becomes one named error line."""
    def run(args) -> int:
        try:
            return fn(args)
        except (KeyError, ValueError) as e:
            from crmsim.errors import CrmsimError

            if isinstance(e, CrmsimError):
                raise
            msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
            raise _input_error(f"{args.cmd} {args.table}: {msg}") from None
    run.__doc__ = fn.__doc__
    return run


# ---------------------------------------------------------------------------------------- reclaim

_CUSTOMER_COLS = [Col("customer_id", "id", required=True, unique=True), Col("owner_id"), Col("grade"),
                  Col("region"), Col("received_at", "date"), Col("last_followup_at", "date"),
                  Col("last_deal_at", "date"), Col("last_opportunity_at", "date"), Col("contract_end_at", "date"),
                  Col("locked", "flag"), Col("deal_closed", "flag"), Col("followup_plan_active", "flag"),
                  Col("open_opportunities", "number")]


def _status(ev, customers) -> list[str]:
    out = []
    for due, rule, d, ex, own in zip(ev["due"], ev["rule"], ev["days_until"], ev["exempt"], customers["owner_id"]):
        if own is None or own != own:
            out.append("in the pool")
        elif ex is not None and ex == ex:
            out.append(f"exempt: {ex}")
        elif due:
            out.append(f"due: {rule}")
        elif d != d:
            out.append("no rule can fire")
        else:
            out.append(f"due in {int(d)} day(s)")
    return out


def cmd_reclaim(args) -> int:
    """Who goes back to the public pool at the reclaim job of ``--as-of``, by which rule; who is
    close (the reminder), who is exempt and why."""
    import pandas as pd

    from crmsim.customers.pool import ReclaimPolicy, pool_for
    from crmsim.customers.replay import fill_exemptions

    policy, sections = load_rule(args.rules, ReclaimPolicy, "policy", variant=args.variant, extra_sections=("pools",))
    columns = _columns(args, sections)
    notes: list[str] = []
    quarantine = {}
    history_mode = bool(args.activities or args.ownership or args.deals)
    if history_mode:
        from crmsim.customers import pool_history
        from crmsim.customers.replay import state_at
        from crmsim.tables import read_table

        if not args.activities:
            raise _input_error("reclaim with a history needs --activities (follow-ups), and --ownership (the owner-change "
                               "log) unless the customers table has owner_id and received_at")
        t = {k: read_table(getattr(args, k), source=f"{k} table ({getattr(args, k)})")
             for k in ("activities", "deals", "ownership") if getattr(args, k)}
        cust = read_table(args.table, source=f"customers table ({args.table})")
        deals = t.get("deals")
        if deals is None:
            deals = pd.DataFrame(columns=[columns.get("customer_id", "customer_id"), columns.get("deal_at", "deal_at")])
            notes.append("no --deals: no customer has a deal (the deal exemption and no_deal rule see none)")
        h = pool_history(cust, t["activities"], deals, t.get("ownership"), columns=columns)
        for r in h.exclusions.itertuples():
            notes.append(f"excluded from {r.table}: {r.rows} row(s), {r.reason}" + (f" (first: {r.first})" if r.first else ""))
        notes.extend(h.notes)
        today, how = _as_of(args, h.end + pd.Timedelta(days=1))
        owned_now = state_at(h, today)
        rest = h.customers[~h.customers["customer_id"].isin(owned_now["customer_id"])]
        customers = pd.concat([owned_now, rest.assign(owner_id=None)[[c for c in owned_now.columns if c in
                                                                    rest.columns or c == "owner_id"]]],
                              ignore_index=True)
        notes.append(f"state rebuilt from the history ({h.start.date()}..{h.end.date()}): {len(customers):,} customers "
                     f"({len(owned_now):,} owned) at the job of {today.date()}")
    else:
        got = load_export(args.table, "customers", _CUSTOMER_COLS, columns)
        customers, quarantine = got.table, {"customers": got.quarantine}
        if "owner_id" not in customers.columns:
            raise _input_error(f"customers table ({args.table}): no 'owner_id' column (map yours with [columns] owner_id = "
                               "\"...\"), or give the history: --activities, --ownership, --deals")
        dates = [customers[c].max() for c in ("received_at", "last_followup_at", "last_deal_at", "last_opportunity_at")
                 if c in customers.columns and customers[c].notna().any()]
        today, how = _as_of(args, max(dates) + pd.Timedelta(days=1) if dates else None)
        if not args.as_of and dates and (pd.Timestamp.today().normalize() - today).days > 7:
            notes.append(f"the export's latest date is {max(dates).date()}: judged as at the job of {today.date()}, "
                         "not today; pass --as-of to choose the day")
        if "deal_closed" not in customers.columns and "last_deal_at" in customers.columns:
            customers["deal_closed"] = customers["last_deal_at"].notna()
            notes.append("deal_closed read from last_deal_at (a customer with a deal date has closed a deal)")
        elif "deal_closed" not in customers.columns and not policy.reclaim_closed:
            customers["deal_closed"] = False
            notes.append("no 'deal_closed' or 'last_deal_at' column: no customer is treated as having closed a deal")
    n = len(customers)
    extra: set[str] = set()
    customers = fill_exemptions(customers, policy, extra)
    notes.extend(sorted(extra))
    ev = policy.evaluate(customers, today)
    res = customers[[c for c in ("customer_id", "owner_id", "grade", "region") if c in customers.columns]].copy()
    if "source_row" in customers.columns:
        res.insert(0, "source_row", customers["source_row"])
    res = res.join(ev[["due", "rule", "days_until", "remind", "exempt"]])
    res["status"] = _status(ev, customers)
    pools = sections.get("pools")
    if pools:
        from crmsim.customers.pool import Pool

        pools = tuple(p if isinstance(p, Pool) else Pool.model_validate(p) for p in pools)
        if "region" in customers.columns or all(not p.regions for p in pools):
            res.loc[res["due"], "pool_id"] = pool_for(customers[res["due"].to_numpy()], pools).to_numpy()
        else:
            notes.append("pools route by region but the customers table has no region: pool_id not given")
    due = res[res["due"]].drop(columns=["due", "remind", "exempt", "status"])
    due.insert(due.columns.get_loc("days_until"), "days_over_limit", 1 - due["days_until"])
    due = due.drop(columns=["days_until"])
    remind = res[res["remind"]].drop(columns=["due", "rule", "exempt", "status"])
    owned = int(res["owner_id"].notna().sum())
    ex = res["exempt"].value_counts()
    print(f"reclaim job of {today.date()} ({how}), {len(policy.active_rules)} rule(s): "
          + ", ".join(r.name for r in policy.active_rules) + f" ({policy.combine})")
    print(f"{n:,} customers, {owned:,} owned: {len(due):,} due tonight, {len(remind):,} within "
          f"{policy.remind_days} day(s) (remind the owner), {int(ex.sum()):,} exempt"
          + (" (" + ", ".join(f"{k} {v}" for k, v in ex.items()) + ")" if len(ex) else ""))
    if len(due):
        by_rule = due["rule"].value_counts()
        print("  by rule: " + ", ".join(f"{k} {v}" for k, v in by_rule.items()))
        if "owner_id" in due.columns:
            top = due["owner_id"].value_counts().head(5)
            print("  most from: " + ", ".join(f"{k} {v}" for k, v in top.items()))
    res["days_until"] = res["days_until"].astype("Float64")
    _write(args, "reclaim", {"due": due, "reminders": remind, "customers": res}, quarantine, notes, args.currency)
    return 0


# ------------------------------------------------------------------------ receivables and payments

_INVOICE_COLS = [Col("invoice_id", "id", required=True, unique=True), Col("customer_id", "id", required=True),
                 Col("amount", "money", required=True, filled=True, non_negative=True),
                 Col("open", "money", non_negative=True), Col("due_at", "date", filled=True),
                 Col("issued_at", "date"), Col("last_level", "number"), Col("last_sent_at", "date")]
_PAYMENT_COLS = [Col("payment_id", "id", unique=True), Col("customer_id"), Col("invoice_id"), Col("ref"),
                 Col("paid_at", "date"), Col("amount", "money", required=True, filled=True, non_negative=True)]


def _receivables(path, columns, notes, today=None):
    """Invoices as receivables (``receivable_id`` = the invoice id), without those issued after
    ``today`` (counted in ``notes``)."""
    got = load_export(path, "invoices", _INVOICE_COLS, columns)
    rec = got.table
    if "due_at" not in rec.columns:
        if "issued_at" not in rec.columns:
            raise _input_error(f"invoices table ({path}): needs due_at (or issued_at, then due on issue); map yours with "
                               "[columns] due_at = \"...\"")
        rec["due_at"] = rec["issued_at"]
        notes.append("no due date column: each invoice is due on its issue date")
    if today is not None and "issued_at" in rec.columns:
        later = (rec["issued_at"] > today).to_numpy()
        if later.any():
            notes.append(f"{int(later.sum()):,} invoice(s) issued after {today.date()} left out (first: "
                         f"{', '.join(rec.loc[later, 'invoice_id'].head(3))})")
            rec = rec[~later].reset_index(drop=True)
    rec = rec.rename(columns={"invoice_id": "receivable_id"})
    return rec[["receivable_id", *[c for c in rec.columns if c != "receivable_id"]]], got.quarantine


def _payments(path, columns, rec, notes, today=None):
    """Payments: ``ref`` is the invoice they name (``ref`` or ``invoice_id``); a payment without a
    customer id takes its invoice's; without an id it is ``P<row>``; those after ``today`` are
    left out (counted)."""
    got = load_export(path, "payments", _PAYMENT_COLS, columns)
    pay = got.table
    if today is not None and "paid_at" in pay.columns:
        later = (pay["paid_at"] > today).to_numpy()
        if later.any():
            notes.append(f"{int(later.sum()):,} payment(s) dated after {today.date()} left out")
            pay = pay[~later].reset_index(drop=True)
    if "ref" not in pay.columns and "invoice_id" in pay.columns:
        pay = pay.rename(columns={"invoice_id": "ref"})
    if "payment_id" not in pay.columns:
        pay.insert(0, "payment_id", "P" + pay["source_row"].astype(str))
        notes.append("no payment id column: payments are named P<row> by their row in the payments file")
    if "customer_id" not in pay.columns:
        pay["customer_id"] = None
    if "ref" in pay.columns:
        owner = rec.set_index("receivable_id")["customer_id"]
        blank = pay["customer_id"].isna()
        pay.loc[blank, "customer_id"] = pay.loc[blank, "ref"].map(owner)
        took = int((blank & pay["customer_id"].notna()).sum())
        if took:
            notes.append(f"{took:,} payment(s) without a customer id take the customer of the invoice they name")
        left = int(pay["customer_id"].isna().sum())
        if left:
            notes.append(f"{left:,} payment(s) have no customer id and name no known invoice: unidentified "
                         f"(first: {', '.join(pay.loc[pay['customer_id'].isna(), 'payment_id'].astype(str).head(3))})")
    return pay[["payment_id", *[c for c in pay.columns if c != "payment_id"]]].reset_index(drop=True), got.quarantine


def _passes(args):
    from crmsim.finance.writeoff import PASSES

    passes = tuple(p.strip() for p in args.passes.split(",") if p.strip())
    bad = [p for p in passes if p not in PASSES]
    if bad or not passes:
        raise _input_error(f"--passes {args.passes!r}: expected a comma-separated list of {list(PASSES)}")
    return passes


def cmd_writeoff(args) -> int:
    """Payments allocated to open invoices (by reference, exact amount, oldest first): what each
    payment paid, what is left open, over-payments and payments nobody can place."""
    from crmsim.finance.writeoff import allocate

    columns = read_columns_map(args.map)
    notes: list[str] = []
    rec, q_rec = _receivables(args.receivables, columns, notes)
    pay, q_pay = _payments(args.table, columns, rec, notes)
    res = allocate(pay, rec, passes=_passes(args))
    al = res["allocations"]
    r = res["receivables"]
    money = _money(args.currency)
    print(f"{len(pay):,} payments ({money(pay['amount'].sum())}) against {len(rec):,} invoices "
          f"({money(r['amount'].sum())}, {money(r['allocated'].sum() + r['open'].sum())} open before)")
    for name, g in al.groupby("pass", sort=False):
        print(f"  {name:<10} {len(g):>7,} allocation(s)  {money(g['amount'].sum())}")
    print(f"open after: {money(r['open'].sum())} on {int((r['open'] > 0).sum()):,} invoices; over-paid (prepayments) "
          f"{money(res['prepayments']['prepayment'].sum())}; unidentified {len(res['unidentified']):,} payment(s) "
          f"{money(res['unidentified']['unallocated'].sum())}")
    out = {k: v.rename(columns={"receivable_id": "invoice_id"}) for k, v in res.items()}
    out["prepayments"] = out["prepayments"].rename(columns={"prepayment": "amount"})
    out["unidentified"] = out["unidentified"]
    _write(args, "writeoff", out, {"payments": q_pay, "invoices": q_rec}, notes, args.currency)
    return 0


def cmd_ageing(args) -> int:
    """Open invoices by days past due on ``--as-of``, per customer; with ``--payments``, the
    payments up to that day are allocated first; with ``--rules`` (a dunning policy), the
    reminder, level, fee and interest of every open invoice."""
    import numpy as np
    import pandas as pd

    from crmsim.finance.ageing import (
        DEFAULT_BUCKETS,
        DunningPolicy,
        _bucket,
        ageing,
        bucket_labels,
        dunning,
    )

    columns = read_columns_map(args.map)
    notes: list[str] = []
    policy = None
    if args.rules:
        policy, sections = load_rule(args.rules, DunningPolicy, "dunning")
        columns = columns or _columns(args, sections)
    today, how = _as_of(args)
    rec, q_rec = _receivables(args.table, columns, notes, today)
    quarantine = {"invoices": q_rec}
    if args.payments:
        from crmsim.finance.writeoff import allocate

        pay, q_pay = _payments(args.payments, columns, rec, notes, today)
        quarantine["payments"] = q_pay
        res = allocate(pay, rec, passes=_passes(args))
        rec = res["receivables"]
    elif "open" not in rec.columns:
        notes.append("no open-amount column and no --payments: every invoice is taken as wholly open")
    if "open" not in rec.columns:
        rec["open"] = rec["amount"]
    rec["open"] = rec["open"].fillna(rec["amount"]).astype("int64")
    edges = DEFAULT_BUCKETS
    if args.buckets:
        try:
            edges = tuple(int(x) for x in args.buckets.split(","))
        except ValueError:
            raise _input_error(f"--buckets {args.buckets!r}: expected whole days, e.g. 0,30,60,90") from None
        if list(edges) != sorted(set(edges)) or edges[0] < 0:
            raise _input_error(f"--buckets {args.buckets!r}: expected increasing days >= 0")
    open_ = rec[rec["open"] > 0].reset_index(drop=True)
    dpd = np.ceil(((today - open_["due_at"]) / pd.Timedelta(days=1)).to_numpy(float))
    labels = np.array(bucket_labels(edges))
    items = open_[["receivable_id", "customer_id", "due_at", "amount", "open"]].rename(
        columns={"receivable_id": "invoice_id"}).assign(days_past_due=dpd, bucket=labels[_bucket(dpd, edges)])
    by_cust = ageing(open_, today=today, edges=edges, by="customer_id").reset_index()
    by_cust["open"] = by_cust[list(labels)].sum(axis=1)
    by_cust = by_cust.sort_values("open", ascending=False, kind="stable").reset_index(drop=True)
    total = by_cust[list(labels)].sum()
    tot = int(total.sum())
    money = _money(args.currency)
    print(f"ageing on {today.date()} ({how}): {len(open_):,} open invoices of {by_cust.shape[0]:,} customers, "
          f"{money(tot)} open")
    for lab in labels:
        share = total[lab] / tot if tot else 0.0
        print(f"  {lab:<8} {money(int(total[lab])):>20} {share:6.1%}")
    tables = {"ageing": by_cust, "open_items": items}
    if policy is not None:
        d = dunning(open_, policy, today=today)
        cols = [c for c in ("receivable_id", "customer_id", "due_at", "open", "days_past_due", "remind", "level",
                            "send", "fee", "interest") if c in d.columns]
        d = d[cols].rename(columns={"receivable_id": "invoice_id"})
        tables["dunning"] = d
        lv = d["level"].value_counts().sort_index()
        print(f"dunning: {int(d['remind'].sum()):,} reminder(s) before due; " + ", ".join(
            f"level {k}: {v:,}" for k, v in lv.items() if k > 0) + f"; fees {money(int(d['fee'].sum()))}, interest "
            f"{money(int(d['interest'].sum()))}")
    _write(args, "ageing", tables, quarantine, notes, args.currency)
    return 0


# ------------------------------------------------------------------------------------------ leads


def _condition_columns(rule) -> list[Col]:
    """The columns a rule's conditions compare with numbers: read as numbers (a cell that is not
    one is quarantined), so that ``engagement >= 3`` works on a text export."""
    from pydantic import BaseModel

    from crmsim.conditions import Condition

    found: dict[str, None] = {}

    def walk(x):
        if isinstance(x, Condition):
            vals = x.value if isinstance(x.value, (list, tuple)) else [x.value]
            if vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
                found[x.field] = None
        elif isinstance(x, BaseModel):
            for name in type(x).model_fields:
                walk(getattr(x, name))
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)

    walk(rule)
    return [Col(f, "number") for f in found]


def _lead_cols(*rules) -> list[Col]:
    cols = [Col("lead_id", "id", unique=True)]
    for r in rules:
        cols += [c for c in _condition_columns(r) if c.name not in {x.name for x in cols}]
    return cols


def _ids(t):
    """The lead id per row, or ``row <n>`` where the export has no lead id."""
    return t["lead_id"] if "lead_id" in t.columns else "row " + t["source_row"].astype(str)


def _score_table(rule, leads, args, notes):
    import pandas as pd

    events, now = None, None
    if rule.behaviour:
        if not args.events:
            raise _input_error(f"{args.rules}: behaviour rules ({', '.join(b.label for b in rule.behaviour)}) need the "
                               "lead events: --events FILE (lead_id, event, t) and --as-of")
        ev = load_export(args.events, "events", [Col("lead_id", "id", required=True), Col("event", "id", required=True),
                                                 Col("t", "date", required=True, filled=True)], read_columns_map(args.map))
        events = ev.table
        now, how = _as_of(args)
        notes.append(f"behaviour points counted at {now.date()} ({how}); {len(ev.quarantine):,} event row(s) set aside"
                     if len(ev.quarantine) else f"behaviour points counted at {now.date()} ({how})")
        if "lead_id" not in leads.columns:
            raise _input_error(f"{args.table}: behaviour rules need a lead_id column to join the events")
    scored = rule.apply(leads, events, now)
    why = rule.explain(leads, events, now)
    text = (why.assign(part=why["rule"] + " " + why["points"].map(lambda x: f"{x:+g}"))
            .groupby("lead")["part"].agg("; ".join))
    out = pd.DataFrame({"source_row": leads["source_row"], "lead_id": _ids(leads)}).join(scored)
    out["explanation"] = text.reindex(leads.index).fillna("no rule matched").to_numpy()
    return out


def cmd_score(args) -> int:
    """Score, grade and MQL flag of every lead, with the rules that gave the points."""
    import pandas as pd

    from crmsim.leads.scoring import ScoringRule

    rule, sections = load_rule(args.rules, ScoringRule, "scoring", variant=args.variant)
    notes: list[str] = []
    got = load_export(args.table, "leads", _lead_cols(rule), _columns(args, sections))
    out = _score_table(rule, got.table, args, notes)
    n = len(out)
    g = out["grade"].value_counts().reindex(out["grade"].cat.categories, fill_value=0)
    summary = pd.DataFrame({"grade": g.index.astype(str), "leads": g.to_numpy(),
                            "share": (g / max(n, 1)).round(4).to_numpy(),
                            "mql": out.groupby("grade", observed=False)["mql"].sum().reindex(g.index).to_numpy()})
    print(f"{n:,} leads scored by {len(rule.rules)} points rule(s)" + (f", {len(rule.behaviour)} behaviour rule(s)"
          if rule.behaviour else "") + f": {int(out['mql'].sum()):,} MQL (score >= {rule.mql_threshold:g}, "
          f"{out['mql'].mean() if n else 0:.1%}); mean score {out['score'].mean() if n else 0:.1f}")
    print("  " + ", ".join(f"{r.grade} {r.leads:,} ({r.share:.0%})" for r in summary.itertuples()))
    _write(args, "score", {"scored": out, "grades": summary}, {"leads": got.quarantine}, notes, args.currency)
    return 0


def cmd_assign(args) -> int:
    """Who gets each lead by the assignment rule (routes, preferred accounts, tiers, capacity), and
    why a lead stayed unassigned."""
    import pandas as pd

    from crmsim.errors import read_toml
    from crmsim.leads.assignment import AssignmentRule
    from crmsim.leads.scoring import ScoringRule

    rule, sections = load_rule(args.rules, AssignmentRule, "assignment", variant=args.variant)
    scoring = None
    doc = read_toml(args.rules, "rule file")
    if rule.policy == "score_tiered" or args.mql_only:
        if "model" in doc and "baseline" in doc:
            scoring, _ = load_rule(args.rules, ScoringRule, "scoring", variant=args.variant)
        elif "scoring" in doc:
            scoring, _ = load_rule(args.rules, ScoringRule, "scoring")
    columns = _columns(args, sections)
    notes: list[str] = []
    got = load_export(args.table, "leads", _lead_cols(rule, *( [scoring] if scoring else [])) + [Col("score", "number")],
                      columns)
    leads = got.table
    if rule.policy == "score_tiered" and "score" not in leads.columns:
        if scoring is None:
            raise _input_error(f"{args.table}: score_tiered assignment needs a score column, or a [scoring] rule in "
                               f"{args.rules} to score the leads first")
        leads["score"] = scoring.score(leads).to_numpy()
        notes.append(f"leads scored by the [scoring] rule of {args.rules} before the score-tiered assignment")
    skipped = None
    if args.mql_only:
        if scoring is None:
            raise _input_error(f"--mql-only: {args.rules} has no [scoring] rule to tell MQLs")
        mql = scoring.apply(leads)["mql"].to_numpy()
        skipped, leads = leads[~mql], leads[mql]
        notes.append(f"{int(mql.sum()):,} of {len(mql):,} leads are MQLs (score >= {scoring.mql_threshold:g}) and go "
                     f"to assignment; the others are listed as not_mql")
    rep_cols = [Col("rep_id", "id", required=True, unique=True), Col("capacity", "number"), Col("tier", "number"),
                Col("open_leads", "number")]
    reps_got = load_export(args.reps, "reps", rep_cols, columns)
    reps = reps_got.table
    if not len(reps):
        raise _input_error(f"reps table ({args.reps}): no usable rep rows")
    open_leads = dict(zip(reps["rep_id"], reps["open_leads"].fillna(0).astype(int))) if "open_leads" in reps.columns \
        else None
    accounts = None
    if args.accounts:
        acc = load_export(args.accounts, "accounts", [Col("company", "id", required=True, unique=True),
                                                      Col("rep_id", "id", required=True)], columns)
        accounts = dict(zip(acc.table["company"], acc.table["rep_id"]))
        if len(acc.quarantine):
            notes.append(f"{len(acc.quarantine):,} account row(s) set aside (see quarantine)")
    res, carried = rule.assign_table(leads, reps, open_leads=open_leads, accounts=accounts, seed=args.seed)
    out = pd.DataFrame({"source_row": leads["source_row"], "lead_id": _ids(leads)}).join(res)
    if skipped is not None and len(skipped):
        out = pd.concat([out, pd.DataFrame({"source_row": skipped["source_row"], "lead_id": _ids(skipped),
                                            "owner_id": None, "reason": "not_mql"})]).sort_values("source_row")
    load = out["owner_id"].value_counts()
    per_rep = reps[["rep_id", *[c for c in ("capacity", "tier", "open_leads") if c in reps.columns]]].assign(
        assigned=reps["rep_id"].map(load).fillna(0).astype(int).to_numpy())
    if carried:
        per_rep["capacity_left"] = per_rep["rep_id"].map(carried)
    unassigned = out["owner_id"].isna()
    print(f"{len(out):,} leads, {len(reps):,} reps, policy {rule.policy}" + (f", {len(rule.routes)} route(s)"
          if rule.routes else "") + f": {int((~unassigned).sum()):,} assigned, {int(unassigned.sum()):,} unassigned")
    if unassigned.any():
        print("  unassigned: " + ", ".join(f"{k} {v:,}" for k, v in out.loc[unassigned, "reason"].value_counts().items()))
    print("  per rep: " + ", ".join(f"{r.rep_id} {r.assigned:,}" for r in per_rep.head(12).itertuples())
          + (" ..." if len(per_rep) > 12 else ""))
    _write(args, "assign", {"assignments": out, "reps": per_rep},
           {"leads": got.quarantine, "reps": reps_got.quarantine}, notes, args.currency)
    return 0


def _restore(args) -> int:
    """``dedup --unmerge RESULT``: the rows before the merge, from a dedup result's merged and
    archive tables (by :func:`crmsim.leads.dedup.unmerge`), in their original order."""
    import pandas as pd

    from crmsim.leads.dedup import unmerge
    from crmsim.tables import read_table

    src = Path(args.unmerge)
    part = (lambda name: f"{src}#{name}") if src.suffix.lower() == ".xlsx" else (lambda name: src / f"{name}.csv")
    merged = read_table(part("merged"), source="merged table")
    archive = read_table(part("archive"), source="archive table")
    for t, name in ((merged, "merged"), (archive, "archive")):
        if "source_row" not in t.columns:
            raise _input_error(f"{args.unmerge}: the {name} table has no source_row column; give the output of "
                               "crmsim dedup")
        t.index = pd.to_numeric(t["source_row"], errors="coerce").astype("Int64")
    merged["absorbed_ids"] = [tuple(x.split(ID_SEP)) if isinstance(x, str) and x else () for x in merged["absorbed_ids"]]
    back = unmerge(merged, archive, id_col="lead_id").drop(columns=["overridden"], errors="ignore")
    out = Path(args.out) if args.out else Path(f"{src.with_suffix('')}-restored")
    from crmsim.outputs import write_tables

    files = write_tables(out, {"restored": back.reset_index(drop=True)})
    print(f"restored {len(back):,} rows ({len(archive):,} from the archive of merged groups; rows the dedup set "
          f"aside are in its quarantine table)\nwrote {files[0]}")
    return 0


def cmd_dedup(args) -> int:
    """Duplicate pairs with their field similarities, groups, the merged table (survivor with its
    fields filled by the survivorship policy) and the archive that ``--unmerge`` restores."""
    import pandas as pd

    from crmsim.leads.dedup import LEAD_DEDUP, DedupRule, Survivorship, merge

    if args.unmerge:
        return _restore(args)
    if args.table is None:
        raise _input_error("dedup: give the leads export (or --unmerge RESULT to restore a merge)")
    notes: list[str] = []
    if args.rules:
        rule, sections = load_rule(args.rules, DedupRule, "dedup", extra_sections=("survivorship",))
        surv = sections.get("survivorship")
        try:
            surv = Survivorship.model_validate(surv) if surv else Survivorship()
        except Exception as e:
            from crmsim.errors import validation_message

            raise _input_error(f"{args.rules}: [survivorship]: {validation_message(e)}") from None
    else:
        rule, sections, surv = LEAD_DEDUP, {}, Survivorship()
        notes.append("no --rules: crmsim's default lead rule (blocking on email, phone, company domain, company + "
                     "city; name, email, phone, company, city compared)")
    used = dict.fromkeys([*(f.field for f in rule.fields), *(x for k in rule.keys for x in k.fields)])
    num = {f.field for f in rule.fields if f.method == "numeric"}
    cols = [Col("lead_id", "id", unique=True)] + [Col(f, "number" if f in num else "text") for f in used
                                                   if f != "lead_id"]
    got = load_export(args.table, "leads", cols, _columns(args, sections))
    t = got.table
    if "lead_id" not in t.columns:
        t.insert(0, "lead_id", "row " + t["source_row"].astype(str))
        notes.append("no lead_id column: records are named 'row <n>' by their row in the export")
    pairs, skipped = rule.candidate_pairs(t)
    scored = rule.score(t, pairs)
    groups = rule.groups(t, scored)
    merged, archive = merge(t, groups, surv, id_col="lead_id")
    ids = t["lead_id"].to_numpy()
    show = scored.assign(lead_i=ids[scored["i"].to_numpy(int)], lead_j=ids[scored["j"].to_numpy(int)]).drop(
        columns=["i", "j"])
    show = show[["lead_i", "lead_j", *[c for c in show.columns if c not in ("lead_i", "lead_j")]]]
    size = groups.map(groups.value_counts())
    g = pd.DataFrame({"source_row": t["source_row"], "lead_id": ids, "group": ids[groups.to_numpy()],
                      "group_size": size.to_numpy()})
    merged = merged.assign(absorbed_ids=merged["absorbed_ids"].map(lambda ids: ID_SEP.join(map(str, ids))),
                           overridden=merged["overridden"].map(
        lambda d: "; ".join(f"{k}: {'(blank)' if v is None or v != v or v == '' else v}" for k, v in d.items())
        if d else ""))
    archive = archive.assign(group=ids[archive["group"].to_numpy(int)])
    n_dup = int(scored["duplicate"].sum())
    multi = int((g["group_size"] > 1).sum())
    if "em" in scored.attrs:
        em = scored.attrs["em"]
        notes.append(f"Fellegi-Sunter weights estimated by EM on the {em['pairs']:,} candidate pairs (no labels): "
                     f"{em['prior']:.1%} of them matches, {em['iterations']} iteration(s)"
                     + ("" if em["converged"] else " (NOT converged: read the weights with care)")
                     + "; score = P(match); m, u and weight per field and level in the em table")
    what = "P(match)" if rule.weights == "em" else "score"
    print(f"{len(t):,} records: {len(pairs):,} candidate pair(s) from {len(rule.keys)} blocking key(s), {n_dup:,} "
          f"duplicate(s) ({what} >= {rule.threshold:g}); {g.loc[g['group_size'] > 1, 'group'].nunique():,} group(s) "
          f"of {multi:,} records merge into {len(merged):,} records")
    if len(skipped):
        first = skipped.iloc[0]
        notes.append(f"{len(skipped):,} blocking value(s) shared by more records than max_block were not compared "
                     f"(first: {first['key']} = {first['value']!r}, {int(first['records'])} records)")
    extra = {"em": scored.attrs["em"]["table"]} if "em" in scored.attrs else {}
    _write(args, "dedup", {"pairs": show, "groups": g, "merged": merged, "archive": archive, **extra},
           {"leads": got.quarantine}, notes, args.currency)
    return 0


def add_commands(sub) -> None:
    """Register the table commands on the CLI's subparsers.

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser(prog="crmsim").add_subparsers(dest="cmd")
    >>> add_commands(sub)
    >>> sorted(sub.choices)
    ['ageing', 'assign', 'dedup', 'reclaim', 'score', 'writeoff']
    """
    fmt = argparse.RawDescriptionHelpFormatter

    def common(p, rules_help: str | None, rules_required: bool = True,
               table_help: str = "the export: CSV, Parquet or Excel (.xlsx; book.xlsx#Sheet for one sheet of several)",
               table_optional: bool = False):
        p.add_argument("table", nargs="?" if table_optional else None, help=table_help)
        if rules_help:
            p.add_argument("--rules", "--policy", dest="rules", required=rules_required, help=rules_help)
        p.add_argument("--map", help="mapping TOML: [columns] crmsim name = your export's column"
                                     + (" (default: the rule file's own [columns])" if rules_help else ""))
        p.add_argument("--out", help="a folder (one CSV per table) or NAME.xlsx (one sheet per table); default "
                                     "results/<command>-<export name>/")
        p.add_argument("--currency", default="", help="currency shown on money in Excel output (e.g. EUR)")

    r = sub.add_parser(
        "reclaim", help="who goes back to the public pool tonight, by which rule (a customers export)",
        formatter_class=fmt,
        description="Apply a reclaim policy to your customers export: who is due at the reclaim job of --as-of, by "
                    "which rule, who is close (remind the owner), who is exempt and why.\n\n"
                    "The customers table needs customer_id and owner_id (blank = in the pool) and the dates the rules "
                    "count from (received_at, last_followup_at, last_deal_at, ...); or give the history (--activities, "
                    "--ownership, --deals) and the state at --as-of is rebuilt from it.",
        epilog="examples:\n  crmsim reclaim data/customers.xlsx --policy policy.toml\n"
               "  crmsim reclaim accounts.csv --policy scenarios/pool_reclamation.toml --variant "
               "'no-follow-up limit = 45' --as-of 2025-06-30 --out due.xlsx\n"
               "  crmsim reclaim data/examples/crm_accounts.csv --activities data/examples/crm_activities.csv \\\n"
               "      --deals data/examples/crm_deals.csv --ownership data/examples/crm_ownership.csv \\\n"
               "      --map data/examples/crm_map.toml --policy scenarios/pool_reclamation.toml")
    common(r, "reclaim policy TOML: [policy] (as a scenario's [baseline.policy]), its keys at the top, or a pool "
              "scenario (its baseline policy and pools)")
    r.add_argument("--variant", help="with a scenario: the sweep variant whose policy to apply (name or label)")
    r.add_argument("--as-of", help="the day of the reclaim job (it sees what happened before that day); default "
                                   "today, or with a history the day after its last date")
    r.add_argument("--activities", help="follow-ups (customer_id, followup_at): rebuild the state from the history")
    r.add_argument("--ownership", help="owner-change log (customer_id, changed_at, owner_id) or owned-from/to intervals")
    r.add_argument("--deals", help="deals (customer_id, deal_at [, amount, won])")
    r.set_defaults(func=_guard(cmd_reclaim))

    a = sub.add_parser(
        "ageing", help="open invoices by days past due, per customer (an ERP's invoices [+ payments])",
        formatter_class=fmt,
        description="Age your open invoices on --as-of: per customer and bucket, and per invoice. The invoices need "
                    "invoice_id, customer_id, amount (currency units) and due_at; an open column, or --payments to "
                    "allocate the payments made up to --as-of first. --rules adds the dunning run of that day.",
        epilog="examples:\n  crmsim ageing data/examples/erp_invoices.csv --payments data/examples/erp_payments.csv "
               "\\\n      --map data/examples/erp_map.toml --as-of 2025-09-30 --out ageing.xlsx --currency EUR\n"
               "  crmsim ageing open_items.xlsx --rules dunning.toml   # [dunning] levels, fees, annual_rate")
    common(a, "dunning policy TOML ([dunning]: remind_days, levels, fees in minor units, annual_rate, counting)",
           rules_required=False)
    a.add_argument("--payments", help="payments (amount, paid_at, and the invoice they name or the customer)")
    a.add_argument("--as-of", help="the ageing day (default today)")
    a.add_argument("--buckets", help="bucket edges in days past due (default 0,30,60,90,120)")
    a.add_argument("--passes", default="reference,exact,oldest", help="allocation passes, in order")
    a.set_defaults(func=_guard(cmd_ageing))

    w = sub.add_parser(
        "writeoff", help="allocate payments to open invoices (a bank or ERP export of payments)",
        formatter_class=fmt,
        description="Allocate payments to invoices, pass by pass: a payment that names an invoice pays it, then "
                    "exact amounts, then the customer's oldest open invoices. Writes every allocation, what each "
                    "invoice has open, over-payments (prepayments) and payments nobody can place (unidentified).",
        epilog="example:\n  crmsim writeoff data/examples/erp_payments.csv --receivables data/examples/erp_invoices.csv "
               "\\\n      --map data/examples/erp_map.toml --out writeoff.xlsx --currency EUR")
    common(w, None, table_help="payments: CSV, Parquet or Excel (amount; payment_id, customer_id, the invoice named "
                               "(ref or invoice_id), paid_at where known)")
    w.add_argument("--receivables", "--invoices", dest="receivables", required=True,
                   help="open invoices (invoice_id, customer_id, amount [, open, due_at])")
    w.add_argument("--passes", default="reference,exact,oldest", help="allocation passes, in order (default "
                                                                       "reference,exact,oldest)")
    w.set_defaults(func=_guard(cmd_writeoff))

    sc = sub.add_parser(
        "score", help="score, grade and MQL flag of every lead, with the rules that gave the points",
        formatter_class=fmt,
        description="Score a lead export by a scoring rule (points rules with conditions on any column, grades, the "
                    "MQL threshold; behaviour rules with --events). Columns compared with numbers are read as numbers.",
        epilog="examples:\n  crmsim score leads.csv --rules scenarios/lead_scoring.toml --out scored.xlsx\n"
               "  crmsim score leads.xlsx#Leads --rules scoring.toml   # [scoring] rules, grades, mql_threshold")
    common(sc, "scoring rule TOML: [scoring] (as a funnel scenario's [baseline.scoring]), its keys at the top, or a "
               "funnel scenario")
    sc.add_argument("--variant", help="with a scenario: the sweep variant whose scoring rule to apply")
    sc.add_argument("--events", help="behaviour events (lead_id, event, t) for behaviour rules")
    sc.add_argument("--as-of", help="the day behaviour points are counted on (default today)")
    sc.set_defaults(func=_guard(cmd_score))

    asg = sub.add_parser(
        "assign", help="assign leads to reps by an assignment rule (routes, accounts, tiers, capacity)",
        formatter_class=fmt,
        description="Assign a lead export to a reps table by an assignment rule: who gets each lead and why "
                    "(route, preferred account, policy), or why it stayed unassigned (no eligible rep, capacity).",
        epilog="example:\n  crmsim assign mqls.csv --reps reps.csv --rules scenarios/funnel.toml --out assigned.xlsx\n"
               "  (reps: rep_id [, capacity, tier, open_leads, region, ...])")
    common(asg, "assignment rule TOML: [assignment] (as a funnel scenario's [baseline.assignment]), its keys at the "
                "top, or a funnel scenario")
    asg.add_argument("--reps", required=True, help="reps (rep_id [, capacity, tier, open_leads, fields routes match])")
    asg.add_argument("--accounts", help="preferred accounts (company, rep_id)")
    asg.add_argument("--variant", help="with a scenario: the sweep variant whose assignment rule to apply")
    asg.add_argument("--seed", type=int, default=0, help="seed of a random tie-break (default 0)")
    asg.add_argument("--mql-only", action="store_true", help="score by the rule file's [scoring] first and assign "
                                                             "only the MQLs (as the funnel does)")
    asg.set_defaults(func=_guard(cmd_assign))

    dd = sub.add_parser(
        "dedup", help="find duplicate leads, group and merge them (with an archive to unmerge)",
        formatter_class=fmt,
        description="Find duplicates in a lead export by a dedup rule (blocking keys, field comparators, threshold), "
                    "group them, merge each group into its survivor by the survivorship policy and keep every "
                    "original row in an archive; --unmerge restores a result's original rows.",
        epilog="examples:\n  crmsim dedup leads.csv --out dedup.xlsx             # crmsim's default lead rule\n"
               "  crmsim dedup leads.csv --rules dedup.toml           # [dedup] keys, fields, threshold; "
               "[survivorship]\n  crmsim dedup --unmerge dedup.xlsx --out restored.xlsx")
    common(dd, "dedup rule TOML: [dedup] keys, fields, threshold and [survivorship] (default: crmsim's lead rule)",
           rules_required=False, table_optional=True)
    dd.add_argument("--unmerge", metavar="RESULT", help="a dedup result (folder or .xlsx): restore the rows before the "
                                                        "merge")
    dd.set_defaults(func=_guard(cmd_dedup))

