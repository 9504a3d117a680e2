"""Training that diverges, is interrupted, or cannot hold out a validation set.

What the estimators return must be what they report: the weights kept are
those whose loss is ``best_loss_``, a diverging run raises instead of
returning a broken model, and an interrupt leaves either a usable model and
a warning or the estimator as it was.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss

from sklearn_cfc import CfCClassifier, CfCForecaster, CfCRegressor
from sklearn_cfc._skorch import DIVERGENCE_FACTOR, _StopOnDivergence
from sklearn_cfc.exceptions import DivergenceError, TrainingInterruptedWarning

TINY = dict(units=4, backbone_units=8, mixed_memory=False, device="cpu")
FORECASTER = dict(context_length=6, units=4, backbone_units=8, device="cpu")

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore::FutureWarning"
)


def _series(n=40, T=8, seed=0):
    """Series whose class is the sign of channel 0's mean; ragged lengths."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2, T))
    for i, length in enumerate(rng.integers(T // 2, T + 1, size=n)):
        X[i, :, length:] = np.nan
    y = np.where(np.nanmean(X[:, 0], axis=1) > 0, "pos", "neg")
    return X, y


def _targets(Estimator, y):
    return y if Estimator is CfCClassifier else (y == "pos") * 1.0


def _ramp(n=40):
    return pd.Series(np.sin(np.arange(n) / 3.0) + np.arange(n) / 10.0)


def _interrupt_training_forward(monkeypatch, module, call):
    """Make training forward passes of ``module`` raise Ctrl-C from the ``call``-th."""
    calls = {"n": 0}
    original = module.forward

    def forward(self, *args, **kwargs):
        if self.training:
            calls["n"] += 1
            if calls["n"] >= call:
                raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(module, "forward", forward)


def _weights(est):
    return [p.detach().clone() for p in est.net_.module_.parameters()]


# --------------------------------------------------------------- divergence
class TestDivergence:
    @pytest.mark.parametrize("Estimator", [CfCClassifier, CfCRegressor])
    def test_a_finite_explosion_raises_and_leaves_the_estimator_unfitted(
        self, Estimator
    ):
        # the run: the loss stays finite while the model breaks
        X, y = _series()
        est = Estimator(**TINY, learning_rate=1e6, lr_schedule="constant", max_epochs=1)
        msg = "The train_end_loss of epoch 1 is "
        with pytest.raises(DivergenceError, match=re.escape(msg)) as info:
            est.fit(X, _targets(Estimator, y))
        assert "training diverged" in str(info.value)
        assert "learning_rate (it is 1000000.0)" in str(info.value)
        with pytest.raises(NotFittedError):
            est.predict(X)

    def test_a_finite_explosion_of_the_forecaster_raises(self):
        f = CfCForecaster(
            **FORECASTER, learning_rate=1e6, lr_schedule="constant", max_epochs=2
        )
        with pytest.raises(DivergenceError, match="training diverged"):
            f.fit(_ramp())

    def test_the_rule_and_its_bound(self):
        """``loss - lowest > 10 * max(1, |untrained|, |lowest|)``, per epoch."""

        class Net:
            history = []

        def epoch(loss):
            Net.history.append({"epoch": len(Net.history) + 1, "valid_loss": loss})
            stop.on_epoch_end(Net)

        stop = _StopOnDivergence(learning_rate=0.1, monitor="valid_loss")
        stop.initialize()
        stop.on_batch_end(Net, training=True, loss=torch.tensor(0.5))
        epoch(0.2)  # lowest 0.2, scale max(1, 0.5, 0.2) = 1
        epoch(0.2 + DIVERGENCE_FACTOR)  # on the bound: a jump, not a divergence
        with pytest.raises(DivergenceError, match="more than 10 above the lowest"):
            epoch(0.2 + DIVERGENCE_FACTOR + 1e-6)
        # a loss that can fall below 0 (a Gaussian NLL): the scale grows with it
        stop.initialize()
        stop.on_batch_end(Net, training=True, loss=torch.tensor(0.1))
        epoch(-3.0)
        epoch(-3.0 + 3 * DIVERGENCE_FACTOR)
        with pytest.raises(DivergenceError, match=r"\(10 x max\(1, \|untrained"):
            epoch(-3.0 + 3 * DIVERGENCE_FACTOR + 1e-3)
        with pytest.raises(DivergenceError, match="of epoch 7 is nan"):
            epoch(float("nan"))

    def test_divergence_in_a_continued_fit_restores_the_fitted_model(self):
        X, y = _series()
        reg = CfCRegressor(**TINY, scale_target=False, random_state=0)
        reg.partial_fit(X, (y == "pos") * 1.0)
        before, weights = reg.predict(X), _weights(reg)
        history = [dict(row) for row in reg.history_]
        with pytest.raises(DivergenceError, match="became inf"):
            reg.partial_fit(X, np.full(len(X), 1e25))  # its square overflows
        np.testing.assert_array_equal(reg.predict(X), before)
        for a, b in zip(_weights(reg), weights, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        assert len(reg.net_.history) == len(history) == reg.n_iter_ == 1


# --------------------------------------------- the loss of the weights kept
class TestBestLoss:
    def test_without_early_stopping_it_is_the_training_loss_of_the_weights(self):
        # a constant, high learning rate: the loss jumps, and a restore happens
        X, y = _series(60)
        clf = CfCClassifier(
            **TINY,
            learning_rate=0.1,
            lr_schedule="constant",
            gradient_clip=None,
            max_epochs=12,
            n_iter_no_change=100,
            random_state=0,
        ).fit(X, y)
        stopper = dict(clf.net_.callbacks_)["early_stopping"]
        assert stopper.best_epoch_ < clf.n_iter_  # the test sees a restore
        end = [row["train_end_loss"] for row in clf.history_]
        assert clf.best_loss_ == min(end) == end[stopper.best_epoch_ - 1]
        # it is the training log-loss of the model returned
        actual = log_loss(y, clf.predict_proba(X), labels=clf.classes_)
        np.testing.assert_allclose(clf.best_loss_, actual, rtol=1e-5)
        # the mean loss over each epoch's batches is recorded as before
        assert clf.loss_curve_ == [row["train_loss"] for row in clf.history_]

    def test_with_early_stopping_it_is_the_validation_loss_of_the_weights(self):
        # tol=1: no epoch improves by tol, yet the lowest one is what is kept
        X, y = _series(60)
        clf = CfCClassifier(
            **TINY,
            learning_rate=0.05,
            max_epochs=6,
            early_stopping=True,
            validation_fraction=0.25,
            tol=1.0,
            n_iter_no_change=100,
            random_state=0,
        ).fit(X, y)
        best = int(np.argmin(clf.validation_scores_))
        assert best > 0  # a later epoch than the only one improving by tol
        assert clf.best_loss_ == clf.validation_scores_[best]
        codes = np.searchsorted(clf.classes_, y)
        _, valid = clf.net_.train_split(np.arange(len(y)), codes)
        idx = np.asarray(valid.indices)
        proba = clf.predict_proba(X[idx])
        actual = log_loss(y[idx], proba, labels=clf.classes_)
        np.testing.assert_allclose(clf.best_loss_, actual, rtol=1e-5)


# ---------------------------------------------------------------- interrupts
class TestInterrupts:
    @pytest.mark.parametrize("Estimator", [CfCClassifier, CfCRegressor])
    def test_in_the_first_epoch_the_estimator_is_left_unfitted(
        self, Estimator, monkeypatch
    ):
        X, y = _series()
        _interrupt_training_forward(monkeypatch, Estimator._module, call=1)
        est = Estimator(**TINY, max_epochs=5, random_state=0)
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, _targets(Estimator, y))
        with pytest.raises(NotFittedError):
            est.predict(X)

    def test_in_the_forecasters_first_epoch_it_is_left_unfitted(self, monkeypatch):
        _interrupt_training_forward(monkeypatch, CfCForecaster._module, call=1)
        f = CfCForecaster(**FORECASTER, max_epochs=3)
        with pytest.raises(KeyboardInterrupt):
            f.fit(_ramp())
        assert not hasattr(f, "net_")

    @pytest.mark.parametrize("early_stopping", [False, True])
    def test_later_it_warns_keeps_the_best_epoch_and_records_it(
        self, early_stopping, monkeypatch
    ):
        X, y = _series(60)
        # 2 training batches an epoch (45 or 60 series): stop in epoch 3
        _interrupt_training_forward(monkeypatch, CfCClassifier._module, call=5)
        clf = CfCClassifier(
            **TINY,
            max_epochs=50,
            batch_size=32,
            early_stopping=early_stopping,
            validation_fraction=0.25,
            random_state=0,
        )
        msg = (
            "CfCClassifier: training was interrupted (KeyboardInterrupt) in "
            "epoch 3. The weights of epoch "
        )
        with pytest.warns(TrainingInterruptedWarning, match=re.escape(msg)):
            clf.fit(X, y)
        assert clf.n_iter_ == 2
        assert clf.history_[-1]["interrupted"] is True
        assert not any("interrupted" in row for row in clf.history_[:-1])
        assert len(clf.loss_curve_) == 2
        key = "valid_loss" if early_stopping else "train_end_loss"
        stopper = dict(clf.net_.callbacks_)["early_stopping"]
        assert clf.best_loss_ == clf.history_[stopper.best_epoch_ - 1][key]
        assert clf.predict(X).shape == (len(X),)

    def test_in_a_continued_fit_before_an_epoch_the_model_is_unchanged(
        self, monkeypatch
    ):
        X, y = _series()
        clf = CfCClassifier(**TINY, max_epochs=2, warm_start=True, random_state=0)
        clf.fit(X, y)
        before, weights, best = clf.predict_proba(X), _weights(clf), clf.best_loss_
        _interrupt_training_forward(monkeypatch, CfCClassifier._module, call=1)
        for step in (clf.fit, lambda X, y: clf.partial_fit(X, y)):
            with pytest.raises(KeyboardInterrupt):
                step(X, y)
            np.testing.assert_array_equal(clf.predict_proba(X), before)
            for a, b in zip(_weights(clf), weights, strict=True):
                torch.testing.assert_close(a, b, rtol=0, atol=0)
            assert len(clf.net_.history) == clf.n_iter_ == 2
            assert clf.best_loss_ == best


# ------------------------------------------------- the validation split
class TestValidationSplit:
    def test_too_few_instances_for_a_stratified_split(self, monkeypatch):
        X, y = _series(4)
        y = np.array(["neg", "pos", "neg", "pos"])
        clf = CfCClassifier(**TINY, early_stopping=True)
        msg = (
            "early_stopping=True holds out part of the training data to decide "
            "when to stop: validation_fraction=0.1 of the 4 training instances "
            "is 1 for validation, leaving 3 to train on, but a stratified "
            "split needs at least one instance of each of the 2 classes in "
            "both parts. Set early_stopping=False, give more instances, or "
            "change validation_fraction."
        )
        with pytest.raises(ValueError, match=re.escape(msg)):
            clf.fit(X, y)
        assert not hasattr(clf, "net_")  # raised before any training
        # with a larger share held out, the same data can be split
        clf.set_params(validation_fraction=0.5, max_epochs=1).fit(X, y)
        assert clf.early_stopping_ is True

    def test_a_class_with_a_single_instance(self):
        X, y = _series(20)
        y = np.array(["rare"] + ["neg", "pos"] * 9 + ["pos"])
        msg = (
            "early_stopping=True holds out part of the training data to decide "
            "when to stop: the split is stratified and needs at least 2 "
            "instances of every class (one to train on, one to validate), but "
            "1 of the 3 classes has a single instance: ['rare']. Set "
            "early_stopping=False, or give more instances of these classes."
        )
        with pytest.raises(ValueError, match=re.escape(msg)):
            CfCClassifier(**TINY, early_stopping=True).fit(X, y)

    def test_a_regressor_needs_an_instance_to_train_on(self):
        X, _ = _series(1)
        msg = (
            "validation_fraction=0.1 of the 1 training instance is 1 for "
            "validation, leaving 0 to train on. Set early_stopping=False, or "
            "give at least 2 instances."
        )
        with pytest.raises(ValueError, match=re.escape(msg)):
            CfCRegressor(**TINY, early_stopping=True).fit(X, [1.0])

    def test_auto_is_off_where_no_split_can_be_drawn(self):
        X, y = _series(1000, T=3)
        y[0] = "rare"  # one instance of a third class among 1,000
        clf = CfCClassifier(**TINY, max_epochs=1, batch_size=500)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            clf.fit(X, y)
        assert clf.early_stopping_ is False
        y[1] = "rare"  # two: a stratified split is possible, and auto is on
        assert clf.fit(X, y).early_stopping_ is True
