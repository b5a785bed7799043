"""Published-designs and paper-claims data: validation, clear errors, 65 nm normalisation."""

from __future__ import annotations

import copy

import pytest
import yaml
from hwcomponents.scaling import tech_node_area, tech_node_energy, tech_node_throughput

from hyflex_plugin.comparison.published import (
    CLAIMS_FILE,
    PUBLISHED_FILE,
    load_claims,
    load_published,
    normalised,
)
from hyflex_plugin.errors import HyflexInputError


def _raw(path):
    return yaml.safe_load(path.read_text())


def _write(tmp_path, data, name="designs.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def test_published_file_validates_and_has_required_designs():
    pub = load_published()
    keys = {d.key for d in pub.designs}
    assert {"hyflexpim", "asadi", "sprint", "isaac"} <= keys
    for d in pub.designs:
        assert d.citation and d.venue and d.precision
        for q in d.metrics.values():  # every number carries a unit and a provenance
            assert q.unit and q.provenance
    assert pub.normalisation.target_tech_node == "65nm"
    assert "Stillmaker" in pub.normalisation.source


def test_normalisation_uses_hwcomponents_scaling():
    pub = load_published()
    isaac = pub.design("isaac")
    n = normalised(isaac, "65nm")
    area = isaac.metrics["area"].si()
    assert n["area_norm"] == pytest.approx(area * tech_node_area(65e-9, 32e-9))
    thr = isaac.metrics["area_efficiency"].si() * area  # derived throughput
    assert n["throughput"] == pytest.approx(thr)
    assert n["throughput_norm"] == pytest.approx(thr * tech_node_throughput(65e-9, 32e-9))
    eff = thr / isaac.metrics["power"].si()
    assert n["energy_efficiency_norm"] == pytest.approx(eff / tech_node_energy(65e-9, 32e-9))
    # 32 nm -> 65 nm: bigger, slower, less efficient
    assert n["area_norm"] > area and n["throughput_norm"] < thr and n["energy_efficiency_norm"] < eff
    # a 65 nm design is left as published
    h = normalised(pub.design("hyflexpim"), "65nm")
    assert h["area_norm"] == pytest.approx(h["area"])
    assert h["power_norm"] == pytest.approx(h["power"])


def test_claims_file_has_the_papers_claims():
    claims = load_claims()
    by_value = {c.paper for c in claims.claims}
    assert {1.86, 1.45, 1.24, 10.6, 4.94, 3.31} <= by_value
    n8192 = next(c for c in claims.claims if c.seq_len == 8192)
    assert n8192.paper_range == (1.1, 1.3)
    sprint = [c for c in claims.claims if "SPRINT" in c.name]
    assert sprint and all(c.baseline is None for c in sprint)
    assert all(c.provenance[0] in "AT" for c in claims.claims)


def test_missing_unit_names_file_entry_and_field(tmp_path):
    data = _raw(PUBLISHED_FILE)
    isaac = next(d for d in data["designs"] if d["key"] == "isaac")
    del isaac["metrics"]["area"]["unit"]
    p = _write(tmp_path, data)
    with pytest.raises(HyflexInputError) as e:
        load_published(p)
    assert e.value.source == str(p)
    assert e.value.field == "designs[isaac].metrics.area.unit"
    assert "missing" in e.value.message


def test_unknown_unit_and_wrong_dimension(tmp_path):
    data = _raw(PUBLISHED_FILE)
    bad = copy.deepcopy(data)
    next(d for d in bad["designs"] if d["key"] == "isaac")["metrics"]["area"]["unit"] = "mm2"
    with pytest.raises(HyflexInputError) as e:
        load_published(_write(tmp_path, bad))
    assert e.value.field == "designs[isaac].metrics.area.unit"
    assert "unknown unit 'mm2'" in e.value.message
    bad = copy.deepcopy(data)
    next(d for d in bad["designs"] if d["key"] == "isaac")["metrics"]["area"]["unit"] = "W"
    with pytest.raises(HyflexInputError) as e:
        load_published(_write(tmp_path, bad))
    assert e.value.field == "designs[isaac].metrics"
    assert "unit 'W' of a power" in e.value.message


def test_unknown_tech_node_names_entry(tmp_path):
    data = _raw(PUBLISHED_FILE)
    next(d for d in data["designs"] if d["key"] == "sprint")["tech_node"] = "28nm"
    with pytest.raises(HyflexInputError) as e:
        load_published(_write(tmp_path, data))
    assert e.value.field == "designs[sprint].tech_node"
    assert "unknown technology node '28nm'" in e.value.message
    assert "65nm" in e.value.message  # says what is expected


def test_null_value_needs_a_note(tmp_path):
    data = _raw(PUBLISHED_FILE)
    m = next(d for d in data["designs"] if d["key"] == "asadi")["metrics"]["area"]
    del m["note"]
    with pytest.raises(HyflexInputError) as e:
        load_published(_write(tmp_path, data))
    assert e.value.field.startswith("designs[asadi].metrics.area")
    assert "note" in e.value.message


def test_malformed_claim_names_entry(tmp_path):
    data = _raw(CLAIMS_FILE)
    del data["claims"][0]["paper"]
    p = _write(tmp_path, data, "claims.yaml")
    with pytest.raises(HyflexInputError) as e:
        load_claims(p)
    assert e.value.field == f"claims[{data['claims'][0]['key']}].paper"
    assert str(p) in str(e.value)
