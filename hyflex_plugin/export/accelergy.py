"""Accelergy inputs of the export: the primitives, their table-based plug-in CSVs and plug-in data.

Each architecture component of the export is an Accelergy *primitive* named by its ``subclass``
(``hyflex_sar_adc_7b``, ``hyflex_rram_cell_mlc_preprogrammed``, ...). Its energy per Timeloop
action comes from hyflex's hwcomponents models (``hyflex_plugin.costmodels.models``), at the
design's parameters as hyflex's own evaluation renders them (``evaluation.engine.linear_params``
/ ``attention_params``). Every primitive is priced on the actions Timeloop really counts for the
level it sits at: output-side levels (shift-add, mode switch, ADC) see *updates* (partial sums
arriving from below), the cells and the word-line drivers see *reads*, the buffer and the lane
cells see reads, writes (fills) and updates.

Two routes serve the same numbers to Accelergy 0.4:

- table-based plug-in (``accelergy/tables/``): one ``<subclass>.csv`` per primitive with the
  columns Accelergy's queries are matched on (``technology``, the primitive's attributes,
  ``global_cycle_seconds``, ``action_latency_cycles``), values written as Accelergy formats them
  (``65nm``, ``1280000000``, ``1e-07``), then ``action``, ``energy`` (pJ) and ``area`` (um^2);
- estimator plug-in (``accelergy/plugin/``): ``hyflex_accelergy_plugin.py``, a real module
  shipped in this package (``export/accelergy_plugin/``) and copied out unchanged, reading
  ``hyflex_primitives.json`` (J, m^2) next to it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from hyflex_plugin.architecture.design import HyflexDesign
from hyflex_plugin.costmodels import models as m

PLUGIN_DIR = Path(__file__).resolve().parent / "accelergy_plugin"
PLUGIN_MODULE = "hyflex_accelergy_plugin"
#: the actions Timeloop asks Accelergy for, per element kind
STORAGE_ACTIONS = ("read", "write", "update", "leak")
COMPUTE_ACTIONS = ("compute", "leak")
#: arguments Accelergy 0.4 passes with every action query (and their value for one action)
ACTION_ARGUMENTS = ("global_cycle_seconds", "action_latency_cycles")


@dataclass
class Primitive:
    """One Accelergy primitive: hwcomponents model + attributes + Timeloop action -> model action.

    ``actions`` maps each Timeloop action to ``(model action, factor)`` or None (no energy).
    """

    role: str
    subclass: str
    model: type | None
    attributes: dict
    actions: dict[str, tuple[str, float] | None]
    note: str = ""
    area_from_model: bool = True
    extra: dict = field(default_factory=dict)

    def instantiate(self, tech_node: float):
        """The hwcomponents model at ``tech_node`` [m] (None for an unpriced primitive)."""
        return None if self.model is None else self.model(**self.attributes, tech_node=tech_node)

    def energies_j(self, tech_node: float) -> dict[str, float]:
        """Energy [J] per Timeloop action."""
        inst = self.instantiate(tech_node)
        out = {}
        for action, src in self.actions.items():
            if inst is None or src is None:
                out[action] = 0.0
            else:
                name, factor = src
                out[action] = float(getattr(inst, name)().energy) * factor
        return out

    def area_m2(self, tech_node: float) -> float:
        """Area [m^2] of one instance."""
        inst = self.instantiate(tech_node)
        return 0.0 if inst is None or not self.area_from_model else float(inst.area)


def _storage(read=None, write=None, update=None) -> dict:
    def one(a):
        return None if a is None else (a, 1.0)

    return {"read": one(read), "write": one(write), "update": one(update), "leak": None}


def _number(v):
    """An attribute as Accelergy formats it: integral floats become ints (1.28e9 -> 1280000000)."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e18:
        return int(v)
    return v


def _attrs(**kw) -> dict:
    return {k: _number(v) for k, v in kw.items()}


def _dummy(role: str, note: str) -> Primitive:
    return Primitive(role, "hyflex_dummy_storage", None, {}, _storage(), note=note)


def _buffer(design: HyflexDesign, params: dict) -> Primitive:
    return Primitive("buffer", "hyflex_buffer", m.HyflexBuffer,
                     _attrs(width=params["buffer_width"],
                            size=params["buffer_bits"]),
                     _storage("read", "write", "write"), note="one buffer-width access")


def analog_primitives(design: HyflexDesign, slc: bool) -> list[Primitive]:
    """Primitives of the analog path in one cell mode, at hyflex's own template parameters."""
    from hyflex_plugin.evaluation.engine import linear_params

    p = linear_params(design, 1, 1, slc)
    bits = p["bits_per_cell"]
    mode = "slc" if bits == design.analog.slc_bits_per_cell else "mlc"
    prims = [
        _dummy("source", "activations and weights before they reach the PU (not priced, as in "
               "hyflex)"),
        _buffer(design, p),
        Primitive("shift_add", f"hyflex_shift_add_{mode}", m.HyflexShiftAdd,
                  _attrs(bits_per_cell=bits), _storage(update="compute"),
                  note="one shift-and-add of one ADC output (per weight slice: energy_scale)"),
        Primitive("adc", f"hyflex_sar_adc_{p['adc_bits']}b", m.HyflexSARADC,
                  _attrs(resolution=p["adc_bits"], max_resolution=p["adc_max_bits"],
                         throughput=p["adc_throughput"]),
                  _storage(update="convert"),
                  note="one conversion of one column sum for one input bit (per weight slice: "
                  "energy_scale)"),
        Primitive("row_drivers", "hyflex_wordline_driver", m.HyflexWordlineDriver,
                  _attrs(rows=p["rows"]), _storage(read="read"),
                  note="drive one row for one input bit"),
        Primitive("cim_unit", f"hyflex_rram_cell_{mode}_preprogrammed", m.HyflexRRAMCell,
                  _attrs(bits_per_cell=bits, rows=p["rows"], columns=p["columns"]),
                  _storage(read="read"),
                  note="one cell, one 1-bit input cycle (per weight slice: energy_scale); write = "
                  "0: weights are programmed before inference, as in hyflex's evaluation (the "
                  "real program energy is in hyflex_components.csv)"),
        Primitive("mac", "hyflex_virtual_mac", None, {}, {"compute": None, "leak": None},
                  note="virtualized 1-bit MAC: the analog MAC's cost is the cells' reads"),
    ]
    if p["mode_switch"]:
        prims.insert(3, Primitive("mode_switch", "hyflex_mode_switch", m.HyflexModeSwitch, {},
                                  _storage(update="read"),
                                  note="per-conversion SLC/MLC mode overhead"))
    return prims


def digital_primitives(design: HyflexDesign) -> list[Primitive]:
    """Primitives of the digital NOR-PIM path, at hyflex's own template parameters."""
    from hyflex_plugin.evaluation.engine import attention_params

    p = attention_params(design, 1, 1, 1, 1)
    lanes, op_bits, number_format = p["lanes"], p["op_bits"], p["number_format"]
    steps = m.nor_steps_per_mac(op_bits, number_format)
    # FP designs only: INT designs keep the attributes (and tables) they always had
    fmt = {"number_format": number_format} if number_format != "int" else {}
    return [
        _dummy("source", "activations before they reach the PU (not priced, as in hyflex)"),
        _buffer(design, p),
        Primitive("digital_cells", "hyflex_digital_pim_cells", m.HyflexDigitalPIMArray,
                  _attrs(rows=lanes, op_bits=op_bits, **fmt),
                  _storage("read", "write", "write"),
                  note="one operand of one row lane (area: one whole array)"),
        _dummy("nor_steps", "the NOR steps of one MAC work on operands already in the lane"),
        Primitive("mac", "hyflex_digital_pim_nor_step", m.HyflexDigitalPIMArray,
                  _attrs(rows=lanes, op_bits=op_bits, **fmt),
                  {"compute": ("compute", 1.0 / steps), "leak": None},
                  note=f"one NOR step of one row lane (one {number_format}{op_bits} MAC = {steps} steps)",
                  area_from_model=False, extra={"nor_steps_per_mac": steps}),
    ]


def unique(prims: list[Primitive]) -> list[Primitive]:
    """One primitive per subclass (two with the same name must be the same primitive)."""
    seen: dict[str, Primitive] = {}
    for p in prims:
        if p.subclass in seen and seen[p.subclass].attributes != p.attributes:
            raise ValueError(f"two different primitives named {p.subclass}")
        seen.setdefault(p.subclass, p)
    return list(seen.values())


def primitive_rows(prims: list[Primitive], tech_node: float) -> list[dict]:
    """One row per (primitive, action): energy [J], area [m^2] (what every output serves)."""
    rows = []
    for p in prims:
        e = p.energies_j(tech_node)
        area = p.area_m2(tech_node)
        for action, energy in e.items():
            src = p.actions[action]
            rows.append({"subclass": p.subclass, "model": p.model.__name__ if p.model else None,
                         "model_action": None if src is None else src[0],
                         "model_factor": None if src is None else src[1],
                         "attributes": dict(p.attributes), "action": action, "energy_j": energy,
                         "area_m2": area, "note": p.note})
    return rows


def table_csvs(rows: list[dict], tech_node: float,
               cycle_s: dict[str, set[float]]) -> dict[str, str]:
    """Table-based plug-in data: ``<subclass>.csv`` -> text (energy in pJ, area in um^2).

    ``cycle_s``: the ``global_cycle_seconds`` each primitive is queried with (those of the
    architectures it is in): one row per action and cycle.
    """
    from hyflex_plugin.units import nm

    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["subclass"], []).append(r)
    out = {}
    for sub, rs in by.items():
        attr_names = list(rs[0]["attributes"])
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["technology", *attr_names, *ACTION_ARGUMENTS, "action", "energy", "area"])
        for cycle in sorted(cycle_s[sub]):
            for r in rs:
                w.writerow([nm(tech_node), *[str(r["attributes"][a]) for a in attr_names],
                            str(cycle), "1", r["action"], repr(r["energy_j"] * 1e12),
                            repr(r["area_m2"] * 1e12)])
        out[f"{sub}.csv"] = buf.getvalue()
    return out


def table_identifier(tech_node: float) -> str:
    """``hyflex.table.yaml``: the table-based plug-in's identifier of hyflex's set of tables."""
    from hyflex_plugin.units import nm

    return (
        "# Accelergy table-based plug-in: identifier of hyflex's set of tables.\n"
        "# CSV columns: technology, the primitive's attributes, global_cycle_seconds and\n"
        "# action_latency_cycles (Accelergy 0.4 sends both with every query), action, energy\n"
        "# (pJ per action), area (um^2 per instance). Numbers from hyflex's hwcomponents models\n"
        "# (hyflex_plugin/costmodels, data/hyflexpim_65nm.yaml).\n"
        f"name: hyflex_tables\ntechnology: {nm(tech_node)}\n"
        "accuracy: 80\npath_to_data_dir: ./data\n"
    )


def plugin_files(rows: list[dict]) -> dict[str, str]:
    """The estimator plug-in folder: descriptor, the shipped module and its JSON data."""
    data: dict[str, dict] = {}
    for r in rows:
        d = data.setdefault(r["subclass"], {"attributes": r["attributes"], "area_m2": r["area_m2"],
                                            "energy_j": {}, "hyflex_model": r["model"],
                                            "hyflex_model_action": {}, "note": r["note"]})
        d["energy_j"][r["action"]] = r["energy_j"]
        d["hyflex_model_action"][r["action"]] = (None if r["model_action"] is None
                                                 else [r["model_action"], r["model_factor"]])
    estimator_yaml = (
        "# Accelergy plug-in descriptor: serves hyflex's energy/area numbers for the primitives\n"
        "# of this export. Add this folder to estimator_plug_ins in Accelergy's config, or pass\n"
        f"# {PLUGIN_MODULE}.py to timeloopfe as globals.accelergy_plug_ins (run_timeloop.py does).\n"
        "version: 0.4\n"
        "python_plug_ins:\n"
        f"  - {PLUGIN_MODULE}.py\n"
    )
    return {"hyflex.estimator.yaml": estimator_yaml,
            f"{PLUGIN_MODULE}.py": (PLUGIN_DIR / f"{PLUGIN_MODULE}.py").read_text(encoding="utf-8"),
            "hyflex_primitives.json": json.dumps(data, indent=2) + "\n"}
