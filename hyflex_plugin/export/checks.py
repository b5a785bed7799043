"""Checks of an export against what the classic toolchain really does with it.

The schema (``schema.py``) checks structure; these check the four kinds of defect that made
earlier exports fail in real timeloopfe / Accelergy 0.4 while the schema called them valid:

1. a plain (unquoted) string that is not a Python expression: timeloopfe evaluates every plain
   string as one (``technology: 65nm`` is a syntax error there; ``"65nm"`` is a string);
2. a name in an expression that the document's ``variables`` do not define (``depth: INF``);
3. table-based plug-in data Accelergy cannot match: Accelergy queries ``<subclass>.csv`` with
   the component's attributes (as it formats them: ``65nm``, ``1280000000``, ``1e-07``) and the
   action's arguments ``global_cycle_seconds`` and ``action_latency_cycles``; a row matches
   when every attribute column it has equals the query and every argument has its column;
4. an estimator plug-in Accelergy cannot call: it finds actions by the method's ``__name__``
   and passes attributes to ``__init__`` by parameter name. (This check imports the export's
   ``accelergy/plugin/hyflex_accelergy_plugin.py``.)
"""

from __future__ import annotations

import ast
import builtins
import csv
import importlib.util
import math
from pathlib import Path
from typing import Any

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.export.accelergy import COMPUTE_ACTIONS, STORAGE_ACTIONS

#: names timeloopfe's expressions may use without defining them
_KNOWN_NAMES = set(dir(builtins)) | set(dir(math))


def _walk_strings(obj: Any, where: str):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk_strings(v, f"{where}.{k}" if where else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk_strings(v, f"{where}[{i}]")
    elif isinstance(obj, str):
        yield where, obj


def check_expressions(doc: dict, source: str) -> None:
    """Classes 1 and 2: every plain string in attributes/variables is an expression over defined names."""
    from hyflex_plugin.export.schema import Quoted

    variables = {k for k in (doc.get("variables") or {}) if k != "version"}
    parts = []
    for i, node in enumerate(doc.get("architecture", {}).get("nodes", [])):
        name = node.get("name", i) if isinstance(node, dict) else i
        for key in ("attributes", "spatial"):
            if isinstance(node, dict) and key in node:
                parts.append((f"architecture.nodes.{name}.{key}", node[key]))
    parts.append(("variables", {k: v for k, v in (doc.get("variables") or {}).items()
                                if k != "version"}))
    for prefix, obj in parts:
        for where, text in _walk_strings(obj, prefix):
            if isinstance(text, Quoted):
                continue
            try:
                tree = ast.parse(text.strip(), mode="eval")
            except SyntaxError:
                raise HyflexInputError(source, where, f"unquoted string {text!r}: timeloopfe "
                                       f"evaluates it as a Python expression and fails; quote it "
                                       f"(\"{text}\") to make it a string") from None
            for n in ast.walk(tree):
                if isinstance(n, ast.Name) and n.id not in variables | _KNOWN_NAMES:
                    raise HyflexInputError(source, where, f"{text!r} uses {n.id!r}, which the "
                                           f"file's variables do not define (timeloopfe: "
                                           f"NameError)")


def _evaluate(value: Any, variables: dict) -> Any:
    from hyflex_plugin.export.schema import Quoted

    if isinstance(value, str) and not isinstance(value, Quoted):
        return eval(compile(ast.parse(value.strip(), mode="eval"), "<expr>", "eval"),
                    {"__builtins__": {}}, {**vars(math), **variables})
    return value


def accelergy_format(value: Any) -> str:
    """A value as Accelergy 0.4 puts it into a query: integral floats as integers.

    >>> accelergy_format(1280000000.0), accelergy_format(1e-07), accelergy_format("65nm")
    ('1280000000', '1e-07', '65nm')
    """
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def queries(doc: dict) -> list[tuple[str, str, dict, dict]]:
    """What Accelergy will be asked for one architecture.

    Returns:
        (subclass, action, attributes, arguments) per component and action, with the attributes
        inherited from the containers above.
    """
    variables = {}
    for k, v in (doc.get("variables") or {}).items():
        if k != "version":
            variables[k] = _evaluate(v, variables)
    inherited: dict = {}
    out = []
    for node in doc["architecture"]["nodes"]:
        attrs = {k: _evaluate(v, variables) for k, v in (node.get("attributes") or {}).items()}
        if getattr(node, "tag", None) == "!Container":
            inherited.update(attrs)
            continue
        full = {**inherited, **attrs}
        kind = node.get("class", "")
        actions = COMPUTE_ACTIONS if "compute" in kind or "mac" in kind else STORAGE_ACTIONS
        args = {"global_cycle_seconds": full.get("global_cycle_seconds"),
                "action_latency_cycles": 1}
        for action in actions:
            out.append((node["subclass"], action, full, args))
    return out


def check_tables(folder: Path, docs: dict[str, dict]) -> None:
    """Class 3: every query of every architecture matches a row of the table-based data."""
    data = folder / "accelergy" / "tables" / "data"
    for rel, doc in docs.items():
        for subclass, action, attrs, args in queries(doc):
            path = data / f"{subclass}.csv"
            if not path.is_file():
                raise HyflexInputError(str(path), None, f"no table for {subclass} (used in {rel})")
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
            columns = set(rows[0]) if rows else set()
            for arg in args:
                if arg not in columns:
                    raise HyflexInputError(str(path), arg, "Accelergy 0.4 sends this argument with "
                                           "every action query; a table without the column never "
                                           "matches")
            query = {k: accelergy_format(v) for k, v in {**attrs, **args}.items()}
            ok = any(r.get("action") == action and all(r[c] == query[c] for c in r
                                                       if c in query)
                     for r in rows)
            if not ok:
                shown = {c: query[c] for c in sorted(columns) if c in query}
                raise HyflexInputError(str(path), action, f"no row matches Accelergy's query "
                                       f"{subclass}.{action} with {shown} (from {rel})")


def check_plugin(folder: Path, docs: dict[str, dict]) -> None:
    """Class 4: the plug-in has a class per subclass, actions by ``__name__``, attributes in ``__init__``.

    Every attribute of a primitive's table must be a parameter of its class's ``__init__``.
    """
    path = folder / "accelergy" / "plugin" / "hyflex_accelergy_plugin.py"
    if not path.is_file():
        raise HyflexInputError(str(path), None, "the estimator plug-in is missing")
    spec = importlib.util.spec_from_file_location("hyflex_export_plugin_check", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:  # any failure to load is a defect of the plug-in
        raise HyflexInputError(str(path), None, f"cannot be imported: {exc}") from exc
    classes = {getattr(c, "name", None): c for c in vars(mod).values()
               if isinstance(c, type) and getattr(c, "name", None)
               and c.__module__ == mod.__name__}
    for rel, doc in docs.items():
        for subclass, action, attrs, _args in queries(doc):
            cls = classes.get(subclass)
            if cls is None:
                raise HyflexInputError(str(path), subclass, f"no estimator class named {subclass!r}"
                                       f" (used in {rel})")
            names = {getattr(getattr(cls, a), "__name__", None) for a in dir(cls)
                     if getattr(getattr(cls, a), "_is_accelergy_action", False)}
            if action != "leak" and action not in names:
                raise HyflexInputError(str(path), f"{subclass}.{action}", "Accelergy finds actions "
                                       f"by the function's __name__; this class has "
                                       f"{sorted(n for n in names if n)}")
            init = cls.__init__.__code__
            params = set(init.co_varnames[1:init.co_argcount + init.co_kwonlyargcount])
            table = mod.PRIMITIVES.get(subclass, {}).get("attributes", {})
            missing = sorted(set(table) - params)
            if missing:
                raise HyflexInputError(str(path), f"{subclass}.__init__", f"takes no parameter "
                                       f"{missing}: Accelergy passes attributes by parameter name, "
                                       f"so their check would never run")
