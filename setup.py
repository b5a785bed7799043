"""Packaging of the shipped designs and mappings (the rest of the metadata is in pyproject.toml).

The user-facing folders ``arch_specs/`` and ``mappings/`` at the top of the repository are the
only copy of the shipped design files, AccelForge templates and fixed mappings. They are mapped
into the package as ``hyflex_plugin/arch_specs`` and ``hyflex_plugin/mappings`` (package data,
found at run time through ``importlib.resources``; see ``hyflex_plugin/resources.py``), so a
wheel carries them and an editable install or a plain checkout reads the folders themselves.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

SHIPPED = {"hyflex_plugin.arch_specs": "arch_specs", "hyflex_plugin.mappings": "mappings"}


def _packages() -> list[str]:
    pkgs = find_namespace_packages(
        include=["hyflex_plugin*"],
        exclude=["hyflex_plugin.costmodels.hwcomponents_entry*", "*__pycache__*"])
    for pkg, folder in SHIPPED.items():
        pkgs.append(pkg)
        for sub in sorted(Path(folder).rglob("*")):
            if sub.is_dir() and not sub.name.startswith((".", "__")):
                pkgs.append(pkg + "." + ".".join(sub.relative_to(folder).parts))
    return pkgs


setup(packages=_packages(), package_dir=dict(SHIPPED))
