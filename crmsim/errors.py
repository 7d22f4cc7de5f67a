"""The errors crmsim raises for input a user can fix, and how they read.

Every public entry point raises a :class:`CrmsimError` (or a subclass) for bad input, with a
message that names the file or table, the field or column, the rows and what was expected. The
command line catches :class:`CrmsimError` and prints the message without a traceback (exit code
2). The classes also derive from ``ValueError``, so code that caught ``ValueError`` still does.
"""

from __future__ import annotations

__all__ = ["CrmsimError", "InputError", "MissingDependency", "need", "validation_message", "read_toml"]


class CrmsimError(ValueError):
    """Bad input or usage: the message says what to fix.

    Examples
    --------
    >>> issubclass(InputError, CrmsimError), issubclass(MissingDependency, CrmsimError)
    (True, True)
    """


class InputError(CrmsimError):
    """A table, file or mapping the user gave cannot be used as it is (the message names the
    file, column and rows).

    Examples
    --------
    >>> isinstance(InputError("customers.csv: column 'owner_id' missing"), ValueError)
    True
    """


class MissingDependency(CrmsimError):
    """A feature needs an optional package that is not installed (the message says which extra).

    Examples
    --------
    >>> str(MissingDependency("day routes need OR-Tools: pip install 'crmsim[solver]'"))
    "day routes need OR-Tools: pip install 'crmsim[solver]'"
    """


#: optional package -> (pip extra, what needs it)
OPTIONAL = {"sklearn": ("ml", "scikit-learn"), "ortools": ("solver", "ortools"), "duckdb": ("sql", "duckdb")}


def need(module: str, feature: str):
    """Import an optional package, or raise :class:`MissingDependency` naming the feature and the
    extra that installs it.

    >>> need("math", "arithmetic").__name__
    'math'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        extra, dist = OPTIONAL.get(module.split(".")[0], ("all", module))
        raise MissingDependency(f"{feature} needs the optional package '{dist}', which is not installed: "
                                f"pip install 'crmsim[{extra}]' (or 'crmsim[all]')") from None


def validation_message(e) -> str:
    """A pydantic ``ValidationError`` as ``field: problem; field: problem`` (the caller names the
    file and item).

    >>> from pydantic import BaseModel
    >>> class M(BaseModel):
    ...     n: int
    >>> try:
    ...     M(n="x")
    ... except Exception as err:
    ...     print(validation_message(err))
    n: Input should be a valid integer, unable to parse string as an integer
    """
    return "; ".join(f"{'.'.join(map(str, x['loc'])) or '<item>'}: {x['msg']}" for x in e.errors())


def read_toml(path, what: str = "file", error: type[CrmsimError] = InputError) -> dict:
    """A TOML file as a dict; a missing file, a folder, a binary or unreadable file and bad TOML
    are each an ``error`` naming the file (``what`` says what it should have been).

    >>> read_toml("no/such.toml", "mapping file")
    Traceback (most recent call last):
    ...
    crmsim.errors.InputError: no/such.toml: no such mapping file
    """
    import tomllib
    from pathlib import Path

    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{p}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{p}: is a folder, not a {what}") from None
    except UnicodeDecodeError as e:
        raise error(f"{p}: not a UTF-8 text file (byte {e.start}); a {what} is TOML text") from None
    except OSError as e:
        raise error(f"{p}: cannot be read ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise error(f"{p}: invalid TOML: {e}") from None
