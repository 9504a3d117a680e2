"""The public API is annotated, and the package says so (PEP 561).

Every function and class that a public ``__all__`` exports has type hints on
its public signature, so that new public functions keep them; mypy checks
the package in CI (``.ci/run``).
"""

import importlib
import importlib.resources
import inspect
import typing
from pathlib import Path

import pytest

import sklearn_cfc
from sklearn_cfc import _typing
from sklearn_cfc._skorch import LR_SCHEDULES, OPTIMIZERS
from sklearn_cfc.nn import ACTIVATIONS, MODES, READOUTS
from sklearn_cfc.panel import TIME_UNITS
from sklearn_cfc.panel._convert import _CONVERTERS
from sklearn_cfc.panel._long import _AGGS

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = [
    "sklearn_cfc",
    "sklearn_cfc.panel",
    "sklearn_cfc.nn",
    "sklearn_cfc.datasets",
    "sklearn_cfc.exceptions",
    "sklearn_cfc.export",
    "sklearn_cfc.inspection",
]
# what is not a parameter that needs a hint
UNANNOTATED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _public_objects():
    """(qualified name, object) of each function and class in a public __all__."""
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{module_name}.{name}", obj


def _own_members(cls):
    """The public methods and properties (and ``__init__``) a class has from
    this package, as its attribute lookup finds them; not those inherited
    from scikit-learn, sktime, torch or the standard library."""
    seen = set()
    for klass in cls.__mro__:
        for name, attr in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            if name.startswith("_") and name != "__init__":
                continue
            if not klass.__module__.startswith("sklearn_cfc"):
                continue
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            if isinstance(attr, property):
                yield f"{name} (property)", attr.fget, False
            elif inspect.isfunction(attr):
                yield name, attr, name != "__init__"


def _missing_hints(function, *, needs_return):
    """Names of the parameters (and "return") of ``function`` without a hint."""
    signature = inspect.signature(function)  # follows functools.wraps
    missing = [
        p.name
        for i, p in enumerate(signature.parameters.values())
        if p.annotation is inspect.Parameter.empty
        and p.kind not in UNANNOTATED_KINDS
        and not (i == 0 and p.name in ("self", "cls"))
    ]
    if needs_return and signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def _unannotated():
    for qualname, obj in _public_objects():
        if inspect.isfunction(obj):
            missing = _missing_hints(obj, needs_return=True)
            if missing:
                yield qualname, missing
            continue
        for name, function, needs_return in _own_members(obj):
            missing = _missing_hints(function, needs_return=needs_return)
            if missing:
                yield f"{qualname}.{name}", missing


def test_public_api_has_type_hints():
    # every parameter but self, cls, *args and **kwargs, and the return
    # value of all but __init__
    unannotated = dict(_unannotated())
    assert not unannotated, f"public signatures without type hints: {unannotated}"


def test_the_check_sees_the_public_api():
    # the check above looks at what it should: the estimators' own methods,
    # not those of their scikit-learn, sktime or torch base classes
    objects = dict(_public_objects())
    assert "sklearn_cfc.CfCClassifier" in objects
    assert "sklearn_cfc.panel.to_panel" in objects
    members = {name for name, _, _ in _own_members(sklearn_cfc.CfCClassifier)}
    assert {"__init__", "fit", "partial_fit", "predict", "plot_history"} <= members
    assert "score" not in members  # scikit-learn's
    assert "to_panel" not in members
    panel_members = {
        name for name, _, _ in _own_members(objects["sklearn_cfc.panel.Panel"])
    }
    assert {"take", "on_grid", "n_instances (property)"} <= panel_members

    def untyped(x, *args, **kwargs):
        return x

    def typed(x: int, *args: int, **kwargs: int) -> int:
        return x

    assert _missing_hints(untyped, needs_return=True) == ["x", "return"]
    assert _missing_hints(typed, needs_return=True) == []


@pytest.mark.parametrize(
    "alias, values",
    [
        (_typing.Mode, MODES),
        (_typing.Activation, ACTIVATIONS),
        (_typing.Readout, READOUTS),
        (_typing.Optimizer, OPTIMIZERS),
        (_typing.LRSchedule, LR_SCHEDULES),
        (_typing.TimeUnit, TIME_UNITS),
        (_typing.PanelFormat, _CONVERTERS),
        (_typing.Aggregation, _AGGS),
    ],
)
def test_literal_options_match_the_accepted_ones(alias, values):
    assert set(typing.get_args(alias)) == set(values)


def test_py_typed_ships():
    # PEP 561: the marker in the package, and in what is installed
    assert (ROOT / "sklearn_cfc" / "py.typed").is_file()
    assert importlib.resources.files("sklearn_cfc").joinpath("py.typed").is_file()


def test_py_typed_is_package_data():
    # setuptools puts it in the wheel and the sdist only when told to
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = config["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["sklearn_cfc"]
