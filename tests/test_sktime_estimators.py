"""CfCTimeSeriesClassifier and CfCTimeSeriesRegressor: sktime's face of the CfC.

sktime's own checks, the delegation to the scikit-learn estimators, and the
classes in sktime's tooling: transformer pipelines over unequal-length
panels and sktime's cross-validated evaluation.
"""

import inspect
import pickle
import re
import threading

import numpy as np
import pandas as pd
import pytest
import sktime
from packaging.version import Version
from sklearn.model_selection import KFold
from sklearn.utils._param_validation import InvalidParameterError
from sktime.classification.compose import ClassifierPipeline
from sktime.classification.model_evaluation import evaluate
from sktime.datasets import load_basic_motions, load_japanese_vowels
from sktime.regression.compose import RegressorPipeline
from sktime.transformations.series.exponent import ExponentTransformer
from sktime.transformations.series.func_transform import FunctionTransformer
from sktime.utils.estimator_checks import check_estimator

from sklearn_cfc import (
    CfCClassifier,
    CfCRegressor,
    CfCTimeSeriesClassifier,
    CfCTimeSeriesRegressor,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore::FutureWarning"
)
PAIRS = [
    (CfCTimeSeriesClassifier, CfCClassifier),
    (CfCTimeSeriesRegressor, CfCRegressor),
]
TINY = dict(units=4, backbone_units=8, max_epochs=3, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def vowels():
    """60 JapaneseVowels series of 7-26 steps, 3 channels (pd-multiindex)."""
    X, y = load_japanese_vowels(split="train", return_type="pd-multiindex")
    ids = X.index.get_level_values(0).unique()[::4][:60]
    X = X.loc[ids, ["dim_0", "dim_1", "dim_2"]]
    y = y[::4][:60]
    lengths = X.groupby(level=0).size()
    assert lengths.nunique() > 1  # unequal lengths, as the tests need
    return X, y


@pytest.fixture(scope="module")
def irregular_panel():
    """40 series of 6-18 observations at irregular integer times, with NaN.

    pd-multiindex, two positive channels; the target is the mean of "a".
    """
    rng = np.random.default_rng(0)
    frames, target = [], []
    for i in range(40):
        n = int(rng.integers(6, 19))
        t = np.cumsum(rng.integers(1, 4, size=n))
        a = rng.uniform(1.0, 3.0, size=n)
        b = rng.uniform(1.0, 2.0, size=n)
        b[rng.random(n) < 0.3] = np.nan
        index = pd.MultiIndex.from_arrays([[i] * n, t], names=["instance", "time"])
        frames.append(pd.DataFrame({"a": a, "b": b}, index=index))
        target.append(a.mean())
    return pd.concat(frames), np.array(target)


# ----------------------------------------------------------- sktime's checks
@pytest.mark.parametrize("estimator", [CfCTimeSeriesClassifier, CfCTimeSeriesRegressor])
def test_sktime_estimator_checks(estimator):
    # sktime before 1.2 expected regressors_ (vectorization) from regressors
    # that declare capability:multioutput, the reverse of its own rule since;
    # test_two_targets_train_one_network covers two targets here
    old = Version(sktime.__version__) < Version("1.2")
    excluded = ["test_multioutput"] if old else None
    check_estimator(estimator, raise_exceptions=True, tests_to_exclude=excluded)


# ------------------------------------------------------------- same settings
@pytest.mark.parametrize("sktime_class, sklearn_class", PAIRS)
def test_signature_is_the_sklearn_estimators(sktime_class, sklearn_class):
    # names, order, defaults and keyword-only kind
    ours = inspect.signature(sktime_class).parameters
    theirs = inspect.signature(sklearn_class).parameters
    assert list(ours.values()) == list(theirs.values())


@pytest.mark.parametrize("sktime_class, sklearn_class", PAIRS)
def test_docstring_documents_every_parameter(sktime_class, sklearn_class):
    doc = sktime_class.__doc__
    assert "%(parameters)s" not in doc
    parameters = doc[doc.index("    Parameters\n") : doc.index("    Attributes\n")]
    for name in inspect.signature(sktime_class).parameters:
        assert re.search(rf"^    {name} : ", parameters, flags=re.M), name


@pytest.mark.parametrize(
    "sktime_class", [CfCTimeSeriesClassifier, CfCTimeSeriesRegressor]
)
def test_invalid_setting_is_reported_in_the_class_name(sktime_class, vowels):
    X, y = vowels
    if sktime_class is CfCTimeSeriesRegressor:
        y = np.arange(len(y), dtype=float)
    message = f"The 'units' parameter of {sktime_class.__name__} must be"
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        sktime_class(units=0).fit(X, y)


# ------------------------------------------------------------------ delegation
def test_classifier_delegation_is_exact(vowels):
    X, y = vowels
    ours = CfCTimeSeriesClassifier(**TINY).fit(X, y)
    theirs = CfCClassifier(**TINY).fit(X, y)
    assert isinstance(ours.estimator_, CfCClassifier)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_array_equal(ours.predict_proba(X), theirs.predict_proba(X))
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_regressor_delegation_is_exact(irregular_panel):
    X, y = irregular_panel
    ours = CfCTimeSeriesRegressor(**TINY).fit(X, y)
    theirs = CfCRegressor(**TINY).fit(X, y)
    assert isinstance(ours.estimator_, CfCRegressor)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def _formats(X):
    """The panel ``X`` (pd-multiindex) in sktime's other Panel mtypes."""
    ids = X.index.get_level_values(0).unique()
    frames = [X.loc[i] for i in ids]
    length = max(len(frame) for frame in frames)
    array = np.full((len(ids), X.shape[1], length), np.nan)  # NaN-padded
    for i, frame in enumerate(frames):
        array[i, :, : len(frame)] = frame.to_numpy().T
    return {"pd-multiindex": X, "df-list": frames, "numpy3D": array}


@pytest.mark.parametrize("mtype", ["pd-multiindex", "df-list", "numpy3D"])
def test_inner_mtypes_reach_the_estimator_unchanged(
    mtype, irregular_panel, monkeypatch
):
    X, y = irregular_panel
    data = _formats(X)[mtype]
    received = []
    fit = CfCRegressor.fit

    def spy(self, X, y, sample_weight=None):
        received.append(X)
        return fit(self, X, y, sample_weight)

    monkeypatch.setattr(CfCRegressor, "fit", spy)
    ours = CfCTimeSeriesRegressor(**TINY).fit(data, y)
    theirs = CfCRegressor(**TINY).fit(data, y)
    assert type(received[0]) is type(data)
    if mtype == "df-list":
        for got, sent in zip(received[0], data, strict=True):
            pd.testing.assert_frame_equal(got, sent)
    elif mtype == "numpy3D":
        np.testing.assert_array_equal(received[0], data)
    else:
        pd.testing.assert_frame_equal(received[0], data)
    np.testing.assert_array_equal(ours.predict(data), theirs.predict(data))


def test_two_targets_train_one_network(irregular_panel):
    X, y = irregular_panel
    y2 = pd.DataFrame({"mean": y, "double": 2 * y})
    reg = CfCTimeSeriesRegressor(**TINY).fit(X, y2)
    assert reg.estimator_.n_outputs_ == 2
    assert not reg._is_vectorized  # not one network per column
    pred = reg.predict(X)
    assert isinstance(pred, pd.DataFrame)
    assert pred.shape == (len(y), 2)


def test_warm_start_continues_training(vowels):
    X, y = vowels
    clf = CfCTimeSeriesClassifier(**TINY, warm_start=True).fit(X, y)
    first = clf.estimator_
    clf.fit(X, y)
    assert clf.estimator_ is first
    assert clf.estimator_.n_iter_ == 2 * TINY["max_epochs"]
    # without warm_start, each fit trains a new network
    clf.set_params(warm_start=False).fit(X, y)
    assert clf.estimator_ is not first
    assert clf.estimator_.n_iter_ == TINY["max_epochs"]


def test_pickling_leaves_the_accelerator_behind():
    class Accelerator:  # holds a lock, which does not pickle
        def __init__(self):
            self.lock = threading.Lock()

        def prepare(self, *args):
            return args

        def unwrap_model(self, model):
            return model

        def reduce(self, tensor, reduction="mean"):
            return tensor

    accelerator = Accelerator()
    clf = CfCTimeSeriesClassifier(accelerator=accelerator)
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.accelerator is None
    assert clf.accelerator is accelerator


# ------------------------------------------------------ sktime's own tooling
def test_exponent_transformer_pipeline_on_unequal_length_panel(vowels):
    # CfCClassifier (scikit-learn) fails here inside sktime's conversion
    X, y = vowels
    pipeline = ExponentTransformer() * CfCTimeSeriesClassifier(**TINY)
    assert isinstance(pipeline, ClassifierPipeline)
    pipeline.fit(X, y)
    proba = pipeline.predict_proba(X)
    assert proba.shape == (len(y), len(np.unique(y)))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    # the classifier saw the transformed panel, unequal lengths and all
    direct = CfCTimeSeriesClassifier(**TINY).fit(
        ExponentTransformer().fit_transform(X), y
    )
    np.testing.assert_array_equal(
        pipeline.predict(X), direct.predict(ExponentTransformer().fit_transform(X))
    )


def test_transformer_pipeline_regressor_with_missing_values(irregular_panel):
    X, y = irregular_panel
    assert X.isna().any().any()
    log = FunctionTransformer(func=np.log1p)
    pipeline = log * CfCTimeSeriesRegressor(**TINY)
    assert isinstance(pipeline, RegressorPipeline)
    pipeline.fit(X, y)
    pred = pipeline.predict(X)
    assert pred.shape == y.shape
    assert np.isfinite(pred).all()
    direct = CfCTimeSeriesRegressor(**TINY).fit(np.log1p(X), y)
    np.testing.assert_array_equal(pred, direct.predict(np.log1p(X)))


def test_cross_validated_evaluation_learns_basic_motions():
    # sktime's evaluate: 3 folds over BasicMotions' 80 series (4 classes,
    # 6 channels, 100 steps), a small network and 10 epochs per fold
    X, y = load_basic_motions(return_type="pd-multiindex")
    clf = CfCTimeSeriesClassifier(
        units=8,
        backbone_units=16,
        max_epochs=10,
        learning_rate=0.02,
        device="cpu",
        random_state=0,
    )
    results = evaluate(clf, cv=KFold(3, shuffle=True, random_state=0), X=X, y=y)
    accuracy = results["test_accuracy_score"].to_numpy()
    assert accuracy.shape == (3,)
    # chance is 0.25; seeds 0-2 give 0.74-1.0 per fold
    assert accuracy.min() > 0.5
    assert accuracy.mean() > 0.7
