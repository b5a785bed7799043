"""The command line's value parsers (argparse ``type=`` functions with doctests) and options."""

from __future__ import annotations

import doctest

import pytest

import hyflex_plugin.argtypes as argtypes
from hyflex_plugin.cli import main


def test_argtypes_doctests():
    result = doctest.testmod(argtypes)
    assert result.attempted >= 15 and result.failed == 0


@pytest.mark.parametrize("value, share", [("0.1", 0.1), ("10%", 0.1), ("5 %", 0.05), ("1", 1.0)])
def test_fraction_accepts_fractions_and_percentages(value, share):
    assert argtypes.fraction(value) == share


def test_bad_option_value_is_an_argparse_error(capsys):
    assert main(["evaluate", "--slc-fraction", "150%"]) == 2
    err = capsys.readouterr().err
    assert "argument --slc-fraction" in err and "between 0 and 1" in err and "'150%'" in err


def test_progress_bars_only_on_a_terminal_and_not_when_quiet(monkeypatch):
    import io

    from hyflex_plugin import console

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(console.log, "level", console.logging.NOTSET)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert console.progress(range(3)).disable  # not a terminal
    monkeypatch.setattr("sys.stderr", Terminal())
    assert not console.progress(range(3)).disable
    assert console.progress(range(3), enabled=False).disable
    console.setup_logging(-1)  # hyflex -q
    assert console.progress(range(3)).disable
    console.setup_logging(0)
    assert not console.progress(range(3)).disable


def test_cache_folder_honours_xdg_and_hyflex_cache_dir(monkeypatch, tmp_path):
    from hyflex_plugin.evaluation.engine import cache_dir

    monkeypatch.delenv("HYFLEX_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "hyflex"
    monkeypatch.setenv("HYFLEX_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_help_shows_defaults_and_choices(capsys):
    assert main(["compare", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "default: results/compare" in text and "--slc-share" in text
    assert "{hyflexpim,asadi-dagger" not in text  # metavar KEY; choices listed in the help text
    assert "asadi-dagger" in text and "0.05 0.1 0.2 0.5" in text
