"""Bad attributes: errors name the attribute and the accepted values, on the direct class path,
through hwcomponents' query path and through an AccelForge spec."""

from __future__ import annotations

import textwrap

import hwcomponents as hwc
import pytest

from hyflex_plugin.costmodels import models as m
from hyflex_plugin.errors import HyflexInputError

NM65 = 65e-9


@pytest.mark.parametrize("attrs,field,accepted", [
    ({"bits_per_cell": 3}, "bits_per_cell", "[1, 2]"),
    ({"rows": 0}, "rows", "positive integer"),
    ({"rows": -64}, "rows", "positive integer"),
    ({"tech_node": 3e-9}, "tech_node", "7 nm .. 130 nm"),
])
def test_bad_attributes_name_attribute_and_accepted_values(attrs, field, accepted):
    with pytest.raises(HyflexInputError) as e:
        m.HyflexRRAMCell(**attrs)
    assert e.value.field == field and accepted in str(e.value)
    # the hwcomponents query path carries the same message
    with pytest.raises(Exception) as e2:
        hwc.get_area("hyflex_rram_cell", {"bits_per_cell": 2, "tech_node": NM65, **attrs})
    assert field in str(e2.value) and accepted in str(e2.value)


def test_misspelled_attribute_is_named():
    with pytest.raises(HyflexInputError) as e:
        m.create("hyflex_rram_cell", bit_per_cell=2)
    assert e.value.field == "bit_per_cell"
    assert "bits_per_cell" in str(e.value)  # the suggestion / accepted list
    with pytest.raises(HyflexInputError, match="resolution"):
        m.HyflexSARADC(resolution=8)


@pytest.mark.parametrize("cls,name,wrong,right", [
    (m.HyflexRRAMCell, "hyflex_rram_cell", "bit_per_cell", "bits_per_cell"),
    (m.HyflexSARADC, "hyflex_sar_adc", "resolutoin", "resolution"),
    (m.HyflexDigitalPIMArray, "hyflex_digital_pim_array", "op_bit", "op_bits"),
    (m.HyflexWordlineDriver, "hyflex_wordline_driver", "Rows", "rows"),
])
def test_misspelled_attribute_direct_and_through_hwcomponents(cls, name, wrong, right):
    with pytest.raises(HyflexInputError) as e:
        cls(**{wrong: 1})
    assert e.value.field == wrong and f"did you mean '{right}'" in str(e.value)
    assert "accepted attributes" in str(e.value)
    # hwcomponents would otherwise drop the unknown attribute and silently use the default
    with pytest.raises(Exception) as e2:
        hwc.get_area(name, {wrong: 1, "tech_node": NM65})
    assert f"field '{wrong}'" in str(e2.value) and f"did you mean '{right}'" in str(e2.value)


def test_unrelated_and_engine_attributes_are_not_misspellings():
    # AccelForge passes bits_per_value / bits_per_action to every model: close to bits_per_cell,
    # but never reported; unrelated attributes are dropped by hwcomponents as before
    area = hwc.get_area("hyflex_rram_cell", {"bits_per_cell": 1, "bits_per_value": 8,
                                             "bits_per_action": 8, "colour": "red",
                                             "tech_node": NM65})
    assert area == pytest.approx(m.HyflexRRAMCell(bits_per_cell=1).area)
    with pytest.raises(HyflexInputError, match="colour"):
        m.HyflexRRAMCell(colour="red")  # the direct path is strict


def test_misspelled_attribute_in_an_accelforge_spec(tmp_path):
    import accelforge as af

    from hyflex_plugin.costmodels.hwc_compat import reset_model_cache

    reset_model_cache()
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent("""
        arch:
          nodes:
          - !Memory
            name: Buffer
            component_class: hyflex_buffer
            size: 524288
            tensors: {keep: All}
          - !Compute
            name: DigitalPIM
            component_class: hyflex_digital_pim_array
            extra_attributes_for_component_model: {tech_node: 65e-9, op_bit: 4}
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
    with pytest.raises(Exception) as e:
        af.Spec.from_yaml(str(spec)).calculate_component_costs()
    assert "field 'op_bit'" in str(e.value) and "did you mean 'op_bits'" in str(e.value)
