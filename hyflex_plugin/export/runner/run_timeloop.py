"""Run one exported problem through classic Timeloop (timeloopfe -> timeloop-mapper/-model -> Accelergy).

Shipped with hyflex (``hyflex_plugin/export/runner/``) and copied unchanged into every Timeloop
export. Run it from the export folder with the Python that has timeloopfe (pytimeloop) and
Accelergy 0.4, with ``timeloop-mapper``, ``timeloop-model`` and ``accelergy`` on PATH:

    python run_timeloop.py mapper RUN --accelergy tables   # timeloop-mapper with the constraints
    python run_timeloop.py model RUN --accelergy tables    # timeloop-model on hyflex's mapping

``RUN`` is a run name of ``runs.yaml``. ``--accelergy tables`` prices the components with
Accelergy's table-based plug-in (register ``accelergy/tables`` once with ``accelergyTables -r``);
``--accelergy plugin`` loads ``accelergy/plugin/hyflex_accelergy_plugin.py`` for this run
(timeloopfe's ``globals.accelergy_plug_ins``). Outputs go to ``output/<accelergy>/<RUN>/<tool>/``
(Timeloop's own files) and a summary ``result.yaml`` there: energy [J], cycles, latency [s]
(cycles x the architecture's ``GLOBAL_CYCLE_SECONDS``), energy per component [J], and the mapping.
It needs nothing from hyflex.
"""

from __future__ import annotations

import argparse
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN = os.path.join(HERE, "accelergy", "plugin", "hyflex_accelergy_plugin.py")


def _run_entry(name: str) -> dict:
    with open(os.path.join(HERE, "runs.yaml"), encoding="utf-8") as fh:
        runs = yaml.safe_load(fh)["runs"]
    for run in runs:
        if run["name"] == name:
            return run
    sys.exit(f"run_timeloop.py: error: no run named {name!r} in runs.yaml "
             f"(runs: {', '.join(r['name'] for r in runs)})")


def run(tool: str, name: str, accelergy: str) -> dict:
    """Run ``tool`` ('mapper' or 'model') on run ``name``; returns the summary it writes."""
    import pytimeloop.timeloopfe.v4 as tl

    entry = _run_entry(name)
    files = [entry["arch"], entry["problem"]]
    files += [entry["constraints"], "mapper/mapper.yaml"] if tool == "mapper" else [entry["mapping"]]
    spec = tl.Specification.from_yaml_files(*[os.path.join(HERE, f) for f in files])
    if accelergy == "plugin":
        spec.globals.accelergy_plug_ins.append(PLUGIN)
    out = os.path.join(HERE, "output", accelergy, name, tool)
    os.makedirs(out, exist_ok=True)
    call = tl.call_mapper if tool == "mapper" else tl.call_model
    stats = call(spec, output_dir=out, log_to=os.path.join(out, f"timeloop-{tool}.log"))
    summary = {"run": name, "tool": f"timeloop-{tool}", "accelergy": accelergy,
               "energy_j": float(stats.energy), "cycles": int(stats.cycles),
               "cycle_seconds": float(stats.cycle_seconds), "latency_s": float(stats.latency),
               "computes": int(stats.computes),
               "energy_by_component_j": {k: float(v) for k, v in stats.per_component_energy.items()},
               "mapping": stats.mapping}
    with open(os.path.join(out, "result.yaml"), "w", encoding="utf-8") as fh:
        yaml.safe_dump(summary, fh, sort_keys=False)
    return summary


def main(argv=None) -> int:
    """Command line: ``python run_timeloop.py {mapper,model} RUN --accelergy {tables,plugin}``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tool", choices=("mapper", "model"),
                    help="timeloop-mapper (constraints) or timeloop-model (hyflex's mapping)")
    ap.add_argument("run", help="run name from runs.yaml")
    ap.add_argument("--accelergy", choices=("tables", "plugin"), default="tables",
                    help="Accelergy route: table-based plug-in or hyflex's Python plug-in "
                    "(default: %(default)s)")
    args = ap.parse_args(argv)
    s = run(args.tool, args.run, args.accelergy)
    print(f"{s['run']}: {s['tool']} ({s['accelergy']}): energy {s['energy_j'] * 1e9:.6g} nJ, "
          f"{s['cycles']} cycles = {s['latency_s'] * 1e6:.6g} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
