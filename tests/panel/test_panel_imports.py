"""The panel layer stays pure numpy/pandas."""

import subprocess
import sys


def test_panel_and_datasets_do_not_import_torch():
    code = (
        "import sys, sklearn_cfc.panel, sklearn_cfc.datasets; "
        "bad = sorted(m for m in ('torch', 'skorch', 'sktime') if m in sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names():
    import sklearn_cfc.panel as panel

    for name in panel.__all__:
        obj = getattr(panel, name)
        if callable(obj):
            assert obj.__module__.startswith("sklearn_cfc.panel"), name
    assert panel.TIME_UNITS["h"] == 3600e9
