"""Package-level promises: set-up script, torch-free hardware side, shared IO helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import atomic_directory, atomic_write_text, load_model_yaml
from hyflex_plugin.units import nm, parse_tech_node

ROOT = Path(__file__).resolve().parents[1]


def test_find_python_returns_312_or_newer():
    out = subprocess.run(["bash", str(ROOT / ".ci/find-python.sh")], capture_output=True,
                         text=True, env={k: v for k, v in os.environ.items() if k != "PYTHON"})
    assert out.returncode == 0, out.stderr
    exe = out.stdout.strip()
    ver = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2] >= (3, 12))"],
                         capture_output=True, text=True).stdout.strip()
    assert ver == "True"


@pytest.mark.skipif(not Path("/usr/bin/python3.11").exists(), reason="no Python 3.11 here")
def test_find_python_rejects_old_override():
    out = subprocess.run(["bash", str(ROOT / ".ci/find-python.sh")], capture_output=True,
                         text=True, env={**os.environ, "PYTHON": "/usr/bin/python3.11"})
    assert out.returncode == 1
    assert "not a Python >= 3.12" in out.stderr


def test_cli_help_is_torch_free():
    code = (
        "import sys, hyflex_plugin.cli as c\n"
        "p = c.build_parser()\n"
        "names = set(p._subparsers._group_actions[0].choices)\n"
        "assert 'torch' not in sys.modules, 'torch imported by the CLI parser'\n"
        "print(sorted(names))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "torch" not in out.stderr


def test_atomic_directory_keeps_complete_target_on_failure(tmp_path):
    target = tmp_path / "report"
    with atomic_directory(target) as d:
        (d / "a.txt").write_text("complete")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as d:
            (d / "a.txt").write_text("half")
            raise RuntimeError("boom")
    assert (target / "a.txt").read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temp folder left behind


def test_atomic_write_text_replaces(tmp_path):
    p = atomic_write_text(tmp_path / "x" / "f.txt", "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert len(list(p.parent.iterdir())) == 1
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temp file's private 0600


def test_results_follow_the_umask_and_import_leaves_it_alone(tmp_path):
    # a fresh process with umask 027: importing hyflex never touches the umask, and results
    # get 0640 / 0750 (the temporary entries are created with the final modes)
    code = (
        "import os, sys; os.umask(0o027)\n"
        "import hyflex_plugin.cli, hyflex_plugin.io as io\n"
        "from pathlib import Path\n"
        "assert os.umask(0o027) == 0o027\n"
        "d = Path(sys.argv[1])\n"
        "f = io.atomic_write_text(d / 'f.txt', 'x')\n"
        "with io.atomic_directory(d / 'dir') as t:\n"
        "    (t / 'a').write_text('a')\n"
        "print(oct(f.stat().st_mode & 0o777), oct((d / 'dir').stat().st_mode & 0o777))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0o640", "0o750"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "f.txt"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int
    bits_per_cell: int


def test_load_model_yaml_names_file_and_field(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("rows: 64\nbit_per_cell: 2\n")
    with pytest.raises(HyflexInputError) as e:
        load_model_yaml(f, _Params)
    msg = str(e.value)
    assert str(f) in msg
    assert "bit_per_cell" in msg or "bits_per_cell" in msg


def test_tech_node_parsing():
    assert parse_tech_node("65nm") == pytest.approx(65e-9)
    assert parse_tech_node(32) == pytest.approx(32e-9)
    assert parse_tech_node(6.5e-8) == pytest.approx(65e-9)
    assert nm(65e-9) == "65nm"
    with pytest.raises(HyflexInputError, match="tech_node"):
        parse_tech_node("sixty-five")
