"""Structural schema of the Timeloop v0.4 input files hyflex writes (and YAML with v0.4 tags).

Written from the documented structure of Timeloop v0.4 / timeloopfe (the Python front-end that
reads the user-facing v0.4 format): top-level keys ``architecture``, ``problem``,
``constraints``, ``mapper``, ``variables``; architecture ``nodes`` tagged ``!Container`` /
``!Component`` / ``!Hierarchical``; leaves with ``name``, ``attributes``, ``spatial {meshX,
meshY}``, ``constraints {spatial, temporal, dataspace}``; components with ``class`` (Timeloop's
kind: storage / compute) and ``subclass`` (what Accelergy prices); storages need ``datawidth``
and one of ``depth``/``entries``/``sizeKB``; problems with ``instance`` sizes and
``shape.data_spaces[*].projection`` (lists of ``[dim]`` or ``[coefficient, dim]`` terms).

Every model forbids unknown keys, so a misspelled key (``meshx``, ``dataspaces``,
``projetion``) is an error naming the file and the field. ``validate_export(folder)`` also
checks cross-references: constraint targets exist in the architecture, factors and
permutations name problem dimensions, dataspace names exist, and fully specified factors
multiply to the problem's sizes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from hyflex_plugin.basetypes import StrictModel
from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import read_text, read_yaml

V04 = Literal["0.4", 0.4]
_FACTOR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(<=|>=|=)(\d+)$")


# ----------------------------------------------------------------------------- YAML tags
class Tagged(dict):
    """A mapping carrying a YAML tag such as ``!Container`` (v0.4 node types)."""

    def __init__(self, tag: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tag = tag


class Quoted(str):
    """A string written (and read back) quoted.

    timeloopfe takes a quoted scalar as a string and evaluates a plain one as a Python
    expression (``technology: 65nm`` is a syntax error).
    """


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # plain YAML, no &anchors / *aliases
        return True


def _represent_tagged(dumper: yaml.SafeDumper, data: Tagged):
    return dumper.represent_mapping(data.tag, dict(data))


_Dumper.add_representer(Tagged, _represent_tagged)
_Dumper.add_representer(Quoted, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", str(s),
                                                                 style='"'))


class _Loader(yaml.SafeLoader):
    """Keeps v0.4 tags (``!Container``) and which strings were quoted (``Quoted``)."""

    def construct_yaml_str(self, node):
        value = super().construct_yaml_str(node)
        return Quoted(value) if node.style in ("'", '"') else value


_Loader.add_constructor("tag:yaml.org,2002:str", _Loader.construct_yaml_str)


def _construct_tagged(loader: yaml.SafeLoader, tag_suffix: str, node):
    return Tagged("!" + tag_suffix, loader.construct_mapping(node, deep=True))


_Loader.add_multi_constructor("!", _construct_tagged)


def dump_yaml(obj: Any) -> str:
    """YAML text with v0.4 tags kept (``!Container``, ``!Component``)."""
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=100)


def load_yaml_text(text: str) -> Any:
    """Parse YAML keeping v0.4 tags (``Tagged``) and quoted strings (``Quoted``)."""
    return yaml.load(text, Loader=_Loader)


# ----------------------------------------------------------------------------- constraints
def _check_factors(v: list[str]) -> list[str]:
    for f in v:
        if not isinstance(f, str) or not _FACTOR.match(f.replace(" ", "")):
            raise ValueError(f"factor {f!r}: expected 'DIM=123', 'DIM<=123' or 'DIM>=123'")
    return v


class Iteration(StrictModel):
    """Loop constraints of one level: factors (``DIM=n``, ``<=``, ``>=``) and loop order."""

    factors: list[str] = Field(default_factory=list)
    permutation: list[str] = Field(default_factory=list)
    default_max_factor: int | None = None
    default_min_factor: int | None = None
    remainders: int | None = None
    no_reuse: list[str] = Field(default_factory=list)

    _f = field_validator("factors")(_check_factors)


class SpatialConstraint(Iteration):
    """Spatial loop constraints (``split``: where the X/Y axes divide the permutation)."""

    no_link_transfer: list[str] = Field(default_factory=list)
    split: int | None = None


class TemporalConstraint(Iteration):
    """Temporal loop constraints."""

    rmw_first_update: list[str] = Field(default_factory=list)


class DataspaceConstraint(StrictModel):
    """Which tensors a storage keeps or bypasses."""

    keep: list[str] = Field(default_factory=list)
    bypass: list[str] = Field(default_factory=list)
    no_coalesce: list[str] = Field(default_factory=list)


class ConstraintGroup(StrictModel):
    """The constraints written inside an architecture node."""

    spatial: SpatialConstraint | None = None
    temporal: TemporalConstraint | None = None
    dataspace: DataspaceConstraint | None = None
    max_overbooked_proportion: dict | None = None


class ConstraintTarget(StrictModel):
    """One entry of a constraints or mapping file: a level, a kind, factors, order."""

    target: str
    type: Literal["spatial", "temporal", "dataspace", "max_overbooked_proportion", "utilization"]
    factors: list[str] | None = None
    permutation: list[str] | None = None
    split: int | None = None
    no_reuse: list[str] | None = None
    keep: list[str] | None = None
    bypass: list[str] | None = None

    _f = field_validator("factors")(lambda v: v if v is None else _check_factors(v))


class ConstraintsBody(StrictModel):
    """The ``constraints`` key of a constraints file."""

    version: V04
    targets: list[ConstraintTarget]


class ConstraintsFile(StrictModel):
    """A constraints file (``timeloop-mapper``)."""

    constraints: ConstraintsBody


class MappingFile(StrictModel):
    """A complete mapping (``timeloop-model``): every level's factors and loop order."""

    mapping: list[ConstraintTarget]


# ----------------------------------------------------------------------------- architecture
class SpatialFanout(StrictModel):
    """A node's spatial fanout (instances along X and Y)."""

    meshX: int = Field(default=1, ge=1)
    meshY: int = Field(default=1, ge=1)


class _Leaf(StrictModel):
    """Fields every architecture node has."""

    name: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    spatial: SpatialFanout = Field(default_factory=SpatialFanout)
    constraints: ConstraintGroup = Field(default_factory=ConstraintGroup)
    sparse_optimizations: dict | None = None


class ContainerNode(_Leaf):
    """``!Container``: attributes and a fanout shared by the nodes below."""

    kind: Literal["!Container"] = Field(alias="_tag")
    networks: list = Field(default_factory=list)


class ComponentNode(_Leaf):
    """``!Component``: a storage or compute level priced by Accelergy (``subclass``)."""

    kind: Literal["!Component"] = Field(alias="_tag")
    class_: str = Field(alias="class")
    subclass: str | None = None
    required_actions: list[str] = Field(default_factory=list)
    area_scale: float | None = None
    energy_scale: float | None = None
    enabled: bool = True

    @field_validator("class_")
    @classmethod
    def _kind(cls, v: str) -> str:
        known = ("DRAM", "SRAM", "regfile", "smartbuffer", "storage", "mac", "intmac", "fpmac",
                 "compute", "XY_NoC", "Legacy", "ReductionTree", "SimpleMulticast", "nothing")
        if not any(k in v for k in known):
            raise ValueError(f"unknown Timeloop element class {v!r}: expected one of {known}")
        return v

    def is_storage(self) -> bool:
        """Whether Timeloop treats this component as a storage level."""
        return any(k in self.class_ for k in ("DRAM", "SRAM", "regfile", "smartbuffer", "storage"))

    def is_compute(self) -> bool:
        """Whether Timeloop treats this component as the compute."""
        return any(k in self.class_ for k in ("mac", "compute"))


class HierarchicalNode(StrictModel):
    """``!Hierarchical``: a nested list of nodes."""

    kind: Literal["!Hierarchical"] = Field(alias="_tag")
    nodes: list["ArchNode"]


ArchNode = Annotated[Union[ContainerNode, ComponentNode, HierarchicalNode],
                    Field(discriminator="kind")]
HierarchicalNode.model_rebuild()


class Architecture(StrictModel):
    """The ``architecture`` key: v0.4 nodes, outermost first."""

    version: V04
    nodes: list[ArchNode]


class ArchFile(StrictModel):
    """An architecture file, with the ``variables`` its expressions use."""

    architecture: Architecture
    variables: dict[str, Any] | None = None


# ----------------------------------------------------------------------------- problem
class ProblemDataspace(StrictModel):
    """One tensor of a problem: its projection onto the dimensions."""

    name: str
    projection: list[list[list[Union[str, int]]]]
    read_write: bool = False

    @field_validator("projection")
    @classmethod
    def _terms(cls, v):
        for axis in v:
            for term in axis:
                ok = (len(term) == 1 and isinstance(term[0], str)) or (
                    len(term) == 2 and all(isinstance(x, str) for x in term))
                if not ok:
                    raise ValueError(f"projection term {term!r}: expected [DIM] or [COEF, DIM]")
        return v


class ProblemShape(StrictModel):
    """A problem's dimensions and tensors."""

    name: str = ""
    dimensions: list[str]
    data_spaces: list[ProblemDataspace]
    coefficients: list[dict] = Field(default_factory=list)


class Problem(StrictModel):
    """The ``problem`` key: shape and sizes."""

    version: V04
    instance: dict[str, int]
    shape: ProblemShape


class ProblemFile(StrictModel):
    """A problem file (one layer)."""

    problem: Problem


# ----------------------------------------------------------------------------- mapper
class Mapper(StrictModel):
    """``timeloop-mapper`` settings."""

    version: V04
    optimization_metrics: list[Literal["delay", "energy", "edp", "last_level_accesses"]]
    algorithm: Literal["random", "exhaustive", "linear_pruned", "hybrid", "random_pruned"]
    num_threads: int = Field(ge=1)
    timeout: int = Field(ge=0)
    victory_condition: int = Field(ge=0)
    search_size: int = Field(default=0, ge=0)
    max_permutations_per_if_visit: int = Field(default=16, ge=1)
    live_status: bool = False
    diagnostics: bool = False
    log_stats: bool = False
    out_prefix: str = "timeloop-mapper"


class MapperFile(StrictModel):
    """A mapper settings file."""

    mapper: Mapper


# ----------------------------------------------------------------------------- helpers
def _tagged_to_plain(obj: Any) -> Any:
    """Tagged mappings -> dicts with a ``_tag`` key (what the node models discriminate on)."""
    if isinstance(obj, Tagged):
        d = {k: _tagged_to_plain(v) for k, v in obj.items()}
        d["_tag"] = obj.tag
        return d
    if isinstance(obj, dict):
        return {k: _tagged_to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tagged_to_plain(v) for v in obj]
    return obj


def _loc(err: dict) -> str:
    return ".".join(str(p) for p in err.get("loc", ()) if not str(p).startswith(
        ("ContainerNode", "ComponentNode", "HierarchicalNode", "tagged-union", "!")))


def _error(source: str, exc: ValidationError) -> HyflexInputError:
    """One clear message: an unknown (misspelled) key first, naming what is missing as well."""
    errs = exc.errors()
    extra = [e for e in errs if e.get("type") == "extra_forbidden"]
    missing = [e for e in errs if e.get("type") == "missing"]
    if extra:
        best = extra[0]
        msg = "unknown key (misspelled?) for Timeloop v0.4"
        if missing:
            msg += "; missing: " + ", ".join(repr(_loc(e).split(".")[-1]) for e in missing[:3])
    else:
        errs.sort(key=lambda e: -len(e.get("loc", ())))
        best = errs[0]
        msg = "required key is missing" if best.get("type") == "missing" else best.get("msg", "invalid")
    return HyflexInputError(source, _loc(best) or None, msg)


_FILE_MODELS = {"architecture": ArchFile, "problem": ProblemFile, "constraints": ConstraintsFile,
                "mapper": MapperFile, "mapping": MappingFile}


def validate_document(doc: Any, source: str) -> BaseModel:
    """Validate one parsed v0.4 document (picked by its top-level key)."""
    if not isinstance(doc, dict):
        raise HyflexInputError(source, None, "expected a YAML mapping with a Timeloop v0.4 top-level key")
    keys = [k for k in _FILE_MODELS if k in doc]
    if len(keys) != 1:
        raise HyflexInputError(source, None, f"expected exactly one of the top-level keys "
                               f"{list(_FILE_MODELS)}, got {list(doc)}")
    try:
        return _FILE_MODELS[keys[0]].model_validate(_tagged_to_plain(doc))
    except ValidationError as exc:
        raise _error(source, exc) from exc


def validate_file(path: str | Path) -> BaseModel:
    """Validate one v0.4 YAML file (picked by its top-level key)."""
    path = Path(path)
    try:
        doc = load_yaml_text(read_text(path, "a Timeloop v0.4 YAML file"))
    except yaml.YAMLError as exc:
        raise HyflexInputError(str(path), None, f"not valid YAML: {exc}") from exc
    return validate_document(doc, str(path))


def _leaves(nodes: list) -> list:
    out = []
    for n in nodes:
        if isinstance(n, HierarchicalNode):
            out.extend(_leaves(n.nodes))
        else:
            out.append(n)
    return out


def check_pair(arch: ArchFile, problem: Problem, constraints: ConstraintsBody | None,
               source: str, mapping: MappingFile | None = None) -> None:
    """Cross-check one architecture / problem / constraints (/ mapping) set: names, dims, factors.

    A mapping must give every dimension's factors, multiplying to the problem size, and fit
    every finite storage.
    """
    leaves = _leaves(arch.architecture.nodes)
    names = {leaf.name for leaf in leaves}
    if len(names) != len(leaves):
        raise HyflexInputError(source, "architecture.nodes", "node names must be unique")
    if not any(isinstance(n, ComponentNode) and n.is_compute() for n in leaves):
        raise HyflexInputError(source, "architecture.nodes", "no compute component")
    if not isinstance(leaves[-1], ComponentNode) or not leaves[-1].is_compute():
        raise HyflexInputError(source, "architecture.nodes", "the innermost node must be the compute")
    for n in leaves:
        if isinstance(n, ComponentNode) and n.is_storage():
            a = n.attributes
            if "datawidth" not in a:
                raise HyflexInputError(source, f"{n.name}.attributes.datawidth", "required for a storage")
            if not any(k in a for k in ("depth", "entries", "sizeKB")):
                raise HyflexInputError(source, f"{n.name}.attributes",
                                       "a storage needs one of depth, entries, sizeKB")
    dims = set(problem.shape.dimensions)
    spaces = {d.name for d in problem.shape.data_spaces}
    if set(problem.instance) - {"densities"} != dims:
        raise HyflexInputError(source, "problem.instance",
                               f"sizes {sorted(problem.instance)} do not match dimensions {sorted(dims)}")
    for ds in problem.shape.data_spaces:
        for axis in ds.projection:
            for term in axis:
                if term[-1] not in dims:
                    raise HyflexInputError(source, f"problem.shape.data_spaces.{ds.name}.projection",
                                           f"unknown dimension {term[-1]!r}")
    groups: list[tuple[str, str, Any]] = []
    for n in leaves:
        for kind in ("spatial", "temporal", "dataspace"):
            c = getattr(n.constraints, kind)
            if c is not None:
                groups.append((n.name, kind, c))
    cons = groups + [(t.target, t.type, t) for t in (constraints.targets if constraints else [])]
    _check_groups(cons, "constraints", names, dims, spaces, problem, source, complete=False)
    if mapping is not None:
        maps = [(t.target, t.type, t) for t in mapping.mapping]
        _check_groups(maps, "mapping", names, dims, spaces, problem, source, complete=True)
        _check_capacity(leaves, groups + maps, problem, source)


def _check_groups(groups: list, what: str, names: set, dims: set, spaces: set, problem: Problem,
                  source: str, complete: bool) -> None:
    """Targets are nodes, factors/permutations name dimensions, factors divide the sizes.

    ``complete``: the factors must multiply to the sizes exactly, as a mapping's must.
    """
    product: dict[str, int] = {d: 1 for d in dims}
    for target, kind, c in groups:
        where = f"{what}.{target}.{kind}"
        if target not in names:
            raise HyflexInputError(source, where, f"target {target!r} is not an architecture node")
        for f in getattr(c, "factors", None) or []:
            d, op, v = _FACTOR.match(f.replace(" ", "")).groups()
            if d not in dims:
                raise HyflexInputError(source, where, f"factor {f!r} names no problem dimension")
            if op == "=":
                product[d] *= int(v)
        for d in getattr(c, "permutation", None) or []:
            if d not in dims:
                raise HyflexInputError(source, where, f"permutation names unknown dimension {d!r}")
        for key in ("keep", "bypass", "no_reuse"):
            for s in getattr(c, key, None) or []:
                if s not in spaces:
                    raise HyflexInputError(source, f"{where}.{key}", f"unknown data space {s!r}")
    for d in sorted(dims):
        if complete and product[d] != problem.instance[d]:
            raise HyflexInputError(source, f"{what} (dimension {d})",
                                   f"factors multiply to {product[d]}, problem size is "
                                   f"{problem.instance[d]}")
        if product[d] > problem.instance[d] or problem.instance[d] % max(1, product[d]):
            raise HyflexInputError(source, f"{what} (dimension {d})",
                                   f"factors {product[d]} do not divide the problem size "
                                   f"{problem.instance[d]}")


def _exact_factors(c) -> dict[str, int]:
    out = {}
    for f in getattr(c, "factors", None) or []:
        d, op, v = _FACTOR.match(f.replace(" ", "")).groups()
        if op == "=":
            out[d] = int(v)
    return out


def _check_capacity(leaves: list, groups: list, problem: Problem, source: str) -> None:
    """Each finite storage must hold its tile: the product of the factors at and below it."""
    temporal: dict[str, dict[str, int]] = {}
    spatial: dict[str, dict[str, int]] = {}
    keeps: dict[str, list[str]] = {}
    for target, kind, c in groups:
        if kind == "temporal":
            temporal.setdefault(target, {}).update(_exact_factors(c))
        elif kind == "spatial":
            spatial.setdefault(target, {}).update(_exact_factors(c))
        elif kind == "dataspace" and getattr(c, "keep", None):
            keeps[target] = list(c.keep)
    spaces = {ds.name: {t[-1] for axis in ds.projection for t in axis} for ds in problem.shape.data_spaces}
    below: dict[str, int] = {d: 1 for d in problem.shape.dimensions}
    for leaf in reversed(leaves):
        for d, v in temporal.get(leaf.name, {}).items():
            below[d] = below.get(d, 1) * v
        if isinstance(leaf, ComponentNode) and leaf.is_storage():
            a = leaf.attributes
            depth = a.get("depth", a.get("entries"))
            if isinstance(depth, (int, float)) and not isinstance(depth, bool):
                per_entry = max(1, int(a.get("width", a["datawidth"])) // int(a["datawidth"]))
                capacity = int(depth) * per_entry
                tile = 0
                for ds in keeps.get(leaf.name, []):
                    size = 1
                    for d in spaces.get(ds, ()):
                        size *= below.get(d, 1)
                    tile += size
                if tile > capacity:
                    raise HyflexInputError(source, f"{leaf.name}.attributes.depth",
                                           f"holds {capacity} values, the mapping's tile of "
                                           f"{keeps.get(leaf.name)} needs {tile}")
        for d, v in spatial.get(leaf.name, {}).items():
            below[d] = below.get(d, 1) * v


def validate_export(folder: str | Path) -> dict[str, int]:
    """Validate an export folder: v0.4 schema, cross-checks, and the toolchain checks.

    Every file is checked against the v0.4 schema, each run's files against each other, and
    what timeloopfe and Accelergy 0.4 will do with the folder (``checks.py``).

    Returns counts of validated files per kind. Raises HyflexInputError on the first problem.
    """
    folder = Path(folder)
    runs_file = folder / "runs.yaml"
    if not runs_file.is_file():
        raise HyflexInputError(str(folder), "runs.yaml", "not an export folder (runs.yaml missing)")
    counts: dict[str, int] = {}
    parsed: dict[str, BaseModel] = {}
    for p in sorted(folder.rglob("*.yaml")):
        rel = p.relative_to(folder).as_posix()
        if rel.split("/")[0] in ("arch", "problems", "constraints", "mapper", "mappings"):
            m = validate_file(p)
            parsed[rel] = m
            kind = type(m).__name__
            counts[kind] = counts.get(kind, 0) + 1
    runs = read_yaml(runs_file)
    if not isinstance(runs, dict) or not isinstance(runs.get("runs"), list):
        raise HyflexInputError(str(runs_file), "runs", "expected a list of runs")
    for run in runs["runs"]:
        if not isinstance(run, dict) or not all(k in run for k in ("name", "arch", "problem")):
            raise HyflexInputError(str(runs_file), "runs", "each run needs name, arch and problem")
        arch, prob, cons, mapping = (parsed.get(run.get(k))
                                     for k in ("arch", "problem", "constraints", "mapping"))
        if not isinstance(arch, ArchFile) or not isinstance(prob, ProblemFile):
            raise HyflexInputError(str(runs_file), f"runs.{run.get('name')}",
                                   "names a missing architecture or problem file")
        if run.get("mapping") is not None and not isinstance(mapping, MappingFile):
            raise HyflexInputError(str(runs_file), f"runs.{run.get('name')}",
                                   "names a missing mapping file")
        check_pair(arch, prob.problem, cons.constraints if isinstance(cons, ConstraintsFile) else None,
                   f"{folder}/{run['problem']}", mapping)
    from hyflex_plugin.export import checks

    docs = {rel: load_yaml_text(read_text(folder / rel, "a Timeloop v0.4 YAML file"))
            for rel, m in parsed.items() if isinstance(m, ArchFile)}
    for rel, doc in docs.items():
        checks.check_expressions(doc, str(folder / rel))
    checks.check_tables(folder, docs)
    checks.check_plugin(folder, docs)
    return counts
