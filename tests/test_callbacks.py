"""The ``callbacks`` setting: skorch callbacks run by the estimators' nets.

A callback sees every epoch; skorch's TensorBoard and MLflow loggers write
what tensorboard and MLflow read back; Checkpoint and LoadInitState save and
resume training; names, copies, searches, warm starts and pickling.
"""

import pickle
import re

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback, Checkpoint, LoadInitState

from sklearn_cfc import (
    CfCClassifier,
    CfCForecaster,
    CfCRegressor,
    CfCTimeSeriesClassifier,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore::FutureWarning"
)
TINY = dict(
    units=4,
    backbone_units=8,
    mixed_memory=False,
    max_epochs=3,
    learning_rate=0.02,
    device="cpu",
    random_state=0,
)
# the stopping rule ends training at epoch 2 (no later epoch improves by 1.0)
STOPS_AT_2 = dict(max_epochs=6, tol=1.0, n_iter_no_change=1, lr_schedule="constant")


class EpochCounter(Callback):
    """Counts the epochs and trainings it sees."""

    def __init__(self, label="counter"):
        self.label = label

    def initialize(self):
        self.epochs_ = 0
        self.trainings_ = 0
        return self

    def on_train_begin(self, net, **kwargs):
        self.trainings_ += 1

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


def _series(n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2, 8))
    y = np.where(X[:, 0].mean(axis=1) > 0, "pos", "neg")
    return X, y


def _ramp(n=40):
    t = np.arange(n, dtype=float)
    return pd.Series(np.sin(t / 3) + 0.1 * t, name="y")


def _fit(kind, **params):
    """A tiny fitted classifier, regressor or forecaster."""
    X, y = _series()
    if kind == "classifier":
        return CfCClassifier(**{**TINY, **params}).fit(X, y)
    if kind == "regressor":
        return CfCRegressor(**{**TINY, **params}).fit(X, X[:, 0].mean(axis=1))
    params = {"context_length": 4, "horizon": 2, **TINY, **params}
    del params["mixed_memory"]  # the forecaster's default is off already
    return CfCForecaster(**params).fit(_ramp())


def _user(estimator, name):
    """The net's copy of the callback named ``name`` in ``callbacks``."""
    return dict(estimator.net_.callbacks_)[f"user_{name}"]


KINDS = ["classifier", "regressor", "forecaster"]


# ------------------------------------------------------------------- epochs
@pytest.mark.parametrize("kind", KINDS)
def test_a_callback_sees_every_epoch_the_one_training_stops_at_included(kind):
    given = EpochCounter()
    estimator = _fit(kind, **STOPS_AT_2, callbacks=[given])
    assert estimator.n_iter_ == 2  # stopped by the rule, before max_epochs
    copy = _user(estimator, "EpochCounter")
    assert copy.epochs_ == estimator.n_iter_
    assert copy.trainings_ == 1
    # the given callback is a setting: fit leaves it as it was
    assert copy is not given
    assert copy.label == given.label
    assert not hasattr(given, "epochs_")


def test_user_callbacks_run_after_the_estimators_own_and_before_the_print_log():
    clf = _fit("classifier", callbacks=[EpochCounter(), ("mine", EpochCounter())])
    names = [name for name, _ in clf.net_.callbacks_]
    assert names[-3:] == ["user_EpochCounter", "user_mine", "print_log"]
    assert names.index("early_stopping") < names.index("user_EpochCounter")


def test_the_stopping_epoch_is_printed(capsys):
    clf = _fit("classifier", **STOPS_AT_2, verbose=1)
    rows = re.findall(r"^ +(\d+) +\d", capsys.readouterr().out, flags=re.M)
    assert rows == ["1", "2"]
    assert clf.n_iter_ == 2


# ------------------------------------------------------------------- loggers
def test_tensorboard_writes_the_losses_tensorboard_reads(tmp_path):
    pytest.importorskip("tensorboard")
    from skorch.callbacks import TensorBoard
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path))
    clf = _fit("classifier", callbacks=[TensorBoard(writer)])
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    logged = events.Scalars("Loss/train_loss")
    assert [e.step for e in logged] == [1, 2, 3]
    np.testing.assert_allclose(
        [e.value for e in logged], clf.history_[:, "train_loss"], rtol=1e-6
    )
    assert "Loss/train_end_loss" in events.Tags()["scalars"]


def test_mlflow_logger_logs_every_epoch_to_a_file_store(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient
    from skorch.callbacks import MlflowLogger

    # MLflow 3 keeps the file store behind this switch (a database is its default)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    run = client.create_run(client.create_experiment("cfc"))
    clf = _fit("classifier", callbacks=[MlflowLogger(run, client)])
    run_id = run.info.run_id
    logged = client.get_metric_history(run_id, "train_loss")
    assert [m.step for m in logged] == [1, 2, 3]
    np.testing.assert_allclose(
        [m.value for m in logged], clf.history_[:, "train_loss"], rtol=1e-6
    )
    assert len(client.get_metric_history(run_id, "train_end_loss")) == 3
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"params.pth", "history.json"} <= artifacts
    assert client.get_run(run_id).info.status == "FINISHED"


# -------------------------------------------------------------- checkpoints
def test_checkpoint_saves_the_weights_the_estimator_keeps(tmp_path):
    X, y = _series(40)
    checkpoint = Checkpoint(dirname=str(tmp_path))  # monitors valid_loss_best
    params = {**TINY, "max_epochs": 6, "early_stopping": True}
    params["validation_fraction"] = 0.25
    clf = CfCClassifier(**params, callbacks=[checkpoint]).fit(X, y)
    assert {"params.pt", "optimizer.pt", "history.json"} <= {
        p.name for p in tmp_path.iterdir()
    }
    saved_at = [row["epoch"] for row in clf.history_ if row["event_cp"]]
    best = dict(clf.net_.callbacks_)["early_stopping"].best_epoch_
    assert saved_at[-1] == best
    saved = torch.load(tmp_path / "params.pt", weights_only=True)
    kept = clf.net_.module_.state_dict()
    assert saved.keys() == kept.keys()
    for name, value in kept.items():
        torch.testing.assert_close(saved[name], value)


def test_load_init_state_resumes_from_a_checkpoint(tmp_path):
    X, y = _series()
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)  # every epoch
    first = CfCClassifier(**TINY, callbacks=[checkpoint]).fit(X, y)
    resume = [checkpoint, LoadInitState(checkpoint)]
    second = CfCClassifier(**{**TINY, "max_epochs": 2}, callbacks=resume).fit(X, y)
    # the history goes on from the checkpoint's three epochs
    assert second.n_iter_ == 5
    np.testing.assert_allclose(
        second.history_[:3, "train_loss"], first.history_[:, "train_loss"]
    )
    # the first resumed epoch starts from the saved weights: lower than a new start
    fresh = CfCClassifier(**{**TINY, "max_epochs": 2}).fit(X, y)
    assert second.history_[3, "train_loss"] < fresh.history_[0, "train_loss"]


# --------------------------------------------------------- names and errors
def test_unnamed_callbacks_of_one_class_are_numbered():
    clf = _fit("classifier", callbacks=[EpochCounter(), EpochCounter("b")])
    assert _user(clf, "EpochCounter_1").label == "counter"
    assert _user(clf, "EpochCounter_2").label == "b"


def test_a_name_of_the_estimators_own_callbacks_does_not_collide():
    clf = _fit("classifier", callbacks=[("early_stopping", EpochCounter())])
    assert _user(clf, "early_stopping").epochs_ == 3
    assert dict(clf.net_.callbacks_)["early_stopping"].best_epoch_ >= 1


@pytest.mark.parametrize(
    "callbacks, message",
    [
        (
            [("tb", EpochCounter()), ("tb", EpochCounter())],
            "callbacks[0] and callbacks[1] of CfCClassifier are both named 'tb'",
        ),
        (
            [("EpochCounter_2", EpochCounter()), EpochCounter(), EpochCounter()],
            (
                "callbacks[0] and callbacks[2] of CfCClassifier are both named "
                "'EpochCounter_2'"
            ),
        ),
    ],
)
def test_duplicate_names_are_refused(callbacks, message):
    X, y = _series()
    clf = CfCClassifier(**TINY, callbacks=callbacks)
    with pytest.raises(ValueError, match=re.escape(message)):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


@pytest.mark.parametrize(
    "callbacks, message",
    [
        (
            [EpochCounter(), "print"],
            (
                "callbacks[1] of CfCClassifier must be a skorch callback (an "
                "instance of skorch.callbacks.Callback) or a (name, callback) "
                "pair; got 'print' (str)."
            ),
        ),
        (
            [EpochCounter],
            (
                "callbacks[0] of CfCClassifier is the class EpochCounter, not an "
                "instance: pass EpochCounter(...)."
            ),
        ),
        (
            [("a", EpochCounter()), (1, EpochCounter())],
            "callbacks[1] of CfCClassifier is (1, ",
        ),
        (
            [("a", EpochCounter(), "extra")],
            "a pair must be (name, callback) with a str name",
        ),
        (
            [("a", torch.optim.Adam)],
            "callbacks[0][1] of CfCClassifier must be a skorch callback",
        ),
        (
            (EpochCounter(),),
            (
                "The 'callbacks' parameter of CfCClassifier must be an instance of "
                "'list' or None"
            ),
        ),
    ],
)
def test_a_bad_element_is_refused_with_its_position(callbacks, message):
    X, y = _series()
    clf = CfCClassifier(**TINY, callbacks=callbacks)
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_the_forecaster_refuses_a_bad_element_in_its_name():
    forecaster = CfCForecaster(context_length=4, max_epochs=1, callbacks=[1.0])
    with pytest.raises(InvalidParameterError, match=r"callbacks\[0\] of CfCForecaster"):
        forecaster.fit(_ramp())


# ---------------------------------------------------- copies and searches
def test_clone_and_a_grid_search_train_their_own_copies():
    X, y = _series()
    given = EpochCounter()
    clf = CfCClassifier(**TINY, callbacks=[given])
    twin = clone(clf)
    assert isinstance(twin.callbacks[0], EpochCounter)
    assert twin.callbacks[0] is not given
    search = GridSearchCV(clf, {"units": [2, 4]}, cv=2, n_jobs=1).fit(X, y)
    best = search.best_estimator_
    assert _user(best, "EpochCounter").epochs_ == best.n_iter_ == 3
    assert not hasattr(given, "epochs_")


def test_two_fits_do_not_share_callback_state():
    X, y = _series()
    clf = CfCClassifier(**TINY, callbacks=[EpochCounter()]).fit(X, y)
    first = _user(clf, "EpochCounter")
    clf.fit(X, y)
    assert _user(clf, "EpochCounter") is not first
    assert first.epochs_ == _user(clf, "EpochCounter").epochs_ == 3


def test_the_sktime_classes_pass_callbacks_on():
    X, y = _series()
    clf = CfCTimeSeriesClassifier(**TINY, callbacks=[EpochCounter()]).fit(X, y)
    assert _user(clf.estimator_, "EpochCounter").epochs_ == 3


# ---------------------------------------------------- continued training
def test_unchanged_callbacks_keep_their_state_through_warm_starts():
    X, y = _series()
    clf = CfCClassifier(**TINY, callbacks=[EpochCounter()], warm_start=True)
    clf.fit(X, y).fit(X, y)
    counter = _user(clf, "EpochCounter")
    assert counter.epochs_ == clf.n_iter_ == 6
    assert counter.trainings_ == 2


def test_unchanged_callbacks_keep_their_state_through_partial_fit():
    X, y = _series()
    clf = CfCClassifier(**TINY, callbacks=[EpochCounter()])
    for _ in range(3):
        clf.partial_fit(X, y, classes=["neg", "pos"])
    assert _user(clf, "EpochCounter").epochs_ == clf.n_iter_ == 3


def test_callbacks_may_change_between_warm_starts():
    X, y = _series()
    clf = CfCClassifier(**TINY, callbacks=[EpochCounter()], warm_start=True)
    clf.fit(X, y)
    own = dict(clf.net_.callbacks_)["stop_on_divergence"]
    clf.set_params(callbacks=[("new", EpochCounter())]).fit(X, y)
    names = [name for name, _ in clf.net_.callbacks_]
    assert "user_EpochCounter" not in names
    assert names[-2:] == ["user_new", "print_log"]
    assert _user(clf, "new").epochs_ == 3  # a fresh copy: this fit's epochs
    assert clf.n_iter_ == 6
    # the estimator's own callbacks keep their state
    assert dict(clf.net_.callbacks_)["stop_on_divergence"] is own
    clf.set_params(callbacks=None).fit(X, y)
    assert not [n for n, _ in clf.net_.callbacks_ if n.startswith("user_")]


def test_the_forecaster_update_runs_the_same_callbacks():
    forecaster = _fit("forecaster", callbacks=[EpochCounter()], update_epochs=2)
    forecaster.update(_ramp(44).iloc[40:])
    assert _user(forecaster, "EpochCounter").epochs_ == forecaster.n_iter_ == 5


# ------------------------------------------------------------------ pickling
def test_a_fitted_estimator_pickles_with_its_callbacks():
    X, y = _series()
    clf = CfCClassifier(**TINY, callbacks=[EpochCounter("kept")]).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.callbacks[0].label == "kept"
    assert _user(loaded, "EpochCounter").epochs_ == 3
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    loaded.set_params(warm_start=True).fit(X, y)
    assert _user(loaded, "EpochCounter").epochs_ == loaded.n_iter_ == 6


class Unpicklable(EpochCounter):
    """A counter holding a lock, as a TensorBoard's SummaryWriter does."""

    def initialize(self):
        import threading

        self.lock_ = threading.Lock()
        return super().initialize()


@pytest.mark.parametrize("kind", KINDS)
def test_callbacks_that_cannot_be_pickled_are_left_out(kind):
    import threading

    estimator = _fit(kind, callbacks=[EpochCounter(), Unpicklable()])
    estimator.callbacks[1].lock = threading.Lock()  # the setting itself, too
    loaded = pickle.loads(pickle.dumps(estimator))
    assert [type(c) for c in loaded.callbacks] == [EpochCounter]
    names = [name for name, _ in loaded.net_.callbacks_]
    assert "user_EpochCounter" in names
    assert "user_Unpicklable" not in names
    assert [type(c) for c in estimator.callbacks] == [EpochCounter, Unpicklable]


@pytest.mark.parametrize("close_after_train", [True, False])
def test_a_tensorboard_logger_pickles_once_its_writer_is_closed(
    tmp_path, close_after_train
):
    pytest.importorskip("tensorboard")
    from skorch.callbacks import TensorBoard
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )
    from torch.utils.tensorboard import SummaryWriter

    X, y = _series()
    writer = SummaryWriter(log_dir=str(tmp_path))
    logger = TensorBoard(writer, close_after_train=close_after_train)
    callbacks = [EpochCounter(), logger]
    clf = CfCClassifier(**TINY, callbacks=callbacks, warm_start=True).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    kept = [EpochCounter, TensorBoard] if close_after_train else [EpochCounter]
    # an open SummaryWriter holds a thread lock, which cannot be pickled
    assert [type(c) for c in loaded.callbacks] == kept
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    # continued training goes on with the callbacks' copies, or, if some were
    # left out, with fresh copies of those kept
    loaded.fit(X, y)
    assert _user(loaded, "EpochCounter").epochs_ == (6 if close_after_train else 3)
    assert loaded.n_iter_ == 6
    if close_after_train:  # the loaded logger's writer opens a new event file
        events = EventAccumulator(str(tmp_path))
        events.Reload()
        steps = [e.step for e in events.Scalars("Loss/train_loss")]
        assert steps == [1, 2, 3, 4, 5, 6]
    writer.close()
