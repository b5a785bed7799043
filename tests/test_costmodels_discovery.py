"""Discovery: a fresh process finds the hyflex models through hwcomponents, `hwc --list` shows
them, and an AccelForge spec names them in component_class with no extra configuration."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hyflex_plugin.costmodels import models as m


def test_discovery_in_a_fresh_process(tmp_path):
    code = textwrap.dedent("""
        import hwcomponents as hwc
        names = sorted(c.__name__ for c in hwc.get_models() if c.__name__.startswith("Hyflex"))
        print(names)
        print(hwc.get_area("hyflex_sar_adc", {"resolution": 6, "tech_node": 65e-9}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for cls in m.__all__:
        assert cls in out.stdout
    assert float(out.stdout.strip().splitlines()[-1]) == pytest.approx(m.HyflexSARADC(6).area)


def test_accelforge_spec_names_component_class_without_config(tmp_path):
    import accelforge as af

    from hyflex_plugin.costmodels.hwc_compat import reset_model_cache

    reset_model_cache()  # earlier tests queried hwcomponents; see hwc_compat for the fault
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(textwrap.dedent("""
        arch:
          nodes:
          - !Memory
            name: Buffer
            component_class: hyflex_buffer
            size: 524288
            tensors: {keep: All}
            extra_attributes_for_component_model: {tech_node: 65e-9}
          - !Compute
            name: DigitalPIM
            component_class: hyflex_digital_pim_array
            extra_attributes_for_component_model: {tech_node: 65e-9}
        workload:
          iteration_space_shape: {m: 0 <= m < 16, n: 0 <= n < 16, k: 0 <= k < 16}
          bits_per_value: {All: 8}
          einsums:
          - name: QK
            tensor_accesses:
            - {name: Q, projection: [m, k]}
            - {name: K, projection: [k, n]}
            - {name: S, projection: [m, n], output: True}
    """))
    s = af.Spec.from_yaml(str(spec_file)).calculate_component_costs()
    nodes = {n.name: n for n in s.arch.nodes}
    compute = {a.name: a.energy for a in nodes["DigitalPIM"].actions}
    assert compute["compute"] == pytest.approx(m.HyflexDigitalPIMArray().compute().energy)
    assert nodes["Buffer"].area == pytest.approx(m.HyflexBuffer().area)


def test_hwc_list_in_a_fresh_process(tmp_path):
    hwc_cli = Path(sys.executable).with_name("hwc")
    exe = str(hwc_cli) if hwc_cli.exists() else shutil.which("hwc")
    assert exe, "the hwc command of hwcomponents is not installed next to this Python"
    out = subprocess.run([exe, "--list"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for cls in m.__all__:
        assert f"from class {cls}" in out.stdout, cls
