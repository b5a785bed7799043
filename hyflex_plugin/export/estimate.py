"""First-order energy of an exported run under its pinned mapping, from the exported files only.

This is what Timeloop should report for a run whose constraints pin every factor (hyflex's
fixed mapping), computed with Timeloop's counting rules as documented (per storage level:
reads to the child/compute, fills from the parent, updates of read-write data; multicast of
data that does not depend on a spatial dimension is one read; spatial reduction happens at the
lowest level keeping the outputs above the fanout), times the energy per action of the exported
Accelergy data (``accelergy/plugin/hyflex_primitives.json``) and each node's ``energy_scale``.
Vector storages (``width`` > ``datawidth``) are accessed ``width/datawidth`` values at a time.

It is a consistency check of the export (tables, scales, structure, padding) against hyflex's
own evaluation when Timeloop itself is not installed; it is not a replacement for Timeloop.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.export.schema import load_yaml_text


def _nodes(folder: Path, arch_rel: str) -> dict[str, dict]:
    doc = load_yaml_text((folder / arch_rel).read_text())
    return {n["name"]: dict(n) for n in doc["architecture"]["nodes"] if "name" in n}


def analog_actions(shape: dict, tokens: int) -> dict[tuple[str, str], float]:
    """Value-level action counts of one linear part (padded sizes) on the analog path."""
    m, n, k, an, ak = tokens, shape["n_padded"], shape["k_padded"], shape["arrays_n"], shape["arrays_k"]
    return {
        ("cim_unit", "read"): m * n * k,                     # one weight read per 1-bit-virtualized MAC
        ("row_drivers", "read"): m * k * an,                 # inputs multicast over the columns
        ("mode_switch", "read"): m * n * ak,                 # finished column sums, per array
        ("shift_add", "read"): m * n * ak,
        ("adc", "read"): m * n * ak,
        ("buffer", "read"): m * k + m * n,                   # inputs out (multicast over arrays_n), outputs out
        ("buffer", "write"): m * k,                          # input fills
        ("buffer", "update"): m * n * ak,                    # partial sums of the arrays_k groups
        ("virtualized_mac", "compute"): m * n * k,
    }


def digital_actions(shape: dict) -> dict[tuple[str, str], float]:
    """Value-level action counts of one attention matmul (padded sizes) on the digital path."""
    h, m, j, k = shape["h"], shape["m_padded"], shape["j_padded"], shape["k"]
    macs = h * m * j * k
    return {
        ("digital_mac", "compute"): macs,
        # A and B operands per MAC, read-modify-write of the partial C (all but the first
        # update per output) and one drain per output to the buffer: 3 reads per MAC
        ("digital_cells", "read"): 2 * macs + (macs - h * m * j) + h * m * j,
        ("digital_cells", "update"): macs,
        ("digital_cells", "write"): h * m * k + h * j * k,  # operand fills (written into the lane)
        ("buffer", "read"): h * m * k + h * j * k + h * m * j,
        ("buffer", "write"): h * m * k + h * j * k,
        ("buffer", "update"): h * m * j,
    }


def estimate_run(folder: str | Path, name: str) -> dict:
    """Energy [J] of run ``name`` of an export folder: total and per architecture node."""
    folder = Path(folder)
    meta = yaml.safe_load((folder / "runs.yaml").read_text())
    run = next((r for r in meta["runs"] if r["name"] == name), None)
    if run is None:
        raise HyflexInputError(str(folder / "runs.yaml"), "runs", f"no run named {name!r}")
    prims = json.loads((folder / "accelergy/plugin/hyflex_primitives.json").read_text())
    nodes = _nodes(folder, run["arch"])
    counts = (analog_actions(run["shape"], meta["seq_len"]) if run["path"] == "analog"
              else digital_actions(run["shape"]))
    by_node: dict[str, float] = {}
    for (node_name, action), values in counts.items():
        node = nodes.get(node_name)
        if node is None:
            continue  # e.g. no mode switch in a single-mode design
        attrs = node.get("attributes", {})
        per_access = 1
        if node.get("class") == "storage":
            width, dw = attrs.get("width", 8), attrs.get("datawidth", 8)
            per_access = max(1, int(width) // int(dw))
        energy = prims[node["subclass"]]["energy_j"][action]
        scale = node.get("energy_scale") or 1
        by_node[node_name] = by_node.get(node_name, 0.0) + values / per_access * energy * scale
    return {"energy_j": sum(by_node.values()), "energy_by_node_j": by_node}
