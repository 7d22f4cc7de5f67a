"""The results store: one Parquet file per finished replication, written the moment it finishes,
so an interrupted sweep resumes where it stopped; failures kept with their traceback and seed;
every run of every scenario queryable with DuckDB.

Layout of a run folder (``results/<scenario name>/`` by default)::

    run.json                       scenario name, run id, model
    reps/<variant key>-<i>.parquet one row: ids + metrics of replication i of a variant
    failures/<variant key>-<i>.json traceback and seed of a replication that raised
    events/<variant key>.parquet   event log of replication 0 of a variant
    tables/<variant key>.parquet   entity table (leads, customers, visits) of replication 0

A run is identified by the hash of its resolved scenario without ``run.replications``: asking for
more replications later reuses the stored ones, and the same replication is never stored twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

__all__ = ["RunStore", "run_id", "variant_key", "query", "check_run_folder", "run_lock"]


def check_run_folder(out: Path) -> None:
    """A folder a run may be written into: new, empty, or a crmsim run folder (it has
    ``run.json``). Anything else is refused (crmsim resets only the subfolders of its own run
    folders), with an :class:`~crmsim.errors.InputError` naming the folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_run_folder(d / "new")
    >>> _ = (d / "mine.txt").write_text("not a run")
    >>> from crmsim.errors import InputError
    >>> try:
    ...     check_run_folder(d)
    ... except InputError as e:
    ...     print(str(e).split(": ", 1)[1])
    holds files that are not a crmsim run (no run.json); crmsim only resets its own run folders: choose a new or empty folder
    """
    from crmsim.errors import InputError

    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"--out {out}: is a file, not a folder")
    if (out / "run.json").is_file() or not [f for f in out.iterdir() if f.name != ".crmsim-lock"]:
        return
    raise InputError(f"--out {out}: holds files that are not a crmsim run (no run.json); crmsim only "
                     "resets its own run folders: choose a new or empty folder")


@contextmanager
def run_lock(out: Path):
    """Hold ``out/.crmsim-lock`` while a run writes there; a second run on the same folder is
    refused while the first is alive (a lock left by a killed run is taken over).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with run_lock(d):
    ...     print((d / ".crmsim-lock").exists())
    True
    >>> (d / ".crmsim-lock").exists()
    False
    """
    from crmsim.errors import InputError

    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"--out {out}: cannot create the folder ({e.strerror})") from None
    lock = out / ".crmsim-lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except (PermissionError, IsADirectoryError) as e:
            raise InputError(f"--out {out}: cannot write there ({e.strerror})") from None
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError, FileNotFoundError):
                lock.unlink(missing_ok=True)  # stale: its run is gone
                continue
            except PermissionError:
                pass
            raise InputError(f"--out {out}: another crmsim run (process {pid}) is writing there; wait for it "
                             "or choose another folder") from None
    else:
        raise InputError(f"--out {out}: cannot take the lock {lock}")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def run_id(resolved_toml_without_replications: str) -> str:
    """The id of a run: a hash of the resolved scenario without its replication count (more
    replications of the same scenario extend the same run).

    Examples
    --------
    >>> run_id('name = "a"'), run_id('name = "a"') == run_id('name = "b"')
    ('eb1b159dbfd2feb3', False)
    """
    return hashlib.sha256(resolved_toml_without_replications.encode("utf-8")).hexdigest()[:16]


def variant_key(name: str) -> str:
    """A file-name-safe key of a variant name (any characters, any length).

    Examples
    --------
    >>> len(variant_key("limit_multiplier=1.5,dunning_every_days=7")), variant_key("a/b") == variant_key("a/b")
    (12, True)
    """
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # the temporary name never ends like a stored file, so a file left by a killed run is never read
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".partial")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class RunStore:
    """The store of one run folder.

    Examples
    --------
    >>> import tempfile
    >>> s = RunStore(tempfile.mkdtemp(), scenario_name="tiny", rid="abc123", model="credit")
    >>> s.write_replication("baseline", 0, "7", {"sales": 10.0})
    >>> s.has("baseline", 0), s.summary()[["variant", "replication", "sales"]].values.tolist()
    (True, [['baseline', 0, 10.0]])
    """

    def __init__(self, root: str | Path, *, scenario_name: str, rid: str, model: str):
        self.root = Path(root)
        self.rid = rid
        meta = self.root / "run.json"
        if meta.exists():
            old = json.loads(meta.read_text())
            if old.get("run_id") != rid:
                raise ValueError(
                    f"{self.root} holds run {old.get('run_id')} of another scenario version; "
                    "use another --out folder, or delete it to start over")
        _atomic_write(meta, lambda p: Path(p).write_text(json.dumps(
            {"scenario": scenario_name, "run_id": rid, "model": model}, indent=1)))
        for stale in self.root.glob("*/.tmp-*"):  # left by a run killed while writing
            stale.unlink(missing_ok=True)

    def _rep_path(self, variant: str, i: int) -> Path:
        return self.root / "reps" / f"{variant_key(variant)}-{i}.parquet"

    def done(self) -> set[tuple[str, int]]:
        """(variant key, replication) pairs already stored."""
        out = set()
        for p in (self.root / "reps").glob("*.parquet"):
            k, i = p.stem.rsplit("-", 1)
            out.add((k, int(i)))
        return out

    def has(self, variant: str, i: int) -> bool:
        return self._rep_path(variant, i).exists()

    def write_replication(self, variant: str, i: int, seed: str, metrics: dict) -> None:
        row = pd.DataFrame([{"run_id": self.rid, "variant": variant, "replication": i, "seed": seed, **metrics}])
        _atomic_write(self._rep_path(variant, i), lambda p: row.to_parquet(p, index=False))
        fail = self.root / "failures" / f"{variant_key(variant)}-{i}.json"
        if fail.exists():
            fail.unlink()

    def write_failure(self, variant: str, i: int, seed: str, error: str) -> None:
        path = self.root / "failures" / f"{variant_key(variant)}-{i}.json"
        _atomic_write(path, lambda p: Path(p).write_text(json.dumps(
            {"variant": variant, "replication": i, "seed": seed, "traceback": error}, indent=1)))

    def write_frames(self, variant: str, events: pd.DataFrame | None, table: pd.DataFrame | None) -> None:
        for sub, df in (("events", events), ("tables", table)):
            if df is not None:
                _atomic_write(self.root / sub / f"{variant_key(variant)}.parquet",
                              lambda p, df=df: df.to_parquet(p, index=False))

    def read_frames(self, variant: str) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        out = []
        for sub in ("events", "tables"):
            p = self.root / sub / f"{variant_key(variant)}.parquet"
            out.append(pd.read_parquet(p) if p.exists() else None)
        return out[0], out[1]

    def failures(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted((self.root / "failures").glob("*.json"))]

    def summary(self) -> pd.DataFrame:
        files = sorted((self.root / "reps").glob("*.parquet"))
        if not files:
            return pd.DataFrame()
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def query(sql: str, *, root: str | Path = "results") -> pd.DataFrame:
    """Run SQL (DuckDB) over every stored replication under ``root``, as the table ``runs``
    (``scenario, run_id, variant, replication, seed`` and every metric; runs of different models
    are unioned by column name).

    Examples
    --------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> s = RunStore(f"{root}/funnel", scenario_name="funnel", rid="r1", model="funnel")
    >>> for i, won in enumerate([10.0, 14.0]):
    ...     s.write_replication("baseline", i, str(i), {"won": won})
    >>> query("select variant, avg(won) as won from runs where scenario = 'funnel' group by 1", root=root).values.tolist()
    [['baseline', 12.0]]
    """
    from crmsim.errors import need

    duckdb = need("duckdb", "results query (SQL over stored runs)")

    files = sorted(Path(root).glob("*/reps/*.parquet"))
    if not files:
        from crmsim.errors import InputError

        raise InputError(f"results query: no stored replications under {root}/*/reps/ (run a scenario first, "
                         "or pass --root with the folder that holds the run folders)")
    con = duckdb.connect()
    paths = [str(f) for f in files]
    scen = {str(f): json.loads((f.parent.parent / "run.json").read_text()).get("scenario") for f in files}
    con.execute("create temp table _names(path varchar, scenario varchar)")
    con.executemany("insert into _names values (?, ?)", list(scen.items()))
    con.execute(f"create view runs as select n.scenario, r.* exclude (filename) from read_parquet({paths!r}, "
                "union_by_name=true, filename=true) r join _names n on n.path = r.filename")
    return con.execute(sql).df()
