"""Output files: crmsim writes only files it may write, and never overwrites one it did not write.

:func:`claim_outputs` is called before a command writes its files. A file that does not exist may
be written; an existing one only if the folder's manifest (``.crmsim-written``, one file name a
line) says crmsim wrote it. Otherwise the command stops with an :class:`~crmsim.errors.InputError`
naming the file, before anything is written. The claimed names are then added to the manifest.
"""

from __future__ import annotations

from pathlib import Path

from crmsim.errors import InputError

__all__ = ["MANIFEST", "claim_outputs", "write_tables"]

MANIFEST = ".crmsim-written"


def _written(folder: Path) -> set[str]:
    m = folder / MANIFEST
    return set(m.read_text(encoding="utf-8").split("\n")) - {""} if m.is_file() else set()


def claim_outputs(paths) -> list[Path]:
    """Check that every path may be written (see the module docstring), create the folders and
    record the names. Returns the paths.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> (d / "mine.csv").write_text("user data")
    9
    >>> claim_outputs([d / "out.csv"]) == [d / "out.csv"]
    True
    >>> claim_outputs([d / "mine.csv"])
    Traceback (most recent call last):
    ...
    crmsim.errors.InputError: ... exists and was not written by crmsim; ...
    """
    paths = [Path(p) for p in paths]
    for p in paths:
        if p.is_dir():
            raise InputError(f"{p}: is a folder; give a file name")
        if p.exists() and p.name not in _written(p.parent):
            raise InputError(f"{p}: exists and was not written by crmsim; choose another name or "
                             "folder (crmsim never overwrites a file it did not write)")
    for folder in {p.parent for p in paths}:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            names = _written(folder) | {p.name for p in paths if p.parent == folder}
            (folder / MANIFEST).write_text("\n".join(sorted(names)) + "\n", encoding="utf-8")
        except OSError as e:
            raise InputError(f"{folder}: cannot write there ({e.strerror})") from None
    return paths


def _sheet_name(name: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of ``[]:*?/\\``, unique in the book."""
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "table"
    out, k = base, 2
    while out.lower() in taken:
        out = f"{base[:28]}~{k}"
        k += 1
    taken.add(out.lower())
    return out


def write_tables(out, tables: dict, *, currency: str = "") -> list[Path]:
    """Write named tables: ``out`` ending in ``.xlsx`` is one workbook with a sheet per table (money
    columns, those a table lists in ``attrs["money"]`` as :func:`crmsim.units.in_currency` sets it,
    shown with two decimals and the currency); any other ``out`` is a folder with ``<name>.csv``
    per table. Only files crmsim may write (:func:`claim_outputs`). Returns the files written.

    >>> import tempfile, pandas as pd
    >>> d = Path(tempfile.mkdtemp())
    >>> [p.name for p in write_tables(d / "res", {"due": pd.DataFrame({"a": [1]})})]
    ['due.csv']
    """
    out = Path(out)
    if out.suffix.lower() == ".xlsx":
        (path,) = claim_outputs([out])
        import pandas as pd
        from openpyxl.utils import get_column_letter

        money_fmt = '#,##0.00' + (f' "{currency}"' if currency else "")
        taken: set[str] = set()
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            for name, df in tables.items():
                sheet = _sheet_name(name, taken)
                df.to_excel(xw, sheet_name=sheet, index=False)
                ws = xw.sheets[sheet]
                ws.freeze_panes = "A2"
                for k, col in enumerate(df.columns, start=1):
                    letter = get_column_letter(k)
                    width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200).tolist()])
                    ws.column_dimensions[letter].width = min(60, width + 2)
                    if col in df.attrs.get("money", ()):
                        for cell in ws[letter][1:]:
                            cell.number_format = money_fmt
        return [path]
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file; give a folder (CSV files) or a name ending in .xlsx")
    paths = claim_outputs([out / f"{name}.csv" for name in tables])
    for path, df in zip(paths, tables.values()):
        df.to_csv(path, index=False)
    return paths
