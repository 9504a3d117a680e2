"""Behaviour of CfCClassifier and CfCRegressor beyond scikit-learn's checks."""

import os
import pickle
import re
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_cfc import CfCClassifier, CfCRegressor
from sklearn_cfc.exceptions import DivergenceError

FAST = dict(units=8, backbone_units=16, max_epochs=30, learning_rate=0.02)
# the suite's toy series are short: the fused loop alone is enough and faster
FAST["mixed_memory"] = False

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _series(n=60, T=12, C=2, seed=0):
    """Series whose class is the sign of channel 0's mean; ragged lengths."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, C, T))
    lengths = rng.integers(T // 2, T + 1, size=n)
    for i, n_obs in enumerate(lengths):
        X[i, :, n_obs:] = np.nan
    y = np.where(np.nanmean(X[:, 0], axis=1) > 0, "pos", "neg")
    return X, y


def _timing_frames(n=80, seed=0):
    """Frames whose label depends only on *when* observations happen.

    Values are constant; class 'fast' is observed every 0.1 time units and
    'slow' every 1.0, so only the timestamps in the index tell them apart.
    """
    rng = np.random.default_rng(seed)
    frames, labels = [], []
    for i in range(n):
        fast = i % 2 == 0
        gaps = rng.uniform(0.05, 0.15, 10) if fast else rng.uniform(0.8, 1.2, 10)
        frames.append(pd.DataFrame({"v": np.ones(10)}, index=np.cumsum(gaps)))
        labels.append("fast" if fast else "slow")
    return frames, np.array(labels)


@pytest.fixture(scope="module")
def fitted():
    X, y = _series()
    return CfCClassifier(**FAST, random_state=0).fit(X, y), X, y


# ------------------------------------------------------------------ outputs
class TestClassifierOutputs:
    def test_string_labels_and_probabilities(self, fitted):
        clf, X, y = fitted
        assert clf.classes_.tolist() == ["neg", "pos"]
        proba = clf.predict_proba(X)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        np.testing.assert_array_equal(
            clf.predict(X), clf.classes_[proba.argmax(axis=1)]
        )
        np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-6)
        assert clf.score(X, y) > 0.9

    def test_multiclass_with_integer_labels(self):
        rng = np.random.default_rng(1)
        X = rng.normal(size=(90, 1, 8))
        y = np.digitize(X[:, 0].mean(axis=1), [-0.2, 0.2])  # 0, 1, 2
        clf = CfCClassifier(**FAST, random_state=0).fit(X, y)
        assert clf.classes_.tolist() == [0, 1, 2]
        assert clf.predict_proba(X).shape == (90, 3)
        assert clf.score(X, y) > 0.8

    def test_timestamps_in_the_index_are_used(self):
        frames, y = _timing_frames()
        clf = CfCClassifier(**FAST, random_state=0).fit(frames[:60], y[:60])
        assert clf.score(frames[60:], y[60:]) == 1.0
        assert clf.encoder_.dt_scale_ == pytest.approx(0.5, abs=0.5)


class TestRegressorOutputs:
    def test_single_and_multi_output(self):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(80, 1, 10))
        y = np.stack([X[:, 0].sum(1), X[:, 0, -1] * 100 + 500], axis=1)
        reg = CfCRegressor(**{**FAST, "max_epochs": 60}, random_state=0).fit(X, y)
        assert reg.n_outputs_ == 2
        pred = reg.predict(X)
        assert pred.shape == (80, 2)
        # target scaling: predictions come back in the original units
        assert abs(pred[:, 1].mean() - 500) < 30
        assert reg.score(X, y) > 0.8
        single = CfCRegressor(**FAST, random_state=0).fit(X, y[:, 0])
        assert single.predict(X).shape == (80,)


# ---------------------------------------------------------------- weights
def test_sample_weight_zero_ignores_instances():
    X, y = _series(n=80)
    flipped = np.where(y == "pos", "neg", "pos")
    X2, y2 = np.concatenate([X, X]), np.concatenate([y, flipped])
    weight = np.r_[np.ones(80), np.zeros(80)]
    clf = CfCClassifier(**FAST, random_state=0).fit(X2, y2, sample_weight=weight)
    assert clf.score(X, y) > 0.9


def test_class_weight_shifts_decisions_towards_the_weighted_class():
    X, y = _series(n=80)
    plain = CfCClassifier(**FAST, random_state=0).fit(X, y)
    heavy = CfCClassifier(**FAST, random_state=0, class_weight={"pos": 20.0})
    heavy.fit(X, y)
    assert (heavy.predict(X) == "pos").sum() > (plain.predict(X) == "pos").sum()
    balanced = CfCClassifier(**FAST, random_state=0, class_weight="balanced")
    assert balanced.fit(X, y).score(X, y) > 0.8


# --------------------------------------------------------------- training
class TestTraining:
    def test_early_stopping_restores_the_best_weights(self):
        X, y = _series(n=80)
        clf = CfCClassifier(
            **{**FAST, "max_epochs": 200},
            early_stopping=True,
            n_iter_no_change=3,
            random_state=0,
        ).fit(X, y)
        assert clf.n_iter_ < 200
        assert len(clf.validation_scores_) == clf.n_iter_
        assert clf.best_loss_ == min(clf.validation_scores_)
        best = int(np.argmin(clf.validation_scores_))
        assert clf.n_iter_ == best + 1 + 3  # stopped patience epochs later

    def test_a_cosine_schedule_runs_to_max_epochs(self):
        X, y = _series()
        clf = CfCClassifier(**{**FAST, "max_epochs": 12}, tol=0.5, n_iter_no_change=2)
        assert clf.fit(X, y).n_iter_ == 12

    def test_stalled_training_loss_stops_without_early_stopping(self):
        X, y = _series()
        clf = CfCClassifier(
            **{**FAST, "max_epochs": 500},
            tol=0.5,
            n_iter_no_change=2,
            lr_schedule="constant",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            clf.fit(X, y)
        assert clf.n_iter_ < 500

    def test_max_epochs_warns_when_still_improving(self):
        X, y = _series()
        with pytest.warns(ConvergenceWarning, match="stopped at max_epochs=2"):
            CfCClassifier(**{**FAST, "max_epochs": 2}, lr_schedule="constant").fit(X, y)
        with warnings.catch_warnings():  # a cosine schedule ends there by plan
            warnings.simplefilter("error", ConvergenceWarning)
            CfCClassifier(**{**FAST, "max_epochs": 2}).fit(X, y)

    def test_the_best_training_epoch_is_kept(self):
        X, y = _series()
        clf = CfCClassifier(**FAST, lr_schedule="constant", random_state=0)
        clf.fit(X, y)
        best = int(np.argmin(clf.loss_curve_))
        stopper = dict(clf.net_.callbacks_)["early_stopping"]
        assert stopper.best_epoch_ == best + 1

    def test_history_and_plot(self, fitted):
        pytest.importorskip("matplotlib")
        import matplotlib

        matplotlib.use("Agg")
        clf, _, _ = fitted
        assert len(clf.history_) == clf.n_iter_ == len(clf.loss_curve_)
        assert clf.loss_curve_[-1] < clf.loss_curve_[0]
        ax = clf.plot_history()
        assert len(ax.lines) == 1

    def test_warm_start_continues_from_the_fitted_weights(self):
        X, y = _series()
        clf = CfCClassifier(**{**FAST, "max_epochs": 3}, warm_start=True)
        clf.fit(X, y)
        clf.fit(X, y)
        assert clf.n_iter_ == 6
        cold = clone(clf).set_params(warm_start=False)
        cold.fit(X, y)
        cold.fit(X, y)
        assert cold.n_iter_ == 3

    def test_warm_start_refuses_changed_settings(self):
        X, y = _series()
        clf = CfCClassifier(**{**FAST, "max_epochs": 3}, warm_start=True).fit(X, y)
        clf.set_params(max_epochs=5, learning_rate=0.001)
        msg = (
            "CfCClassifier was fitted with other settings: max_epochs=3 to "
            "max_epochs=5, learning_rate=0.02 to learning_rate=0.001. warm_start "
            "and partial_fit continue training the network the first fit built"
        )
        with pytest.raises(ValueError, match=re.escape(msg)):
            clf.fit(X, y)
        assert clf.n_iter_ == 3  # untouched
        with pytest.raises(ValueError, match="verbose=0 to verbose=1"):
            clf.set_params(max_epochs=3, learning_rate=0.02, verbose=1).fit(X, y)
        clf.set_params(verbose=0)
        # class weights (sample weights of this fit's targets) may change
        clf.set_params(max_epochs=3, learning_rate=0.02, class_weight="balanced")
        assert clf.fit(X, y).n_iter_ == 6
        # without warm_start, a fit starts over with the new settings
        clf.set_params(warm_start=False, max_epochs=2).fit(X, y)
        assert clf.n_iter_ == 2

    def test_partial_fit_refuses_changed_settings_but_not_max_epochs(self):
        X, y = _series()
        reg = CfCRegressor(**FAST, random_state=0)
        reg.partial_fit(X, (y == "pos") * 1.0)
        reg.set_params(max_epochs=1).partial_fit(X, (y == "pos") * 1.0)
        assert reg.n_iter_ == 2
        for change in ({"running_stats": True}, {"scale_target": False}):
            key, value = next(iter(change.items()))
            msg = f"{key}={not value} to {key}={value}"
            with pytest.raises(ValueError, match=re.escape(msg)):
                reg.set_params(**change).partial_fit(X, (y == "pos") * 1.0)
            reg.set_params(**{key: not value})

    def test_partial_fit_runs_one_epoch_per_call(self):
        X, y = _series()
        clf = CfCClassifier(**FAST, random_state=0)
        msg = "classes must be passed on the first call to partial_fit"
        with pytest.raises(ValueError, match=re.escape(msg)):
            clf.partial_fit(X, y)
        for _ in range(3):
            clf.partial_fit(X, y, classes=["neg", "pos"])
        assert clf.n_iter_ == 3
        with pytest.raises(ValueError, match=re.escape("y contains labels ['new']")):
            clf.partial_fit(X[:2], ["new", "pos"])

    def test_verbose_prints_an_epoch_table(self, capsys):
        X, y = _series()
        CfCClassifier(**{**FAST, "max_epochs": 2}, verbose=1).fit(X, y)
        out = capsys.readouterr().out
        assert "train_loss" in out
        assert "epoch" in out

    def test_divergence_raises_instead_of_returning_a_broken_model(self):
        X, _ = _series()
        y = np.full(len(X), 1e25)  # its square overflows float32: an inf loss
        reg = CfCRegressor(**FAST, scale_target=False)
        with pytest.raises(DivergenceError, match="The training loss became inf"):
            reg.fit(X, y)
        with pytest.raises(NotFittedError):
            reg.predict(X)

    def test_keyboard_interrupt_leaves_a_usable_model(self, monkeypatch):
        from sklearn_cfc import _skorch

        X, y = _series()
        calls = {"n": 0}
        original = _skorch._BucketSampler.__iter__

        def interrupt_on_third_epoch(self):
            if self.shuffle:
                calls["n"] += 1
                if calls["n"] == 3:
                    raise KeyboardInterrupt
            return original(self)

        monkeypatch.setattr(
            _skorch._BucketSampler, "__iter__", interrupt_on_third_epoch
        )
        clf = CfCClassifier(**FAST, random_state=0).fit(X, y)
        assert clf.n_iter_ == 2
        assert clf.predict(X).shape == (len(X),)


# ------------------------------------------------------- reproducibility
def test_same_seed_same_predictions_and_global_rng_untouched():
    X, y = _series()
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = CfCClassifier(**FAST, random_state=7).fit(X, y).predict_proba(X)
    after = torch.rand(1)
    b = CfCClassifier(**FAST, random_state=7).fit(X, y).predict_proba(X)
    c = CfCClassifier(**FAST, random_state=8).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert torch.equal(before, after)  # fitting does not consume the global seed


class TestRunningStats:
    @staticmethod
    def _spikes(n, seed, T=40):
        """Half the series hold one spike within their first 8 of 40 steps."""
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, 1, T))
        X[rng.random(X.shape) < 0.5] = np.nan
        X[:, 0, 0] = 0.0  # every series starts at time 0
        y = np.where(np.arange(n) % 2 == 0, "spike", "flat")
        for i in np.flatnonzero(y == "spike"):
            X[i, 0, rng.integers(0, 8)] = 5.0
        return X, y

    def test_the_running_maximum_carries_an_early_spike(self):
        X, y = self._spikes(200, 0)
        X_test, y_test = self._spikes(300, 1)
        # one step per observation: a time grid at the mean interval would
        # average the spike with a neighbour (see time_grid)
        clf = CfCClassifier(
            **FAST, running_stats=["max"], time_grid=None, random_state=0
        ).fit(X, y)
        assert clf.net_.module_.cfc.input_size == 5  # value, mask, age, change, max
        assert clf.score(X_test, y_test) >= 0.95

    @pytest.mark.parametrize("Estimator", [CfCClassifier, CfCRegressor])
    def test_every_statistic_reaches_the_network(self, Estimator):
        X, y = _series(30, C=3)
        y = y if Estimator is CfCClassifier else (y == "pos") * 1.0
        est = Estimator(**{**FAST, "max_epochs": 2}, running_stats=True).fit(X, y)
        assert est.encoder_.running_stats is True
        assert est.net_.module_.cfc.input_size == (3 + 1 + 4) * 3  # + changes
        assert est.predict(X).shape == (30,)

    def test_robust_scaling_with_running_stats(self):
        X, y = self._spikes(200, 0)
        X[::7, 0, 20] = 1e6  # wild values in both classes
        X_test, y_test = self._spikes(300, 1)
        clf = CfCClassifier(
            **FAST, scale="robust", running_stats=["max"], time_grid=None
        )
        clf.set_params(random_state=0).fit(X, y)
        assert clf.encoder_.scale == "robust"
        assert clf.score(X_test, y_test) >= 0.95

    def test_bad_running_stats_names_the_estimator(self):
        X, y = _series(20)
        msg = "The 'running_stats' parameter of CfCRegressor must be a bool or"
        with pytest.raises(ValueError, match=re.escape(msg)):
            CfCRegressor(running_stats=["max", "std"]).fit(X, (y == "pos") * 1.0)
        msg = "The 'running_stats' parameter of CfCClassifier must be an instance"
        with pytest.raises(ValueError, match=re.escape(msg)):
            CfCClassifier(running_stats="max").fit(X, y)


class TestDefaults:
    """What the defaults build, and tiny problems they must solve quickly."""

    @pytest.mark.parametrize("Estimator", [CfCClassifier, CfCRegressor])
    def test_auto_settings_follow_the_data(self, Estimator):
        X, y = _series(40, T=100)  # lengths 50..100
        y = y if Estimator is CfCClassifier else (y == "pos") * 1.0
        est = Estimator(**{**FAST, "max_epochs": 1}).fit(X, y)
        median = np.median(np.sum(~np.isnan(X[:, 0]), axis=1))
        assert est.patch_length_ == int(np.ceil(median / 32)) == 3
        # value, mask, age and change of 2 channels per observation, + its gap
        assert est.net_.module_.cfc.input_size == 3 * (4 * 2 + 1)
        assert est.net_.module_.head.readout_kind == "all"
        assert est.early_stopping_ is False  # fewer than 1,000 instances
        short = Estimator(**{**FAST, "max_epochs": 1}).fit(
            *_series(20, T=12)[:1], y[:20]
        )
        assert short.patch_length_ == 1
        fixed = Estimator(**{**FAST, "max_epochs": 1}, patch_length=7, readout="last")
        fixed.fit(X, y)
        assert fixed.patch_length_ == 7
        assert fixed.early_stopping_ is False
        assert fixed.net_.module_.head.readout_kind == "last"
        # sparse records (about a third of 4 channels at a step): no patches
        sparse, _ = _series(40, T=200, C=4)
        rng = np.random.default_rng(0)
        sparse[rng.random(sparse.shape) < 0.8] = np.nan
        sparse[:, :, 0] = 0.0  # every instance starts observed
        est = Estimator(**{**FAST, "max_epochs": 1}).fit(sparse, y)
        assert est.patch_length_ == 1
        full = np.where(np.isnan(sparse), 1.0, sparse)  # every channel, every step
        dense = Estimator(**{**FAST, "max_epochs": 1}).fit(full, y)
        assert dense.patch_length_ > 1

    def test_early_stopping_auto_from_a_thousand_instances(self):
        X, y = _series(1000, T=4)
        clf = CfCClassifier(**{**FAST, "max_epochs": 1}, batch_size=256).fit(X, y)
        assert clf.early_stopping_ is True
        assert len(clf.validation_scores_) == 1
        # partial_fit runs one epoch on all the data: no validation split
        inc = CfCClassifier(**FAST).partial_fit(X, y, classes=["neg", "pos"])
        assert inc.early_stopping_ is False

    @pytest.mark.parametrize(
        "param, value, allowed",
        [
            ("readout", "median", "a str among"),
            ("patch_length", 0, "an int in the range [1, inf) or a str among"),
            ("early_stopping", "yes", "an instance of 'bool' or"),
            ("differences", "yes", "an instance of 'bool'"),
        ],
    )
    def test_new_settings_are_validated(self, param, value, allowed):
        X, y = _series(10)
        msg = f"The '{param}' parameter of CfCClassifier must be {allowed}"
        with pytest.raises(ValueError, match=re.escape(msg)):
            CfCClassifier(**{param: value}).fit(X, y)

    def test_defaults_find_where_a_peak_is_in_long_series(self):
        # the class is where a bump sits in 160 noisy steps: the last state
        # alone must carry it across more than a hundred steps; the defaults
        # (patches, pooled readout) read it directly
        rng = np.random.default_rng(0)
        n, T = 80, 160
        y = np.repeat(["early", "late"], n // 2)
        centre = np.where(y == "early", 40, 120) + rng.integers(-10, 11, n)
        t = np.arange(T)
        X = (
            rng.normal(0, 0.3, (n, 1, T))
            + np.exp(-0.5 * ((t - centre[:, None]) / 4.0) ** 2)[:, None]
        )
        order = rng.permutation(n)
        train, test = order[:50], order[50:]
        clf = CfCClassifier(max_epochs=30, random_state=0).fit(X[train], y[train])
        assert clf.score(X[test], y[test]) >= 0.9

    def test_defaults_read_the_shape_under_a_varying_level(self):
        # the target is a slope; each series' level varies a hundred times
        # more than the slope moves it, which a per-channel scale squashes
        rng = np.random.default_rng(0)
        n, T = 120, 40
        slope = rng.uniform(-1, 1, n)
        level = rng.normal(0, 100, n)
        X = (level[:, None] + slope[:, None] * np.arange(T) / T)[:, None, :]
        X = X + rng.normal(0, 0.01, X.shape)
        reg = CfCRegressor(max_epochs=30, random_state=0).fit(X[:80], slope[:80])
        assert reg.score(X[80:], slope[80:]) >= 0.9

    def test_defaults_read_shapes_whose_scale_spans_orders_of_magnitude(self):
        # the class is the waveform (sine or square); the amplitudes span five
        # orders of magnitude, so one global scale squashes most series flat
        # (scale="standard" scores 0.85 here, 0.85-0.90 over data seeds 0-2); the
        # default compresses the channel (see PanelEncoder) and scores 1.00
        rng = np.random.default_rng(0)
        n, T = 120, 40
        y = np.repeat(["sine", "square"], n // 2)
        wave = np.sin(np.arange(T) / 3.0)
        shapes = np.where((y == "sine")[:, None], wave, np.sign(wave))
        amplitude = 10.0 ** rng.uniform(-3, 2, n)
        X = (amplitude[:, None] * (shapes + rng.normal(0, 0.05, (n, T))))[:, None]
        order = rng.permutation(n)
        train, test = order[:80], order[80:]
        clf = CfCClassifier(max_epochs=30, random_state=0).fit(X[train], y[train])
        assert clf.encoder_.compress_[0] > 0
        assert clf.score(X[test], y[test]) >= 0.95


class TestPersistence:
    def test_clone_params_and_round_trips(self, fitted, tmp_path):
        clf, X, _ = fitted
        expected = clf.predict_proba(X)
        assert clone(clf).get_params() == clf.get_params()
        assert not hasattr(clone(clf), "net_")
        restored = pickle.loads(pickle.dumps(clf))
        np.testing.assert_array_equal(restored.predict_proba(X), expected)
        joblib.dump(clf, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
        np.testing.assert_array_equal(loaded.predict_proba(X), expected)

    @pytest.mark.parametrize("Estimator", [CfCClassifier, CfCRegressor])
    @pytest.mark.parametrize("early_stopping", [False, True])
    def test_model_saved_on_cuda_predicts_on_a_cpu_only_machine(
        self, Estimator, early_stopping, monkeypatch
    ):
        """A CPU stand-in for pickling on a GPU and loading without one.

        Pickle writes each tensor's storage with the device it lives on; here
        every storage is written as if on "cuda:0", wherever it sits in the
        fitted model (the network, the optimizer's moments, the learning-rate
        schedule's reference to the optimizer, early stopping's copy of the
        best weights). Loading on this CPU-only machine must map them all.
        """
        if torch.cuda.is_available():
            pytest.skip("this stands in for a CUDA fit on a CPU-only machine")
        X, y = _series()
        y = y if Estimator is CfCClassifier else (y == "pos") * 1.0
        est = Estimator(**{**FAST, "max_epochs": 8}, early_stopping=early_stopping)
        est.set_params(lr_schedule="plateau", random_state=0).fit(X, y)
        predict = "predict_proba" if Estimator is CfCClassifier else "predict"
        expected = getattr(est, predict)(X)
        gpu = pickle.loads(pickle.dumps(est))
        gpu.net_.device = "cuda"  # as if fitted on a GPU
        gpu.device_ = "cuda"
        with monkeypatch.context() as patch:
            patch.setattr(torch.serialization, "location_tag", lambda _: "cuda:0")
            blob = pickle.dumps(gpu)
        with pytest.warns(UserWarning, match="no CUDA devices"):
            restored = pickle.loads(blob)
        assert str(restored.net_.device) == "cpu"
        np.testing.assert_allclose(getattr(restored, predict)(X), expected, rtol=1e-6)
        # the schedule still steps the net's own optimizer, not a copy of it
        scheduler = dict(restored.net_.callbacks_)["lr_schedule"].lr_scheduler_
        assert scheduler.optimizer is restored.net_.optimizer_

    @pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    def test_fitted_on_cuda_predicts_where_no_gpu_is_visible(self, tmp_path):
        X, y = _series()
        clf = CfCClassifier(**FAST, device="cuda", random_state=0).fit(X, y)
        joblib.dump(clf, tmp_path / "model.joblib")
        np.save(tmp_path / "X.npy", X)
        script = (
            "import sys, warnings, joblib, numpy as np, torch\n"
            "assert not torch.cuda.is_available()\n"
            "with warnings.catch_warnings():\n"
            "    warnings.simplefilter('ignore', UserWarning)  # 'no CUDA'\n"
            "    model = joblib.load(sys.argv[1] + '/model.joblib')\n"
            "assert str(model.net_.device) == 'cpu', model.net_.device\n"
            "X = np.load(sys.argv[1] + '/X.npy')\n"
            "np.save(sys.argv[1] + '/proba.npy', model.predict_proba(X))\n"
        )
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
        run = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        # CUDA and CPU kernels round differently, in the last bits
        np.testing.assert_allclose(
            np.load(tmp_path / "proba.npy"), clf.predict_proba(X), atol=1e-4
        )

    @pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    def test_fit_on_cuda(self):
        X, y = _series()
        clf = CfCClassifier(**FAST, device="cuda", random_state=0).fit(X, y)
        assert clf.device_ == "cuda"
        assert next(clf.net_.module_.parameters()).is_cuda
        assert clf.score(X, y) > 0.8


# -------------------------------------------------------------- workflows
class TestStreamingPrediction:
    """Prediction over iterators of batches and over chunked in-memory input."""

    def test_an_iterator_of_batches_gives_the_same_outputs(self, fitted):
        clf, X, _ = fitted
        frames = [pd.DataFrame(x.T[~np.isnan(x[0])]) for x in X[40:]]
        batches = iter([X[:25], X[25:40], frames])  # formats may differ by batch
        np.testing.assert_allclose(
            clf.predict_proba(batches), clf.predict_proba(X), rtol=1e-6, atol=1e-6
        )

        def generate():
            for start in range(0, len(X), 7):
                yield X[start : start + 7]

        np.testing.assert_array_equal(clf.predict(generate()), clf.predict(X))

    def test_regressor_streams_too(self):
        X, _ = _series()
        y = np.nanmean(X[:, 0], axis=1)
        reg = CfCRegressor(**FAST, random_state=0).fit(X, y)
        streamed = reg.predict(X[i : i + 16] for i in range(0, len(X), 16))
        np.testing.assert_allclose(streamed, reg.predict(X), rtol=1e-6, atol=1e-6)

    def test_large_inputs_are_converted_chunk_by_chunk(self, fitted, monkeypatch):
        from sklearn_cfc import _base

        clf, X, _ = fitted
        whole = clf.predict_proba(X)
        frames = [pd.DataFrame(x.T[~np.isnan(x[0])]) for x in X]
        whole_frames = clf.predict_proba(frames)
        seen = []
        to_panel = clf._to_panel
        monkeypatch.setattr(_base, "_PREDICT_CHUNK", 7)
        monkeypatch.setattr(
            clf, "_to_panel", lambda X: seen.append(len(X)) or to_panel(X)
        )
        np.testing.assert_allclose(clf.predict_proba(X), whole, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(
            clf.predict_proba(frames), whole_frames, rtol=1e-6, atol=1e-6
        )
        assert seen == 2 * ([7] * 8 + [4])

    def test_errors_name_the_batch_or_chunk(self, fitted, monkeypatch):
        from sklearn_cfc import _base

        clf, X, _ = fitted
        wrong = np.ones((3, 3, 12))
        with pytest.raises(ValueError, match=re.escape("batch 1 of X: X has 3 chan")):
            clf.predict(iter([X[:5], wrong]))
        with pytest.raises(ValueError, match="empty iterator"):
            clf.predict(iter([]))
        monkeypatch.setattr(_base, "_PREDICT_CHUNK", 7)
        bad = X.copy()
        bad[9] = np.nan  # instance 9 is instance 2 of the second chunk
        with pytest.raises(ValueError, match=re.escape("X[7:14]: ")) as info:
            clf.predict(bad)
        assert "instance 2" in str(info.value)


class TestWorkflows:
    def test_pipeline_with_a_function_transformer(self):
        X, y = _series()
        pipe = make_pipeline(
            FunctionTransformer(lambda X: np.nan_to_num(X, nan=np.nan) * 2.0),
            CfCClassifier(**FAST, random_state=0),
        )
        assert pipe.fit(X, y).score(X, y) > 0.9

    def test_grid_search_in_parallel_on_3d_arrays(self):
        X, y = _series(n=60)
        search = GridSearchCV(
            CfCClassifier(**{**FAST, "max_epochs": 10}, random_state=0),
            {"units": [4, 8], "learning_rate": [0.01, 0.03]},
            cv=2,
            n_jobs=2,
        ).fit(X, y)
        assert len(search.cv_results_["params"]) == 4
        assert search.best_estimator_.predict(X).shape == (60,)

    def test_randomized_search_on_frames_with_timestamps(self):
        frames, y = _timing_frames(n=40)
        search = RandomizedSearchCV(
            CfCClassifier(**{**FAST, "max_epochs": 10}, random_state=0),
            {"mode": ["default", "no_gate"], "batch_size": [8, 16]},
            n_iter=3,
            cv=2,
            n_jobs=2,
            random_state=0,
        ).fit(frames, y)
        assert search.best_score_ > 0.8

    def test_cross_val_score_regressor_on_frames(self):
        frames, _y = _timing_frames(n=60)
        target = np.array([f.index[-1] for f in frames])  # total duration
        scores = cross_val_score(
            CfCRegressor(**FAST, random_state=0), frames, target, cv=3
        )
        assert scores.mean() > 0.8

    def test_calibrated_classifier(self):
        X, y = _series(n=80)
        calibrated = CalibratedClassifierCV(
            CfCClassifier(**{**FAST, "max_epochs": 10}, random_state=0), cv=2
        ).fit(X, y)
        proba = calibrated.predict_proba(X)
        assert proba.shape == (80, 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)

    def test_soft_vote_of_seeds_on_frames_with_timestamps(self):
        """The seed ensemble the docs recommend for small, noisy data."""
        frames, y = _timing_frames(n=40)
        vote = VotingClassifier(
            [(f"s{i}", CfCClassifier(**FAST, random_state=i)) for i in range(3)],
            voting="soft",
            n_jobs=2,
        ).fit(frames, y)
        members = [est.predict_proba(frames) for est in vote.estimators_]
        assert not np.allclose(members[0], members[1])  # seeds differ
        np.testing.assert_allclose(
            vote.predict_proba(frames), np.mean(members, axis=0), rtol=1e-6
        )
        assert vote.score(frames, y) > 0.9
        assert list(vote.classes_) == ["fast", "slow"]


# -------------------------------------------------------------- bad input
class TestBadInput:
    def test_predict_before_fit(self):
        X, _ = _series()
        with pytest.raises(NotFittedError):
            CfCClassifier().predict(X)

    @pytest.mark.parametrize("bad", [np.nan, np.inf])
    def test_non_finite_regression_targets(self, bad):
        X, _ = _series()
        y = np.zeros(len(X))
        y[3] = bad
        with pytest.raises(ValueError, match="Input y contains"):
            CfCRegressor(**FAST).fit(X, y)

    def test_single_class(self):
        X, _ = _series()
        msg = "CfCClassifier needs samples of at least 2 classes in the data, but"
        with pytest.raises(ValueError, match=re.escape(msg)):
            CfCClassifier(**FAST).fit(X, np.full(len(X), "a"))

    def test_other_channel_count_at_predict(self, fitted):
        clf, X, _ = fitted
        msg = "X has 3 channels, but CfCClassifier is expecting 2 channels as input."
        with pytest.raises(ValueError, match=re.escape(msg)):
            clf.predict(np.concatenate([X, X[:, :1]], axis=1))

    def test_other_channel_names_at_predict(self):
        frames, y = _timing_frames(n=20)
        clf = CfCClassifier(**{**FAST, "max_epochs": 1}).fit(frames, y)
        renamed = [f.rename(columns={"v": "w"}) for f in frames]
        msg = "X has channels ['w'], but CfCClassifier was fitted with channels ['v']"
        with pytest.raises(ValueError, match=re.escape(msg)):
            clf.predict(renamed)

    def test_empty_and_mismatched_input(self):
        with pytest.raises(ValueError, match=r"0 sample|no instances"):
            CfCClassifier().fit(np.empty((0, 2, 5)), [])
        X, y = _series()
        with pytest.raises(ValueError, match="X has 60 instances, but y has 59"):
            CfCClassifier().fit(X, y[:-1])

    @pytest.mark.parametrize(
        "params, message",
        [
            (dict(units=0), "The 'units' parameter of CfCClassifier must be"),
            (dict(mode="fast"), "The 'mode' parameter of CfCClassifier must be"),
            (dict(optimizer="lbfgs"), "The 'optimizer' parameter of CfCClassifier"),
            (dict(device="tpu"), "device must be 'auto' or a torch device"),
        ],
    )
    def test_bad_parameters_are_named(self, params, message):
        X, y = _series()
        with pytest.raises(ValueError, match=re.escape(message)):
            CfCClassifier(**params).fit(X, y)

    def test_cuda_request_without_cuda(self):
        if torch.cuda.is_available():
            pytest.skip("CUDA is available")
        X, y = _series()
        with pytest.raises(ValueError, match="CUDA is not available on this machine"):
            CfCClassifier(device="cuda").fit(X, y)
