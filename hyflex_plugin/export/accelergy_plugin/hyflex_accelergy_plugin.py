"""Accelergy 0.4 estimator plug-in serving hyflex's energy [J] and area [m^2] numbers.

Shipped with hyflex (``hyflex_plugin/export/accelergy_plugin/``) and copied unchanged into every
Timeloop export (``accelergy/plugin/``); the numbers come from ``hyflex_primitives.json`` next to
it, written by the export from hyflex's hwcomponents models. It needs neither hyflex nor
hwcomponents, only Accelergy (and runs without it, for inspection).

How Accelergy 0.4 uses a Python plug-in, and what this module does for it:

- it loads every class of the module that derives from ``Estimator`` and is not abstract; this
  module makes one per primitive (``name`` = the component's ``subclass``);
- it passes the component's attributes to ``__init__`` by parameter name, so ``__init__`` names
  every attribute any hyflex primitive has; a value that differs from the table is refused;
- it finds an action by the method's ``__name__``: ``read``, ``write``, ``update``, ``compute``
  and ``leak`` are real methods;
- it asks ``get_area()`` for the area and ``leak(global_cycle_seconds)`` for leakage (0: hyflex
  prices dynamic energy per action).
"""

from __future__ import annotations

import json
import os
from abc import abstractmethod

try:  # Accelergy 0.4's estimator interface
    from accelergy.plug_in_interface.estimator import Estimator, actionDynamicEnergy
except ImportError:  # inspection without Accelergy installed
    class Estimator:
        """Stand-in for Accelergy's base class (same constructor)."""

        def __init__(self, name=None):
            pass

    def actionDynamicEnergy(func):  # noqa: N802 - Accelergy's name
        """Stand-in for Accelergy's decorator (marks an action)."""
        func._is_accelergy_action = True
        return func

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, "hyflex_primitives.json"), encoding="utf-8") as _fh:
    PRIMITIVES = json.load(_fh)


class _HyflexPrimitive(Estimator):
    """Energy per action and area of one hyflex primitive, from ``PRIMITIVES[name]``."""

    name = None
    percent_accuracy_0_to_100 = 80

    def __init__(self, bits_per_cell=None, rows=None, columns=None, resolution=None,
                 max_resolution=None, throughput=None, width=None, size=None, op_bits=None,
                 number_format=None):
        super().__init__()
        given = {"bits_per_cell": bits_per_cell, "rows": rows, "columns": columns,
                 "resolution": resolution, "max_resolution": max_resolution,
                 "throughput": throughput, "width": width, "size": size, "op_bits": op_bits,
                 "number_format": number_format}
        entry = PRIMITIVES[self.name]
        for key, expected in entry["attributes"].items():
            value = given.get(key)
            differs = (str(value) != str(expected) if isinstance(expected, str)
                       else value is not None and float(value) != float(expected))
            if value is not None and differs:
                raise ValueError(f"{self.name}: attribute {key}={value!r}, hyflex's table has "
                                 f"{expected!r}")
        self.energy_j = entry["energy_j"]
        self.area_m2 = entry["area_m2"]

    @abstractmethod
    def _table_name(self):
        """The primitive this class serves (abstract here, so Accelergy skips the base class)."""

    def _energy(self, action):
        if action not in self.energy_j:
            raise ValueError(f"{self.name} has no action {action!r}")
        return self.energy_j[action]

    def get_area(self):
        """Area of one instance [m^2]."""
        return self.area_m2

    def leak(self, global_cycle_seconds):
        """Leakage energy per cycle [J] (hyflex prices dynamic energy per action only)."""
        return self.energy_j.get("leak", 0.0)

    @actionDynamicEnergy
    def read(self):
        """Energy [J] of one read."""
        return self._energy("read")

    @actionDynamicEnergy
    def write(self):
        """Energy [J] of one write (fill)."""
        return self._energy("write")

    @actionDynamicEnergy
    def update(self):
        """Energy [J] of one update (a partial result arriving from below)."""
        return self._energy("update")

    @actionDynamicEnergy
    def compute(self):
        """Energy [J] of one compute."""
        return self._energy("compute")


def _class_name(subclass):
    return "Hyflex_" + "".join(c if c.isalnum() else "_" for c in subclass)


ESTIMATORS = {sub: type(_class_name(sub), (_HyflexPrimitive,),
                        {"name": sub, "_table_name": lambda self: self.name,
                         "__module__": __name__})  # Accelergy loads this module's classes only
              for sub in PRIMITIVES}
globals().update({cls.__name__: cls for cls in ESTIMATORS.values()})
