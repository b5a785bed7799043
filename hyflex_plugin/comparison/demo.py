"""``hyflex demo`` / ``make demo``: cost-model calibration + the default comparison, to ``results/``.

bert-large and bert-base at N = 128, 1024 and 8192, HyFlexPIM at 5 and 10 % SLC against every
modelled baseline; under 3 minutes on 2 cores with a cold cache (AccelForge runs are cached in
``$HYFLEX_CACHE_DIR``, else the user cache folder, ``~/.cache/hyflex`` on Linux).
"""

from __future__ import annotations

import time
from pathlib import Path

from hyflex_plugin.console import log

DEMO_MODELS = ("bert-large", "bert-base")
DEMO_SEQ_LENS = (128, 1024, 8192)
DEMO_SLC_FRACTIONS = (0.05, 0.10)


def run_and_report(models, seq_lens, slc_fractions, designs=None, out="results/compare",
                   json_path=None, cache: bool = True, progress: bool = True, partition=None,
                   sensitivity_samples: int = 200, iso_area: bool = False):
    """Run a comparison, write its report folder (and JSON), print where it is and the claims."""
    from hyflex_plugin.comparison.baselines import BASELINE_KEYS
    from hyflex_plugin.comparison.compare import run_comparison
    from hyflex_plugin.comparison.report import claims_text, write_report
    from hyflex_plugin.io import check_output_file, check_output_folder

    check_output_folder(out, "--out", "out")  # both outputs before any work
    if json_path:
        check_output_file(json_path, "--json", "json")
    t0 = time.perf_counter()
    cmp = run_comparison(models=models, seq_lens=seq_lens, slc_fractions=slc_fractions,
                         designs=designs or BASELINE_KEYS, cache=cache, progress=progress,
                         partition=partition, sensitivity_samples=sensitivity_samples,
                         iso_area=iso_area)
    folder = write_report(cmp, out, json_path)
    log.info("%d evaluations in %.1f s; report: %s", len(cmp.rows), time.perf_counter() - t0,
             Path(folder).resolve() / "report.md")
    if json_path:
        log.info("numbers: %s", Path(json_path).resolve())
    print()
    print(f"The paper's claims against this model ({cmp.reference.get('note', '')}):")
    print(claims_text(cmp.claims))
    return cmp


def run_demo(out: str = "results/demo") -> int:
    """Print the cost-model calibration against Table 2, then run and report the comparison."""
    from hyflex_plugin.costmodels.calibrate import calibrate_pu, format_calibration
    from hyflex_plugin.io import check_output_folder

    check_output_folder(out, "--out", "out")  # before the calibration and the runs
    print(format_calibration(calibrate_pu()))
    print()
    run_and_report(DEMO_MODELS, DEMO_SEQ_LENS, DEMO_SLC_FRACTIONS, out=out)
    return 0
