"""benchmarks/study_tables.py: the per-run table computes each run's loss against its own INT8 model."""

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import study_tables  # noqa: E402


def _write(folder: Path, rows: list[dict]) -> None:
    with open(folder / "study_rows.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_per_run_loss_is_own_reference_minus_mean_over_seeds(tmp_path):
    rows = []
    for run, ref_svd, ref_dense in (("runs/a", 0.80, 0.78), ("runs/b", 0.60, 0.70)):
        rows += [{"run": run, "method": "int8-svd", "slc_fraction": 1.0, "sigma": 0.0, "seed": 0, "accuracy": ref_svd},
                 {"run": run, "method": "int8-dense", "slc_fraction": 1.0, "sigma": 0.0, "seed": 0,
                  "accuracy": ref_dense}]
        for seed, (acc_r, acc_b) in enumerate(((0.70, 0.75), (0.60, 0.73))):
            rows += [{"run": run, "method": "redistribution", "slc_fraction": 0.1, "sigma": 0.08, "seed": seed,
                      "accuracy": acc_r},
                     {"run": run, "method": "brute-force", "slc_fraction": 0.1, "sigma": 0.08, "seed": seed,
                      "accuracy": acc_b}]
    _write(tmp_path, rows)
    text = study_tables.per_run(tmp_path)
    assert "| a | 80.0 |  | 78.0 |" in text and "| b | 60.0 |  | 70.0 |" in text
    # redistribution: 80 - 65 = 15 (a), 60 - 65 = -5 (b); brute force: 78 - 74 = 4, 70 - 74 = -4
    assert "| 0.08 | 10 % | 15.0 / -5.0 | – / – | 4.0 / -4.0 |" in text
    assert "mean of 2 noise seeds" in text


def test_per_run_says_so_for_one_run(tmp_path):
    _write(tmp_path, [{"run": "runs/a", "method": "int8-svd", "slc_fraction": 1.0, "sigma": 0.0, "seed": 0,
                       "accuracy": 0.8}])
    assert study_tables.per_run(tmp_path) == "(one run)"
