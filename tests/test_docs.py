"""The documentation builds with warnings as errors, gallery included.

Building the gallery runs every ``examples/plot_*.py``, so this is also the
test that the examples work.
"""

import os
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    html = tmp_path / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q"]
    result = subprocess.run(
        [*command, "-b", "html", str(DOCS), str(html)],
        capture_output=True,
        text=True,
        # one torch thread: the examples' networks are small, and several
        # OpenMP threads slow down tenfold on a busy machine
        env={**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert (html / "index.html").exists()
    examples = sorted(p.stem for p in (DOCS.parent / "examples").glob("plot_*.py"))
    for name in examples:
        assert (html / "auto_examples" / f"{name}.html").exists(), name
