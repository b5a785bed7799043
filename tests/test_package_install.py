"""Issue 11 section 1: a wheel (not an editable install) carries the shipped designs, templates
and mappings as package data, and an installed ``hyflex`` evaluates from any folder.

The fresh venv gets its dependencies from the shared venv through a ``.pth`` line (no network),
and the wheel is installed with ``--no-deps``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("arch_specs", "mappings")
TINY_CONFIG = {"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 1,
               "num_attention_heads": 2, "intermediate_size": 128}


def _copy_source(dst: Path) -> Path:
    src = dst / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("hyflex_plugin", *SHIPPED):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    return src


def _run(cmd, **kw):
    kw.setdefault("env", {k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    assert out.returncode == 0, f"{cmd}\n{out.stdout}\n{out.stderr}"
    return out


def _fresh_venv(path: Path) -> Path:
    """A venv without pip whose third-party packages come from this interpreter's site-packages."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(path)])
    return path / "bin" / "python"


def _share_deps(venv_python: Path) -> None:
    site = _run([str(venv_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    # a path line in a .pth only extends sys.path: the shared venv's own .pth files (its editable
    # hyflex) are not executed, so hyflex_plugin can only come from the fresh venv
    Path(site.stdout.strip(), "_shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def _pip(venv_python: Path, *args: str) -> None:
    _run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(venv_python),
          "install", "--no-deps", "--no-index", "--no-build-isolation", "-q", *args])


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HYFLEX_CACHE_DIR"] = str(tmp_path / "cache")
    env["MPLBACKEND"] = "Agg"
    return env


def test_checkout_holds_one_copy_of_each_shipped_file():
    for name in SHIPPED:
        assert (ROOT / name).is_dir()
        assert not (ROOT / "hyflex_plugin" / name).exists(), f"second copy hyflex_plugin/{name}"


def test_wheel_installed_outside_checkout_evaluates(tmp_path):
    src = _copy_source(tmp_path)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel", "--no-deps",
          "--no-build-isolation", "--no-index", "-q", "-w", str(dist), str(src)])
    (wheel,) = dist.glob("hyflex-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for name in SHIPPED:  # every shipped file, byte for byte the top-level one
            for f in (ROOT / name).rglob("*.yaml"):
                member = f"hyflex_plugin/{name}/{f.relative_to(ROOT / name).as_posix()}"
                assert member in names, member
                assert zf.read(member) == f.read_bytes()
        assert not any(n.startswith(("arch_specs/", "mappings/")) for n in names)

    py = _fresh_venv(tmp_path / "venv")
    _pip(py, str(wheel))
    _share_deps(py)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _env(tmp_path)
    where = _run([str(py), "-c", "import hyflex_plugin.architecture as a; print(a.ARCH_DIR)"],
                 cwd=elsewhere, env=env).stdout.strip()
    assert Path(where).is_relative_to(tmp_path / "venv"), where

    hyflex = str(tmp_path / "venv" / "bin" / "hyflex")
    helped = _run([hyflex, "demo", "--help"], cwd=elsewhere, env=env)
    assert "usage: hyflex demo" in helped.stdout
    (elsewhere / "config.json").write_text(json.dumps(TINY_CONFIG))
    out = _run([hyflex, "evaluate", "--model", "config.json", "--seq-len", "16",
                "--arch", "all-slc.yaml", "--json", "r.json"], cwd=elsewhere, env=env)
    assert "wrote r.json" in out.stderr  # messages go through logging to stderr
    r = json.loads((elsewhere / "r.json").read_text())
    assert r["energy_j"] > 0 and r["latency_s"] > 0


def test_editable_install_reads_the_checkout_folders(tmp_path):
    src = _copy_source(tmp_path)
    # build the editable wheel with this interpreter's setuptools (the fresh venv has none)
    dist = tmp_path / "dist"
    _run([sys.executable, "-c", f"from setuptools import build_meta as b; b.build_editable({str(dist)!r})"],
         cwd=src)
    (wheel,) = dist.glob("hyflex-*.whl")
    py = _fresh_venv(tmp_path / "venv")
    _pip(py, str(wheel))
    _share_deps(py)
    code = ("from hyflex_plugin.architecture.design import ARCH_DIR, MAPPING_DIR, load_arch; "
            "print(ARCH_DIR); print(MAPPING_DIR); print(load_arch().name)")
    out = _run([str(py), "-c", code], cwd=tmp_path, env=_env(tmp_path)).stdout.split()
    assert out == [str(src / "arch_specs"), str(src / "mappings"), "HyFlexPIM"]


def test_plain_checkout_on_pythonpath_reads_its_own_folders(tmp_path):
    code = "from hyflex_plugin.architecture.design import ARCH_DIR; print(ARCH_DIR)"
    env = {**_env(tmp_path), "PYTHONPATH": str(ROOT)}
    out = _run([sys.executable, "-c", code], cwd=tmp_path, env=env).stdout.strip()
    assert out == str(ROOT / "arch_specs")
