"""``hyflex demo`` / ``make demo``: the main job on built-in defaults."""

from __future__ import annotations


def run_demo() -> int:
    """Print the calibration of one processing unit and the energy tables of every component."""
    from hyflex_plugin.costmodels.calibrate import calibrate_pu, format_calibration
    from hyflex_plugin.costmodels.tables import component_table, to_text

    print(format_calibration(calibrate_pu()))
    print()
    print("energy per action and area of every hyflex component at 65 nm (hyflex tables):")
    print(to_text(component_table(65e-9)))
    return 0
