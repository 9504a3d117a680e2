"""The project's set-up stays honest: README, CI and package metadata agree."""

import re
from pathlib import Path

import sklearn_cfc

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^```(?:bash|sh)\n(.*?)\n```", text, flags=re.M | re.S)


def test_ci_runs_the_readme_test_command():
    commands = [c for c in _readme_commands() if "pytest" in c]
    assert commands, "README.md has no test command"
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[0].strip() in ci


def test_version_is_exposed():
    assert re.match(r"\d+\.\d+", sklearn_cfc.__version__)


# The README's python blocks run in tests/test_docs.py
# (test_document_code_runs_and_prints), continuations included.
