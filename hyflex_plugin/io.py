"""Shared file helpers: atomic writes and validated YAML loading.

Nothing is half-written: text and folders are written to a temporary sibling and renamed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from hyflex_plugin.basetypes import did_you_mean
from hyflex_plugin.errors import HyflexInputError

M = TypeVar("M", bound=BaseModel)

# mkstemp/mkdtemp create private (0600/0700) entries; results get the usual modes under umask
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK
_DIR_MODE = 0o777 & ~_UMASK


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_write_yaml(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, yaml.safe_dump(obj, sort_keys=False))


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Build a folder in a temporary sibling and move it to ``target`` only on success.

    A complete earlier ``target`` is replaced only after the new one is complete; on any error
    the temporary folder is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.chmod(tmp, _DIR_MODE)  # mkdtemp creates 0700
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_yaml(path: str | os.PathLike) -> Any:
    """Load a YAML file; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise HyflexInputError(str(path), None, "file not found")
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise HyflexInputError(str(path), None, f"not valid YAML: {exc}") from exc


def validation_error(source: str, exc: ValidationError) -> HyflexInputError:
    """Turn a pydantic ValidationError into a HyflexInputError naming file, field, expectation."""
    errs = exc.errors()
    # a misspelled field shows up as an unknown field plus a missing one: report the unknown
    # one first, with the missing sibling as the suggestion
    errs = sorted(errs, key=lambda e: e.get("type") != "extra_forbidden")
    first = errs[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    msg = first.get("msg", "invalid value")
    if first.get("type") == "extra_forbidden":
        loc = tuple(first.get("loc", ()))
        missing = [str(e["loc"][-1]) for e in errs
                   if e.get("type") == "missing" and tuple(e.get("loc", ()))[:-1] == loc[:-1]]
        msg = "unknown field" + (did_you_mean(str(loc[-1]) if loc else "", missing) or " (misspelled?)")
        first = {**first, "type": "missing"}  # the input of an unknown field is not shown below
    elif first.get("type") == "missing":
        msg = "required field is missing"
    if "input" in first and first.get("type") not in ("missing",):
        msg += f" (got {first['input']!r})"
    more = f" [and {len(errs) - 1} more problem(s)]" if len(errs) > 1 else ""
    return HyflexInputError(source, field, msg + more)


def load_model_yaml(path: str | os.PathLike, model: type[M]) -> M:
    """Load ``path`` and validate it against the pydantic ``model``."""
    data = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(str(path), exc) from exc
