"""Issue 11 section 5: bad input gets a one-line error naming the file or option, the field, the
value and what was expected, with exit status 2, before any work; Ctrl-C exits 130.

Every case runs the ``hyflex`` command as a subprocess, as a user would.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCH = ROOT / "arch_specs" / "hyflexpim.yaml"
TINY = {"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 128}


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HYFLEX_CACHE_DIR": str(tmp_path / "cache"),
            "MPLBACKEND": "Agg"}


def hyflex(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyflex_plugin", *args], capture_output=True,
                          text=True, cwd=tmp_path, env=_env(tmp_path), check=False, timeout=600)


def refused(tmp_path: Path, *args: str, says: tuple[str, ...]) -> str:
    """Run, expect status 2 and one line on stderr containing every text in ``says``."""
    out = hyflex(tmp_path, *args)
    assert out.returncode == 2, (args, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    for text in says:
        assert text in lines[0], (text, lines[0])
    return lines[0]


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    return "tiny.json"


def test_files_that_are_not_utf8(tmp_path, tiny):
    (tmp_path / "d.yaml").write_bytes(ARCH.read_bytes().replace(b"HyFlexPIM\n", b"HyFlex\xe9PIM\n"))
    refused(tmp_path, "evaluate", "--model", tiny, "--arch", "d.yaml",
            says=("d.yaml", "not UTF-8", "0xe9", "expected a YAML file"))
    (tmp_path / "c.json").write_bytes(b'{"model_type": "bert", "name": "caf\xe9"}')
    refused(tmp_path, "evaluate", "--model", "c.json",
            says=("c.json", "not UTF-8", "expected a Hugging Face config.json"))
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "runs.yaml").write_bytes(b"runs: [\xff]\n")
    refused(tmp_path, "export", "validate", "exp",
            says=("runs.yaml", "not UTF-8", "0xff", "expected a YAML file"))


def test_duplicate_key_in_a_design_file(tmp_path, tiny):
    text = ARCH.read_text().replace("  rows: 64\n", "  rows: 64\n  rows: 32\n", 1)
    (tmp_path / "d.yaml").write_text(text)
    refused(tmp_path, "evaluate", "--model", tiny, "--arch", "d.yaml",
            says=("d.yaml", "field 'analog.rows'", "duplicate key", "expected each key once"))


def test_no_analog_modules_on_the_analog_path(tmp_path, tiny):
    (tmp_path / "d.yaml").write_text(ARCH.read_text().replace("analog_modules: 24", "analog_modules: 0"))
    refused(tmp_path, "evaluate", "--model", tiny, "--arch", "d.yaml",
            says=("d.yaml", "field 'pu.analog_modules'", "0 analog modules",
                  "linear_path is 'analog'", "expected at least 1"))


def test_bad_tech_node_and_unbounded_seq_len(tmp_path, tiny):
    refused(tmp_path, "tables", "--tech-node", ".",
            says=("--tech-node", "field 'tech_node'", "got '.'", "expected e.g. '65nm'"))
    refused(tmp_path, "evaluate", "--model", tiny, "--seq-len", "1000000000000",
            says=("--seq-len", "field 'seq_len'", "1000000000000", "from 1 to 1,048,576"))
    refused(tmp_path, "compare", "--model", tiny, "--seq-len", "1048577", "--out", "rep",
            says=("--seq-len", "1048577", "1,048,576"))


def _partition(tmp_path: Path, layers: int, gate: bool = False) -> str:
    """A partition file for TINY (dense, every matrix 10 % SLC) with ``layers`` layer entries."""
    mats = [("q", 64, 64), ("k", 64, 64), ("v", 64, 64), ("attn_out", 64, 64),
            ("ffn1", 128, 64), ("ffn2", 64, 128)] + ([("ffn_gate", 128, 64)] if gate else [])
    doc = {"schema_version": 1,
           "model": {"name": "tiny", "n_layers": 2, "hidden_size": 64, "num_heads": 2,
                     "intermediate_size": 128},
           "method": "uniform", "selector": "uniform", "slc_fraction": 0.1,
           "layers": [{"index": i, "matrices": [
               {"name": n, "shape": [o, k], "decomposition": "dense", "slc_weight_fraction": 0.1}
               for n, o, k in mats]} for i in range(layers)]}
    (tmp_path / "p.yaml").write_text(json.dumps(doc))  # JSON is YAML
    return "p.yaml"


def test_partition_must_match_the_model(tmp_path, tiny):
    refused(tmp_path, "evaluate", "--model", tiny, "--partition", _partition(tmp_path, 2, gate=True),
            says=("p.yaml", "field 'layers[0].matrices.ffn_gate'", "has no matrix 'ffn_gate'",
                  "not gated", "expected exactly"))
    refused(tmp_path, "evaluate", "--model", tiny, "--partition", _partition(tmp_path, 1),
            says=("p.yaml", "field 'layers'", "1 of the 2 layers", "index 1",
                  "expected one entry per layer"))


def test_output_paths_are_checked_before_any_work(tmp_path, tiny):
    (tmp_path / "afile").write_text("mine\n")
    (tmp_path / "adir").mkdir()
    refused(tmp_path, "evaluate", "--model", tiny, "--json", "adir",
            says=("--json", "field 'json'", "'adir' is a folder", "expected a file name"))
    refused(tmp_path, "evaluate", "--model", tiny, "--json", "afile/r.json",
            says=("--json", "'afile/r.json'", "which is a file", "expected a path inside a folder"))
    refused(tmp_path, "export", "timeloop", "--model", tiny, "--out", "afile/exp",
            says=("--out", "which is a file"))
    refused(tmp_path, "tables", "--out", "adir", says=("--out", "is a folder"))
    # compare --out naming an existing file: refused, the file left as it was
    refused(tmp_path, "compare", "--model", tiny, "--seq-len", "16", "--out", "afile",
            says=("--out", "field 'out'", "'afile' is an existing file", "expected a folder"))
    assert (tmp_path / "afile").read_text() == "mine\n"
    # a bad --json is found before the (good) --out is written
    refused(tmp_path, "compare", "--model", tiny, "--seq-len", "16", "--out", "rep",
            "--json", "adir", says=("--json", "'adir' is a folder"))
    assert not (tmp_path / "rep").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile", "tiny.json"]


def _start(tmp_path: Path, code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=_env(tmp_path))


def _interrupt_after(proc: subprocess.Popen, marker: str) -> tuple[int, str]:
    """Send SIGINT once ``marker`` appears on the process's stdout; return (status, stderr)."""
    line = proc.stdout.readline()
    deadline = time.monotonic() + 120
    while marker not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    assert marker in line
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


PRELUDE = ("import sys, time\n"
           "sys.argv = ['hyflex', 'evaluate', '--list']\n"
           "import hyflex_plugin.evaluation.cli as ev\n"
           "from hyflex_plugin.cli import main\n")


def test_ctrl_c_during_a_swallowing_cleanup_exits_130(tmp_path):
    # tqdm's monitor thread and __del__ clean-ups swallow a KeyboardInterrupt ("Exception
    # ignored in ..."); the command must still end with status 130
    code = PRELUDE + (
        "class Cleanup:\n"
        "    def __del__(self):\n"
        "        print('cleaning', flush=True)\n"
        "        time.sleep(30)\n"
        "def work():\n"
        "    Cleanup()\n"
        "    return 0\n"
        "ev._list = work\n"
        "raise SystemExit(main())\n")
    rc, err = _interrupt_after(_start(tmp_path, code), "cleaning")
    assert rc == 130, err
    assert err.strip().endswith("interrupted")


def test_ctrl_c_during_interpreter_exit_exits_130(tmp_path):
    code = PRELUDE + (
        "import atexit\n"
        "atexit.register(lambda: (print('exiting', flush=True), time.sleep(30)))\n"
        "ev._list = lambda: 0\n"
        "raise SystemExit(main())\n")
    rc, err = _interrupt_after(_start(tmp_path, code), "exiting")
    assert rc == 130, err


def test_ctrl_c_during_an_evaluation_exits_130(tmp_path):
    # stderr on a pseudo-terminal, as for a user at a shell: progress bars show only there
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen([sys.executable, "-m", "hyflex_plugin", "evaluate", "--model",
                             "bert-large", "--no-cache"], stdout=subprocess.PIPE,
                            stderr=slave, cwd=tmp_path, env=_env(tmp_path))
    os.close(slave)

    def read_some(timeout: float) -> bytes:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return b""

    seen = b""
    deadline = time.monotonic() + 120
    while b"N=128" not in seen and time.monotonic() < deadline and proc.poll() is None:
        seen += read_some(1.0)  # tqdm's bar: at work
    assert b"N=128" in seen, seen
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    while chunk := read_some(0.5):
        seen += chunk
    os.close(master)
    err = seen.decode(errors="replace").replace("\r", "\n")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().endswith("interrupted")
