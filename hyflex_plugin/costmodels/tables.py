"""Energy-per-action and area tables of every hyflex component (what an Accelergy user imports)."""

from __future__ import annotations

import csv
import io

import yaml

from hyflex_plugin.costmodels import models as m
from hyflex_plugin.costmodels.constants import const

#: (component label, class, attributes) for the table; both modes where a mode matters.
TABLE_COMPONENTS: list[tuple[str, type, dict]] = [
    ("rram_cell_slc", m.HyflexRRAMCell, {"bits_per_cell": 1}),
    ("rram_cell_mlc", m.HyflexRRAMCell, {"bits_per_cell": 2}),
    ("rram_array_slc", m.HyflexRRAMArray, {"bits_per_cell": 1}),
    ("rram_array_mlc", m.HyflexRRAMArray, {"bits_per_cell": 2}),
    ("sar_adc_slc_6b", m.HyflexSARADC, {"resolution": 6}),
    ("sar_adc_mlc_7b", m.HyflexSARADC, {"resolution": 7}),
    ("wordline_driver", m.HyflexWordlineDriver, {}),
    ("shift_add_slc", m.HyflexShiftAdd, {"bits_per_cell": 1}),
    ("shift_add_mlc", m.HyflexShiftAdd, {"bits_per_cell": 2}),
    ("mode_switch", m.HyflexModeSwitch, {}),
    ("digital_pim_array", m.HyflexDigitalPIMArray, {}),
    ("sfu", m.HyflexSFU, {}),
    ("buffer", m.HyflexBuffer, {}),
    ("link", m.HyflexLink, {}),
]

COLUMNS = ["component", "class", "attributes", "action", "energy_j", "latency_s", "area_m2"]


def component_table(tech_node: float | None = None) -> list[dict]:
    """One row per (component, action): energy [J], latency [s], area [m^2] at ``tech_node`` [m].

    ``tech_node`` defaults to the node the cost constants are stated at (65 nm).
    """
    if tech_node is None:
        tech_node = const("base_tech_node")
    rows = []
    for label, cls, attrs in TABLE_COMPONENTS:
        model = cls(**attrs, tech_node=tech_node)
        full_attrs = {k: getattr(model, k) for k in m.attribute_names(cls)}
        for action in model.get_action_names():
            cost = getattr(model, action)()
            rows.append({
                "component": label,
                "class": cls.__name__,
                "attributes": full_attrs,
                "action": action,
                "energy_j": cost.energy,
                "latency_s": cost.latency,
                "area_m2": model.area,
            })
    return rows


def _attr_str(attrs: dict) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in attrs.items())


def to_csv(rows: list[dict]) -> str:
    """The table as CSV in report units (pJ, ns, um^2)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["component", "class", "attributes", "action", "energy_pJ", "latency_ns", "area_um2"])
    for r in rows:
        w.writerow([r["component"], r["class"], _attr_str(r["attributes"]), r["action"],
                    f"{r['energy_j'] * 1e12:.6g}", f"{r['latency_s'] * 1e9:.6g}",
                    f"{r['area_m2'] * 1e12:.6g}"])
    return buf.getvalue()


def to_yaml(rows: list[dict], tech_node: float) -> str:
    """The table as YAML in SI units, with the technology node [m] it is for."""
    doc = {"tech_node_m": tech_node, "units": {"energy": "J", "latency": "s", "area": "m^2"},
           "source": "hyflex cost models (hyflex_plugin/costmodels, data/hyflexpim_65nm.yaml)",
           "rows": rows}
    return yaml.safe_dump(doc, sort_keys=False)


def to_text(rows: list[dict]) -> str:
    """The table aligned for a terminal (pJ, ns, um^2)."""
    head = ["component", "action", "energy (pJ)", "latency (ns)", "area (um^2)", "attributes"]
    body = [[r["component"], r["action"], f"{r['energy_j'] * 1e12:.4g}",
             f"{r['latency_s'] * 1e9:.4g}", f"{r['area_m2'] * 1e12:.4g}",
             _attr_str(r["attributes"])] for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i in (0, 1, 5) else c.rjust(w)
                       for i, (c, w) in enumerate(zip(line, widths))).rstrip()
             for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
