"""Shared file helpers: atomic writes and validated YAML loading.

Nothing is half-written: text and folders are written to a temporary sibling and renamed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from hyflex_plugin.basetypes import did_you_mean
from hyflex_plugin.errors import HyflexInputError

M = TypeVar("M", bound=BaseModel)


def _unique_sibling(path: Path, suffix: str, create: Callable[[Path], None]) -> Path:
    """Create (with ``create``) a new hidden sibling of ``path`` with a random name; return it.

    The entry is created with the usual modes (0666 / 0777 minus the process umask, applied by
    the kernel), so a result is readable like any other file; the umask is never changed.
    """
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            create(tmp)
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {path}")


def cache_dir() -> Path:
    """The disk cache folder.

    ``$HYFLEX_CACHE_DIR``, else the user cache folder from platformdirs (``$XDG_CACHE_HOME/hyflex``,
    by default ``~/.cache/hyflex`` on Linux).
    """
    import platformdirs

    d = os.environ.get("HYFLEX_CACHE_DIR")
    return Path(d) if d else Path(platformdirs.user_cache_dir("hyflex", appauthor=False))


def _check_parents(path: Path, option: str, field: str | None) -> None:
    """Raise unless the nearest existing ancestor of ``path`` is a writable folder."""
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise HyflexInputError(option, field, f"{str(path)!r} lies under {str(parent)!r}, "
                                       "which is a file: expected a path inside a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise HyflexInputError(option, field, f"{str(path)!r}: folder {str(parent)!r} "
                                       "is not writable: expected a writable location")
            return


def check_output_file(path: str | os.PathLike, option: str, field: str | None = None) -> Path:
    """Check, before any work, that ``path`` can be written as a file (not a folder)."""
    p = Path(path)
    if p.is_dir():
        raise HyflexInputError(option, field, f"{str(p)!r} is a folder: expected a file name")
    _check_parents(p, option, field)
    return p


def check_output_folder(path: str | os.PathLike, option: str, field: str | None = None) -> Path:
    """Check, before any work, that ``path`` can be made (or replaced) as a folder.

    An existing regular file is never replaced by a folder.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise HyflexInputError(option, field, f"{str(p)!r} is an existing file: expected a folder "
                               "(a file is not replaced)")
    _check_parents(p, option, field)
    return p


def atomic_write_stream(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary file in ``path``'s folder, then rename it to ``path``.

    For large outputs (model checkpoints): nothing is held in memory, and on any error the
    temporary file is removed and ``path`` is left as it was.
    """
    path = check_output_file(path, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fds: list[int] = []
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    tmp = _unique_sibling(path, ".tmp", lambda p: fds.append(os.open(p, flags, 0o666)))
    try:
        with os.fdopen(fds[0], "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    return atomic_write_stream(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_write_yaml(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as YAML (keys in order) to ``path`` atomically."""
    return atomic_write_text(path, yaml.safe_dump(obj, sort_keys=False))


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Build a folder in a temporary sibling and move it to ``target`` only on success.

    A complete earlier ``target`` is replaced only after the new one is complete; on any error
    the temporary folder is removed and ``target`` is left as it was.
    """
    target = check_output_folder(target, str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _unique_sibling(target, ".partial", lambda p: os.mkdir(p, 0o777))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_text(path: str | os.PathLike, expected: str = "a text file") -> str:
    """Return the UTF-8 text of ``path``; a missing or non-UTF-8 file is an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise HyflexInputError(str(path), None, "file not found" if not path.exists()
                               else f"not a regular file: expected {expected}")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HyflexInputError(str(path), None, f"not UTF-8 text (byte {exc.start} is "
                               f"{exc.object[exc.start]:#04x}): expected {expected}") from None


def _check_duplicate_keys(source: str, node, path: tuple = ()) -> None:
    """YAML allows a mapping key twice (the last one wins): refuse it, naming the dotted key."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key != "<<":
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise HyflexInputError(source, ".".join((*path, str(key))),
                                           f"duplicate key (lines {seen[key]} and {line}): "
                                           "expected each key once")
                seen[key] = line
            _check_duplicate_keys(source, value, (*path, str(key)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicate_keys(source, item, (*path, str(i)))


def read_yaml(path: str | os.PathLike) -> Any:
    """Load a YAML file; errors name the file (missing, not UTF-8, not YAML, duplicate keys)."""
    text = read_text(path, "a YAML file")
    try:
        _check_duplicate_keys(str(path), yaml.compose(text, Loader=yaml.SafeLoader))
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise HyflexInputError(str(path), None, f"not valid YAML: {exc}") from exc


def validation_error(source: str, exc: ValidationError) -> HyflexInputError:
    """Turn a pydantic ValidationError into a HyflexInputError naming file, field, expectation."""
    errs = exc.errors()
    # a misspelled field shows up as an unknown field plus a missing one: report the unknown
    # one first, with the missing sibling as the suggestion
    errs = sorted(errs, key=lambda e: e.get("type") != "extra_forbidden")
    first = errs[0]
    raised = (first.get("ctx") or {}).get("error")
    if isinstance(raised, HyflexInputError):  # a validator that names its own field
        loc = [str(p) for p in first.get("loc", ())]
        return HyflexInputError(source, ".".join([*loc, raised.field] if raised.field else loc)
                                or None, raised.message)
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
