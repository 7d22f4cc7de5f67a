"""Output files: crmsim writes only files it may write, and never overwrites one it did not write.

:func:`claim_outputs` is called before a command writes its files. A file that does not exist may
be written; an existing one only if the folder's manifest (``.crmsim-written``, one file name a
line) says crmsim wrote it. Otherwise the command stops with an :class:`~crmsim.errors.InputError`
naming the file, before anything is written. The claimed names are then added to the manifest.
"""

from __future__ import annotations

from pathlib import Path

from crmsim.errors import InputError

__all__ = ["MANIFEST", "claim_outputs"]

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
