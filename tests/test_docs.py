"""The documentation builds with warnings as errors, gallery included.

Building the gallery runs every ``examples/plot_*.py``, so this is also the
test that the examples work.
"""

import doctest
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


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


# ------------------------------------------------------- code in README and docs
# Every python block of these documents runs, each on its own unless the text
# before it says "continues the previous one" (or "... previous block"); then it
# runs in the namespace the previous block left. Blocks tagged with another
# language (bash, text, ...) are shown, not run; a block without a tag fails.
DOCUMENTS = ["README.md", "docs/quickstart.rst", "docs/index.rst"]
RUN = {"python", "py", "python3"}
CONTINUES = re.compile(r"\bcontinues\s+the\s+previous\s+(?:one|block)\b", re.I)


def markdown_blocks(text):
    """(language, code, text before) of each fenced block of a Markdown text."""
    fence = re.compile(r"^```[ \t]*(\S*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
    end = 0
    for match in fence.finditer(text):
        yield match[1], match[2], text[end : match.start()]
        end = match.end()


def rst_blocks(text):
    """(language, code, text before) of each code directive of a reST text."""
    directive = re.compile(r"( *)\.\. (?:code-block|code|sourcecode)::[ \t]*(\S*)")
    lines = text.splitlines()
    i = end = 0
    while i < len(lines):
        match = directive.fullmatch(lines[i].rstrip())
        if match is None:
            i += 1
            continue
        before = "\n".join(lines[end:i])
        indent, body = len(match[1]), []
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
        ):
            body.append(lines[i])
            i += 1
        code = textwrap.dedent("\n".join(body)).strip("\n")
        # directive options (":caption: ...") come before the first blank line
        code = re.sub(r"\A(?::[\w-]+:.*\n)*", "", code).strip("\n")
        yield match[2], code + "\n", before
        end = i


def document_blocks(name):
    text = (ROOT / name).read_text()
    return list((markdown_blocks if name.endswith(".md") else rst_blocks)(text))


def test_block_parsers():
    markdown = "intro\n```python\nx = 1\n```\nThis continues the previous one:\n"
    markdown += "```bash\npip install x\n```\n"
    assert list(markdown_blocks(markdown)) == [
        ("python", "x = 1\n", "intro\n"),
        ("bash", "pip install x\n", "\nThis continues the previous one:\n"),
    ]
    rst = "Intro:\n\n.. code-block:: python\n   :caption: c\n\n   if x:\n"
    rst += "       y = 2\n\n   z = 3\n\nNext.\n\n.. code-block:: bash\n\n   ls\n"
    assert list(rst_blocks(rst)) == [
        ("python", "if x:\n    y = 2\n\nz = 3\n", "Intro:\n"),
        ("bash", "ls\n", "Next.\n"),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_code_runs_and_prints(name, capsys, monkeypatch):
    # the blocks start from a fresh interpreter state: no stray threads setting
    monkeypatch.delenv("SKLEARN_CFC_NUM_THREADS", raising=False)
    blocks = document_blocks(name)
    assert any(language in RUN for language, _, _ in blocks), name
    namespace = None
    for number, (language, code, before) in enumerate(blocks, 1):
        where = f"{name}, code block {number}"
        assert language, f"{where} has no language tag: tag it (python, bash...)"
        if language not in RUN:
            continue
        if CONTINUES.search(before):
            assert namespace is not None, f"{where} continues no python block"
        else:
            namespace = {"__name__": "__main__"}
        exec(compile(code, where, "exec"), namespace)
        printed = capsys.readouterr().out
        assert printed.strip(), f"{where} prints nothing: print what it computes"


# ------------------------------------------------------- doctests of the guide
# pages that show a session (">>>" lines) rather than code blocks
GUIDE_SESSIONS = sorted(
    page.relative_to(ROOT).as_posix()
    for page in (DOCS / "user_guide").glob("*.rst")
    if ">>>" in page.read_text()
)


@pytest.mark.parametrize("name", GUIDE_SESSIONS)
def test_user_guide_sessions_run(name):
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(
        str(ROOT / name), module_relative=False, optionflags=flags
    )
    assert result.attempted, name
    assert not result.failed, f"{name}: {result.failed} failed (see the output)"


# ------------------------------------------------------- python -m sklearn_cfc
def test_demo_help_explains_every_option_in_plain_text(capsys):
    from sklearn_cfc import _demo

    parser = _demo.build_parser()
    options = [a for a in parser._actions if a.option_strings != ["-h", "--help"]]
    assert {a.dest for a in options} == {"drop", "seed", "max_epochs", "quiet"}
    with pytest.raises(SystemExit) as exit_info:
        _demo.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for action in options:
        assert action.help, f"{action.option_strings[0]} is not explained"
        assert action.option_strings[0] in text
    # reST roles and literals read as noise in a terminal
    assert not re.search(r"``|:\w+:`|`~", text), text
    assert f"accuracy is {_demo.README_ACCURACY:.3f}" in text
    defaults = {a.dest: a.default for a in options if a.dest != "quiet"}
    assert defaults == _demo.DEFAULTS


def test_readme_states_the_demo_result():
    from sklearn_cfc import _demo

    readme = (ROOT / "README.md").read_text()
    assert f"**{_demo.README_ACCURACY:.3f}**" in readme
    assert "`OMP_NUM_THREADS=1 python -m sklearn_cfc`" in readme


@pytest.mark.parametrize("quiet", [False, True])
def test_demo_prints_settings_progress_and_result(quiet, capsys, monkeypatch):
    from sklearn_cfc import _demo

    monkeypatch.delenv("SKLEARN_CFC_NUM_THREADS", raising=False)
    _demo.main(["--max-epochs", "2", "--seed", "1"] + ["--quiet"] * quiet)
    out = capsys.readouterr().out
    for setting in ("seed 1", "max_epochs 2", "torch thread"):
        assert setting in out, setting
    assert re.search(r"device (cpu|cuda|mps)", out), out
    assert re.search(r"test accuracy 0\.\d{3}\n", out), out
    assert re.search(r"fit time \d+\.\d s \(\d+\.\d s of CPU time\), 2 epochs", out)
    assert re.search(r"patch_length_ \d+", out)
    # the README's figure is for the default options only
    assert "README" not in out
    assert "expect:" not in out
    epoch_lines = re.findall(r"^ +[12] +\d", out, flags=re.M)
    assert len(epoch_lines) == (0 if quiet else 2), out


@pytest.mark.slow
def test_demo_reaches_the_readme_accuracy(capsys):
    import torch

    from sklearn_cfc import _demo

    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("the README's figure is for training on a CPU")
    _demo.main(["--quiet"])
    out = capsys.readouterr().out
    assert "expect:   about 10 s" in out
    assert f"(the README states {_demo.README_ACCURACY:.3f}" in out
    # deterministic on a CPU; another CPU's kernels may round differently:
    # allow one utterance of the 370
    accuracy = float(re.search(r"test accuracy (\S+)", out)[1])
    assert abs(accuracy - _demo.README_ACCURACY) <= 1 / 370 + 5e-4, out
