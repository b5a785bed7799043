"""The run folder of the redistribution stage: file names, step arguments, row cache, CSV.

Run folder (each file written atomically; a step whose output exists is skipped, so a killed
run resumes where it stopped):

    steps.yaml          the arguments that define each step (checked when the folder is reused)
    run.yaml            configuration, model info, ranks, float accuracies, timings
    dense.pt            fine-tuned dense classifier (state dict)
    dense_grads.pt      accumulated |dL/dW| of the dense block weights (brute-force gradient)
    svd.pt              fine-tuned SVD classifier (state dict)
    importance.pt       {'accumulated': {...}, 'last-batch': {...}} |dL/dsigma| per matrix
    dense_equal.pt      dense classifier fine-tuned for as many epochs as dense + SVD together
                        (the equal-budget baseline; written by the study)
    dense_equal_grads.pt  its accumulated |dL/dW|
    checkpoints/*.ckpt  in-progress fine-tuning (removed when the stage finishes)
    accuracy_rows.jsonl finished accuracy evaluations (the sweep resumes from them)
    study_rows.jsonl    finished study evaluations (``hyflex study`` resumes from them)

Reusing a folder with other arguments is refused with the differing arguments listed, or (with
``force``) the affected steps and everything computed from them are recomputed.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from hyflex_plugin.errors import HyflexInputError
from hyflex_plugin.io import atomic_write_text, atomic_write_yaml, read_yaml

STEPS_FILE = "steps.yaml"
RUN_FILE = "run.yaml"
ROWS_FILE = "accuracy_rows.jsonl"
STUDY_ROWS_FILE = "study_rows.jsonl"


@dataclass(frozen=True)
class Step:
    """One resumable step: its output files, checkpoint, and the arguments that define it."""

    name: str
    outputs: tuple[str, ...]
    args: tuple[str, ...]
    checkpoint: str | None = None


_DATA = ("model", "dataset", "test_file", "n_train", "n_test", "seq_len", "seed")
_TRAIN = _DATA + ("epochs", "batch_size", "lr", "compute_dtype")
#: Values of step arguments added after a run folder was made (its steps.yaml lacks them).
RECORDED_DEFAULTS = {"compute_dtype": "float32"}
#: Steps in run order; each step's arguments include those of the steps it reads.
STEPS = (
    Step("dense", ("dense.pt",), _TRAIN, "dense.ckpt"),
    Step("dense_grads", ("dense_grads.pt",), _TRAIN + ("n_calib",)),
    Step("svd", ("svd.pt",), _TRAIN + ("rank_rule", "svd_epochs"), "svd.ckpt"),
    Step("importance", ("importance.pt",), _TRAIN + ("rank_rule", "svd_epochs", "n_calib")),
    Step("dense_equal", ("dense_equal.pt", "dense_equal_grads.pt"),
         _TRAIN + ("svd_epochs", "n_calib"), "dense_equal.ckpt"),
)
STEP = {s.name: s for s in STEPS}
#: Files computed from all steps (removed when any step is recomputed).
DERIVED = (RUN_FILE, ROWS_FILE, STUDY_ROWS_FILE)


def step_args(step: Step, args: dict) -> dict:
    """The arguments of ``args`` that define ``step`` (plain YAML values)."""
    return {k: args[k] for k in step.args}


def _recorded(run: Path) -> dict:
    path = run / STEPS_FILE
    return (read_yaml(path) or {}) if path.is_file() else {}


def _differences(old: dict, new: dict) -> list[str]:
    old = {**{k: v for k, v in RECORDED_DEFAULTS.items() if k in new}, **old}
    return [f"{k} {old.get(k)!r} -> {new[k]!r}" for k in new if k in old and old[k] != new[k]]


def check_run_arguments(run: Path, args: dict, force: bool = False,
                        steps: tuple[Step, ...] = STEPS) -> list[str]:
    """Compare ``args`` with the arguments recorded for each started step of ``run``.

    Without ``force`` a mismatch raises one error listing every differing argument. With
    ``force`` the mismatched steps' outputs and checkpoints and the derived files are deleted
    (they will be recomputed); returns the names of those steps.
    """
    recorded = _recorded(run)
    diffs: dict[str, list[str]] = {}
    for st in steps:
        if st.name in recorded:
            d = _differences(recorded[st.name], step_args(st, args))
            if d:
                diffs[st.name] = d
    if not diffs:
        return []
    if not force:
        seen: list[str] = []
        for d in diffs.values():
            seen += [x for x in d if x not in seen]
        raise HyflexInputError(
            str(run), "arguments",
            f"run folder was made with other arguments ({'; '.join(seen)}; steps "
            f"{', '.join(diffs)}): use the same arguments, another --out, or --force to recompute",
        )
    for name in diffs:
        st = STEP[name]
        for f in st.outputs:
            (run / f).unlink(missing_ok=True)
        if st.checkpoint:
            (run / "checkpoints" / st.checkpoint).unlink(missing_ok=True)
        recorded.pop(name, None)
    for f in DERIVED:
        (run / f).unlink(missing_ok=True)
    atomic_write_yaml(run / STEPS_FILE, recorded)
    return list(diffs)


def record_step(run: Path, step: Step, args: dict) -> None:
    """Record the arguments of ``step`` (before it starts, so its checkpoints are covered)."""
    recorded = _recorded(run)
    recorded[step.name] = step_args(step, args)
    atomic_write_yaml(run / STEPS_FILE, recorded)


def step_done(run: Path, step: Step) -> bool:
    """True if every output of ``step`` exists."""
    return all((run / f).is_file() for f in step.outputs)


def remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` if it holds no file at any depth (a run that failed before any output)."""
    if folder.is_dir() and not any(p.is_file() for p in folder.rglob("*")):
        shutil.rmtree(folder, ignore_errors=True)


def load_run(run: str | Path) -> tuple[Path, dict]:
    """(run folder, run.yaml) of a finished run; a clear error if it is not one."""
    run = Path(run)
    cfg_path = run / RUN_FILE
    if not cfg_path.is_file():
        raise HyflexInputError(str(run), RUN_FILE,
                               "not a finished redistribution run folder (run `hyflex redistribute` first)")
    cfg = read_yaml(cfg_path)
    for st in ("dense", "svd", "importance"):
        for f in STEP[st].outputs:
            if not (run / f).is_file():
                raise HyflexInputError(str(run), f, "missing: the run did not finish; re-run `hyflex redistribute`")
    return run, cfg


class RowCache:
    """Finished evaluations, one JSON object a line, appended as they finish; keyed by ``key``."""

    def __init__(self, path: Path, key):
        self.path, self.key = Path(path), key
        self.rows: dict[tuple, dict] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    try:
                        r = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut by a kill: that evaluation is simply redone
                    self.rows[key(r)] = r

    def get(self, k: tuple) -> dict | None:
        """The finished row with key ``k``, or None."""
        return self.rows.get(k)

    def append(self, row: dict) -> dict:
        """Store ``row`` (one appended line) and return it."""
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        self.rows[self.key(row)] = row
        return row


def write_csv(rows: list[dict], path: str | Path, columns: list[str]) -> Path:
    """``rows`` as a CSV with ``columns`` (other keys dropped), written atomically."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return atomic_write_text(path, buf.getvalue())


__all__ = [
    "ROWS_FILE",
    "RUN_FILE",
    "STEP",
    "STEPS",
    "STEPS_FILE",
    "STUDY_ROWS_FILE",
    "RowCache",
    "Step",
    "check_run_arguments",
    "load_run",
    "record_step",
    "remove_if_empty",
    "step_done",
    "write_csv",
]
