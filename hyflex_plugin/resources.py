"""Where the shipped designs (``arch_specs/``) and fixed mappings (``mappings/``) are.

There is one copy of each file: the top-level folders of the repository, which users read and
copy from. ``setup.py`` maps them into the package (``hyflex_plugin/arch_specs``,
``hyflex_plugin/mappings``), so an installed wheel finds them as package data through
``importlib.resources``; an editable install or a checkout on ``PYTHONPATH`` has no such
sub-folders and reads the top-level folders next to the package instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SHIPPED_FOLDERS = ("arch_specs", "mappings")


def shipped_dir(name: str) -> Path:
    """Return the folder of the shipped ``name`` ('arch_specs' or 'mappings') as a path."""
    if name not in SHIPPED_FOLDERS:
        raise ValueError(f"expected one of {SHIPPED_FOLDERS}, got {name!r}")
    packaged = resources.files("hyflex_plugin").joinpath(name)
    if packaged.is_dir():  # installed wheel: package data
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / name  # checkout (editable or PYTHONPATH)
