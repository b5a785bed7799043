"""Accelergy inputs for the exported design: table-based plug-in CSV data and a plug-in module.

Each architecture component the export uses is an Accelergy *primitive* named by its
``subclass`` (``hyflex_sar_adc``, ``hyflex_rram_cell_preprogrammed``, ...). Its energy per
Timeloop action (``read``, ``write``, ``update``, ``leak`` for storages; ``compute``, ``leak``
for computes) comes from hyflex's hwcomponents models (``hyflex_plugin.costmodels.models``):

- as CSV tables for Accelergy's table-based plug-in (``accelergy/tables/``: one
  ``<subclass>.csv`` per primitive, energy in pJ and area in um^2, plus ``hyflex.table.yaml``);
- as a small Accelergy estimator plug-in (``accelergy/plugin/``: ``hyflex.estimator.yaml`` and
  ``hyflex_accelergy_plugin.py``) that serves the same numbers, from its own JSON data file, to a
  user who adds the folder to Accelergy's config.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

from hyflex_plugin.costmodels import models as m

#: Timeloop action -> model action (None: no energy for that action)
_StorageMap = dict[str, str | None]


@dataclass
class Primitive:
    """One Accelergy primitive of the export: model class + attributes + action mapping."""

    subclass: str
    model: type | None
    attributes: dict
    actions: _StorageMap
    note: str = ""
    area_from_model: bool = True
    extra: dict = field(default_factory=dict)

    def instantiate(self, tech_node: float):
        if self.model is None:
            return None
        return self.model(**self.attributes, tech_node=tech_node)

    def energies_j(self, tech_node: float) -> dict[str, float]:
        """Energy [J] per Timeloop action."""
        inst = self.instantiate(tech_node)
        return {a: (0.0 if (inst is None or src is None) else float(getattr(inst, src)().energy))
                for a, src in self.actions.items()}

    def area_m2(self, tech_node: float) -> float:
        inst = self.instantiate(tech_node)
        return 0.0 if inst is None or not self.area_from_model else float(inst.area)


STORAGE_ACTIONS = ("read", "write", "update", "leak")
COMPUTE_ACTIONS = ("compute", "leak")


def _storage(read: str | None, write: str | None = None, update: str | None = None) -> _StorageMap:
    return {"read": read, "write": write, "update": update, "leak": None}


def analog_primitives(bits_per_cell: int, rows: int, columns: int, adc_bits: int,
                      adc_max_bits: int, adc_throughput: float, buffer_bits: int,
                      mode_switch: bool, buffer_width: int) -> list[Primitive]:
    """Primitives of one analog (SLC or MLC) architecture."""
    mode = "slc" if bits_per_cell == 1 else "mlc"
    prims = [
        Primitive("hyflex_dummy_storage", None, {}, _storage(None),
                  note="activations and weights before they reach the PU (not priced, as in hyflex)"),
        Primitive("hyflex_buffer", m.HyflexBuffer, {"width": buffer_width, "size": buffer_bits},
                  _storage("read", "write", "write"), note=f"per {buffer_width}-bit access"),
        Primitive(f"hyflex_sar_adc_{adc_bits}b", m.HyflexSARADC,
                  {"resolution": adc_bits, "max_resolution": adc_max_bits,
                   "throughput": adc_throughput},
                  _storage("convert"), note="one conversion per output read; scaled by energy_scale "
                  "= input bit-slices x weight slices"),
        Primitive(f"hyflex_shift_add_{mode}", m.HyflexShiftAdd, {"bits_per_cell": bits_per_cell},
                  _storage("compute"), note="one shift-and-add per ADC output"),
        Primitive("hyflex_wordline_driver", m.HyflexWordlineDriver, {"rows": rows},
                  _storage("read"), note="drive one row for one input bit"),
        Primitive(f"hyflex_rram_cell_{mode}_preprogrammed", m.HyflexRRAMCell,
                  {"bits_per_cell": bits_per_cell, "rows": rows, "columns": columns},
                  _storage("read", None, None),
                  note="one cell, one 1-bit input cycle; write = 0: weights are programmed before "
                  "inference, as in hyflex's evaluation (the real write energy is in "
                  "hyflex_components.csv)"),
    ]
    if mode_switch:
        prims.insert(4, Primitive("hyflex_mode_switch", m.HyflexModeSwitch, {}, _storage("read"),
                                  note="per-conversion SLC/MLC mode overhead"))
    prims.append(Primitive("hyflex_virtual_mac", None, {}, {"compute": None, "leak": None},
                           note="virtualized 1-bit MAC: the analog MAC's cost is the cells' reads"))
    return prims


def digital_primitives(lanes: int, op_bits: int, buffer_bits: int,
                       buffer_width: int) -> list[Primitive]:
    return [
        Primitive("hyflex_dummy_storage", None, {}, _storage(None)),
        Primitive("hyflex_buffer", m.HyflexBuffer, {"width": buffer_width, "size": buffer_bits},
                  _storage("read", "write", "write"), note=f"per {buffer_width}-bit access"),
        Primitive("hyflex_digital_pim_cells", m.HyflexDigitalPIMArray,
                  {"rows": lanes, "op_bits": op_bits}, _storage("read", "write", "write"),
                  note="operand cells of one row lane (area: one whole array)"),
        Primitive("hyflex_digital_pim_mac", m.HyflexDigitalPIMArray,
                  {"rows": lanes, "op_bits": op_bits}, {"compute": "compute", "leak": None},
                  note="one INT8 MAC on one lane = n MAGIC NOR steps", area_from_model=False),
    ]


def unique(prims: list[Primitive]) -> list[Primitive]:
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
            rows.append({"subclass": p.subclass, "model": p.model.__name__ if p.model else None,
                         "model_action": p.actions[action], "attributes": dict(p.attributes),
                         "action": action, "energy_j": energy, "area_m2": area, "note": p.note})
    return rows


def table_csvs(rows: list[dict], tech_node: float) -> dict[str, str]:
    """Table-based plug-in data: ``<subclass>.csv`` -> text (energy in pJ, area in um^2)."""
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["subclass"], []).append(r)
    out = {}
    tech_nm = round(tech_node * 1e9, 6)
    for sub, rs in by.items():
        attr_names = list(rs[0]["attributes"])
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["technology", *attr_names, "action", "energy", "area"])
        for r in rs:
            w.writerow([f"{tech_nm:g}", *[r["attributes"][a] for a in attr_names], r["action"],
                        repr(r["energy_j"] * 1e12), repr(r["area_m2"] * 1e12)])
        out[f"{sub}.csv"] = buf.getvalue()
    return out


def table_identifier(tech_node: float) -> str:
    return (
        "# Accelergy table-based plug-in: identifier of hyflex's set of tables.\n"
        "# CSV columns: technology (nm), the primitive's attributes, action, energy (pJ per action),\n"
        "# area (um^2 per instance). Numbers from hyflex's hwcomponents models\n"
        "# (hyflex_plugin/costmodels, data/hyflexpim_65nm.yaml).\n"
        f"name: hyflex_tables\ntechnology: {round(tech_node * 1e9, 6):g}nm\n"
        "accuracy: 80\npath_to_data_dir: ./data\n"
    )


PLUGIN_MODULE = "hyflex_accelergy_plugin"


def plugin_files(rows: list[dict]) -> dict[str, str]:
    """The Accelergy estimator plug-in: ``*.estimator.yaml``, module and its JSON data."""
    data: dict[str, dict] = {}
    for r in rows:
        d = data.setdefault(r["subclass"], {"attributes": r["attributes"], "area_m2": r["area_m2"],
                                            "energy_j": {}, "hyflex_model": r["model"],
                                            "hyflex_model_action": {}, "note": r["note"]})
        d["energy_j"][r["action"]] = r["energy_j"]
        d["hyflex_model_action"][r["action"]] = r["model_action"]
    estimator_yaml = (
        "# Accelergy plug-in descriptor: serves hyflex's energy/area numbers for the primitives\n"
        "# of this export. Add this folder to Accelergy's config (estimator_plug_ins), or add\n"
        f"# {PLUGIN_MODULE}.py to python_plug_ins. For an Accelergy older than the Estimator\n"
        "# interface, replace python_plug_ins by an entry\n"
        f"#   hyflex_estimators: {{module: {PLUGIN_MODULE}, class: HyflexPrimitives}}\n"
        "version: 0.4\n"
        "python_plug_ins:\n"
        f"  - {PLUGIN_MODULE}.py\n"
    )
    return {"hyflex.estimator.yaml": estimator_yaml,
            f"{PLUGIN_MODULE}.py": _PLUGIN_SOURCE,
            "hyflex_primitives.json": json.dumps(data, indent=2) + "\n"}


# The plug-in module written into the export. It is self-contained (it reads its JSON next to
# it and needs neither hyflex nor hwcomponents): one Accelergy Estimator subclass per primitive,
# each with one @actionDynamicEnergy method per action, get_area() and leak().
_PLUGIN_SOURCE = '''"""Accelergy plug-in serving hyflex's energy [J] and area [m^2] numbers (generated by hyflex).

One Estimator class per primitive (Accelergy finds it by ``name`` = the component's subclass).
Numbers: hyflex_primitives.json next to this file, from hyflex's hwcomponents models.
"""

import json
import os

try:  # current Accelergy plug-in interface
    from accelergy.plug_in_interface.estimator import Estimator, actionDynamicEnergy
except ImportError:  # lets the numbers be inspected without Accelergy installed
    class Estimator:  # noqa: D401 - minimal stand-in
        def __init__(self, *args, **kwargs):
            pass

    def actionDynamicEnergy(func):
        func._is_accelergy_action = True
        return func

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, "hyflex_primitives.json"), encoding="utf-8") as _fh:
    PRIMITIVES = json.load(_fh)


def _make(subclass, entry):
    def __init__(self, **attributes):
        super(cls, self).__init__()
        for key, expected in entry["attributes"].items():
            if key in attributes and str(attributes[key]) != str(expected):
                raise ValueError(
                    f"{subclass}: attribute {key}={attributes[key]!r}, this table has {expected!r}")
        self.attributes = attributes

    body = {"name": subclass, "percent_accuracy_0_to_100": 80, "__init__": __init__,
            "__module__": __name__,
            "get_area": lambda self: entry["area_m2"],
            "leak": lambda self, global_cycle_seconds: entry["energy_j"].get("leak", 0.0)}
    for action, energy in entry["energy_j"].items():
        if action == "leak":
            continue
        body[action] = actionDynamicEnergy(lambda self, *a, _e=energy, **k: _e)
    cls = type("Hyflex_" + subclass, (Estimator,), body)
    return cls


ESTIMATORS = {sub: _make(sub, entry) for sub, entry in PRIMITIVES.items()}
globals().update({cls.__name__: cls for cls in ESTIMATORS.values()})


class HyflexPrimitives:
    """Older (table-style) plug-in interface over the same numbers."""

    def __init__(self):
        self.estimator_name = "hyflex_estimators"

    def primitive_action_supported(self, interface):
        sub = interface.get("class_name")
        return 80 if sub in PRIMITIVES and interface.get("action_name") in PRIMITIVES[sub]["energy_j"] else 0

    def estimate_energy(self, interface):
        return PRIMITIVES[interface["class_name"]]["energy_j"][interface["action_name"]] * 1e12

    def primitive_area_supported(self, interface):
        return 80 if interface.get("class_name") in PRIMITIVES else 0

    def estimate_area(self, interface):
        return PRIMITIVES[interface["class_name"]]["area_m2"] * 1e12
'''
