"""Fuzzing ``fit`` and ``predict`` of the three estimators with small panels.

The property: ``fit`` either raises one of the documented errors, with a
message that names the argument at fault, or returns a model that predicts
finite outputs of the right shape on the data it was fitted on
(probabilities that sum to 1). A prediction on data that ``fit`` accepted
never raises. Panels are tiny (2-6 instances, 1-3 channels, 1-8 steps), the
networks too, and hypothesis is derandomised, so the run is the same in CI.

Patterns left out on purpose, each a known bug with its own strict xfail
case in ``tests/test_bad_input.py``:

- values near the float32 limit whose changes overflow it (``3e38`` next to
  ``-3e38``): ``changes-beyond-float32``; extremes here stop at ``1e30``;
- gaps between timestamps below float32's range (``1e-300``):
  ``X-gaps-below-float32``; the smallest gap here is ``1e-3``.

Known bugs being fixed elsewhere are left out too: targets near ``1e200`` and
infinite forecasting ``y`` (targets here stay within ``1e3``).
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from sklearn_cfc import CfCClassifier, CfCForecaster, CfCRegressor
from sklearn_cfc.exceptions import DivergenceError

NAN, INF = np.nan, np.inf
TINY = dict(
    units=4,
    backbone_units=4,
    mixed_memory=False,
    max_epochs=1,
    batch_size=2,
    device="cpu",
    random_state=0,
)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# the documented errors, and what their messages must name: an argument, or
# the instance, channel or series of X or y at fault, or the classes of y
ERRORS = (ValueError, TypeError, NotFittedError, DivergenceError)
NAMED = re.compile(
    r"\b(X|y|sample_weight|Sample weights|fh|instances?|channels?|timestamps?|"
    r"series|class(es)?|labels?)\b"
)

FINITE = st.floats(-1e3, 1e3, allow_nan=False, width=32)
# extremes within what float32 holds; infinities are rejected by name
EXTREME = st.sampled_from([1e30, -1e30, 1e-30, -1e-30, 0.0])
INFINITE = st.sampled_from([INF, -INF])
# gaps between timestamps: regular, irregular, tiny, huge; 0 (a duplicate)
# and negative ones (decreasing) only in panels drawn with bad times
GAPS = st.sampled_from([1.0, 0.5, 7.0, 1e-3, 1e6])
BAD_GAPS = st.sampled_from([1.0, 0.5, 0.0, -1.0])
# one panel in four has bad times
BAD_TIMES = st.sampled_from([False, False, False, True])


@st.composite
def values(draw, n):
    """``n`` values: plain, with missing ones, extremes or infinities."""
    kind = draw(st.sampled_from(["plain", "missing", "extreme", "mixed", "inf"]))
    element = {
        "plain": FINITE,
        "missing": st.one_of(FINITE, FINITE, st.just(NAN)),
        "extreme": st.one_of(FINITE, EXTREME),
        "mixed": st.one_of(FINITE, FINITE, FINITE, st.just(NAN), EXTREME),
        "inf": st.one_of(FINITE, FINITE, FINITE, st.just(NAN), INFINITE),
    }[kind]
    return np.array(draw(st.lists(element, min_size=n, max_size=n)), dtype=float)


@st.composite
def panels(draw):
    """A small panel: numpy 3D, numpy 2D, or a list of frames with timestamps."""
    n = draw(st.integers(2, 6))
    C = draw(st.integers(1, 3))
    layout = draw(st.sampled_from(["numpy3D", "numpy2D", "frames"]))
    if layout != "frames":
        C = 1 if layout == "numpy2D" else C
        T = draw(st.integers(1, 8))
        X = draw(values(n * C * T)).reshape(n, C, T)
        return X[:, 0] if layout == "numpy2D" else X
    bad_times = draw(BAD_TIMES)
    start = draw(st.sampled_from([0.0, -5.0, 1e9]))
    frames = []
    for _ in range(n):
        L = draw(st.integers(1, 8))
        gaps = draw(st.lists(BAD_GAPS if bad_times else GAPS, min_size=L, max_size=L))
        times = start + np.cumsum(gaps)
        frames.append(
            pd.DataFrame(
                draw(values(L * C)).reshape(L, C),
                index=times,
                columns=[f"c{j}" for j in range(C)],
            )
        )
    return frames


def _fit_or_named_error(fit):
    """The fitted model, or None when ``fit`` raised a named, documented error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = fit()
    except ERRORS as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        event("fitted")
        return model
    assert NAMED.search(error), error
    event(f"fit raised {error[:60]}")
    return None


def _predict(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


@FUZZ
@given(
    X=panels(),
    label=st.lists(st.sampled_from(["a", "b", "c"]), min_size=6, max_size=6),
    one_class=st.sampled_from([False, False, False, True]),
    weights=st.one_of(
        st.none(),
        st.none(),
        st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=6, max_size=6),
    ),
)
def test_classifier(X, label, one_class, weights):
    n = len(X)
    y = np.array(label[:n])
    if not one_class:
        y[:2] = ["a", "b"]
    sample_weight = None if weights is None else weights[:n]
    model = _fit_or_named_error(
        lambda: CfCClassifier(**TINY).fit(X, y, sample_weight=sample_weight)
    )
    if model is None:
        return
    proba = _predict(lambda: model.predict_proba(X))
    assert proba.shape == (n, len(np.unique(y)))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    predicted = _predict(lambda: model.predict(X[:1]))
    assert predicted.shape == (1,)
    assert set(predicted) <= set(y)


@FUZZ
@given(
    X=panels(),
    target=st.lists(FINITE, min_size=6, max_size=6),
    missing=st.one_of(st.none(), st.none(), st.none(), st.integers(0, 5)),
    n_outputs=st.sampled_from([None, 2]),
)
def test_regressor(X, target, missing, n_outputs):
    n = len(X)
    y = np.array(target[:n])
    if missing is not None and missing < n:
        y[missing] = NAN
    if n_outputs is not None:
        y = np.column_stack([y, -y])
    model = _fit_or_named_error(lambda: CfCRegressor(**TINY).fit(X, y))
    if model is None:
        return
    predicted = _predict(lambda: model.predict(X))
    assert predicted.shape == y.shape
    assert np.isfinite(predicted).all()


@st.composite
def forecasting_series(draw):
    """(y, fh): one series of 1-12 values, regular or irregular integer times."""
    L = draw(st.integers(1, 12))  # 1: too short, rejected by name
    y = draw(values(L))
    index = pd.RangeIndex(L)
    if draw(st.booleans()):  # irregular; with bad times, a repeated time
        step = st.sampled_from([1, 2, 5, 0] if draw(BAD_TIMES) else [1, 2, 5])
        steps = draw(st.lists(step, min_size=L, max_size=L))
        index = pd.Index(np.cumsum(steps))
    y = y[np.isfinite(y) | np.isnan(y)]  # infinite y: a bug being fixed elsewhere
    fh = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True))
    return pd.Series(y, index=index[: len(y)], dtype=float), fh


@pytest.mark.filterwarnings("ignore::FutureWarning")
@FUZZ
@given(data=forecasting_series())
def test_forecaster(data):
    y, fh = data
    model = _fit_or_named_error(
        lambda: CfCForecaster(context_length=3, **{**TINY, "batch_size": 4}).fit(
            y, fh=fh
        )
    )
    if model is None:
        return
    predicted = _predict(model.predict)
    assert predicted.shape == (len(fh),)
    assert np.isfinite(predicted.to_numpy()).all()
