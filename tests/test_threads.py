"""The torch thread count of fits and predictions (``sklearn_cfc._threads``).

No timings here: ``docs/user_guide/threads.rst`` has the measurements behind
the rule. These tests check which count is chosen, that it holds during the
call, and that the count before the call comes back afterwards, after an
exception and when several Python threads predict at once.
"""

import re
import threading

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_cfc import CfCClassifier, CfCForecaster, CfCRegressor, _threads
from sklearn_cfc._threads import (
    ENV,
    choose_threads,
    env_threads,
    network_width,
    torch_threads,
)
from sklearn_cfc.exceptions import DivergenceError

W = _threads._WORK_PER_THREAD
BASELINE = 2  # the count each test starts from (the suite runs on one)


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    """No thread variables set; torch at BASELINE threads, restored after."""
    for name in (ENV, "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    previous = torch.get_num_threads()
    torch.set_num_threads(BASELINE)
    yield
    assert _threads._depth == 0
    torch.set_num_threads(previous)


def _new_thread_count():
    """The count a new Python thread starts with (torch's process default)."""
    out = []
    thread = threading.Thread(target=lambda: out.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return out[0]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 5, 2))
    return X, (X[:, :, 0].mean(1) > 0).astype(int)


def _tiny(cls=CfCClassifier, **params):
    return cls(units=4, backbone_units=4, max_epochs=1, random_state=0, **params)


def _spy_forward(est, seen, action=None):
    """Record the thread count at every forward pass of ``est``'s network."""

    def hook(module, args, output):
        seen.append(torch.get_num_threads())
        if action is not None:
            action()

    return est.net_.module_.register_forward_hook(hook)


# ----------------------------------------------------------------- the rule
@pytest.mark.parametrize(
    "work, available, expected",
    [
        (0, 2, 1),
        (32 * 128, 2, 1),  # default training batch
        (512 * 128, 2, 1),  # default prediction batch
        (W - 1, 2, 1),
        (2 * W - 1, 2, 1),
        (2 * W, 2, 2),  # one thread per W of work
        (3 * W, 2, 2),  # never more than available
        (3 * W, 16, 3),
        (100 * W, 16, 16),
        (100 * W, 1, 1),  # a user's torch.set_num_threads(1) is kept
    ],
)
def test_rule(work, available, expected):
    assert choose_threads(work, "cpu", available=available) == expected


def test_rule_defaults_to_torch_count():
    torch.set_num_threads(1)
    assert choose_threads(100 * W) == 1
    torch.set_num_threads(2)
    assert choose_threads(100 * W) == 2
    assert choose_threads(100 * W, None) == 2  # None: the CPU


@pytest.mark.parametrize("device", ["cuda", "cuda:1", torch.device("mps")])
def test_rule_leaves_accelerators_alone(device, monkeypatch):
    monkeypatch.setenv(ENV, "3")
    assert choose_threads(32 * 128, device, available=2) is None


@pytest.mark.parametrize("name", ["OMP_NUM_THREADS", "MKL_NUM_THREADS"])
def test_torch_variables_are_honoured(name, monkeypatch):
    monkeypatch.setenv(name, "2")
    assert choose_threads(32 * 128, "cpu", available=2) is None
    with torch_threads(32 * 128) as used:
        assert used == torch.get_num_threads() == BASELINE


def test_env_override(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv(ENV, " 3 ")
    assert env_threads() == 3
    # above what torch has, and above what the rule would give
    assert choose_threads(32 * 128, "cpu", available=2) == 3
    monkeypatch.setenv(ENV, "")  # empty means unset
    assert env_threads() is None


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "auto"])
def test_env_override_error(value, monkeypatch):
    monkeypatch.setenv(ENV, value)
    message = (
        f"The environment variable {ENV} must be a whole number of torch "
        f"threads >= 1, got {value!r}. Set it to 1, 2, ... or unset it to let "
        "sklearn-cfc choose."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        choose_threads(32 * 128)
    with pytest.raises(ValueError, match=re.escape(message)), torch_threads(32 * 128):
        pass  # pragma: no cover


def test_network_width():
    assert network_width(CfCClassifier()) == 128
    assert network_width(CfCClassifier(units=256)) == 256
    assert network_width(CfCRegressor(units=8, backbone_layers=0)) == 8
    assert network_width(CfCForecaster(units=16, backbone_units=32)) == 32


# -------------------------------------------------------- the context manager
def test_scoped_and_restored():
    with torch_threads(32 * 128) as used:
        assert used == torch.get_num_threads() == 1
        with torch_threads(100 * W) as inner:  # capped by the count before
            assert inner == torch.get_num_threads() == BASELINE
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == BASELINE
    assert _new_thread_count() == BASELINE


def test_restored_after_exception(monkeypatch):
    monkeypatch.setenv(ENV, "1")
    with pytest.raises(KeyError), torch_threads(0):  # noqa: PT012
        assert torch.get_num_threads() == 1
        raise KeyError("boom")
    assert torch.get_num_threads() == BASELINE
    assert _new_thread_count() == BASELINE


def test_leaves_accelerator_calls_alone():
    with torch_threads(32 * 128, "cuda") as used:
        assert used == torch.get_num_threads() == BASELINE
    assert torch.get_num_threads() == BASELINE


def test_verbose_prints_count(capsys):
    with torch_threads(32 * 128, verbose=True):
        pass
    assert capsys.readouterr().out == "using 1 torch thread\n"


# ------------------------------------------------------------ the estimators
def test_fit_and_predict_use_the_rule_and_restore(data, monkeypatch):
    from sklearn_cfc import _base

    X, y = data
    during_fit = []
    train_net = _base.train_net

    def spy(*args, **kwargs):
        during_fit.append(torch.get_num_threads())
        return train_net(*args, **kwargs)

    monkeypatch.setattr(_base, "train_net", spy)
    clf = _tiny().fit(X, y)
    assert during_fit == [1]
    assert torch.get_num_threads() == BASELINE
    seen = []
    _spy_forward(clf, seen)
    clf.predict(X)
    clf.predict_proba(X)
    assert seen == [1, 1]
    assert torch.get_num_threads() == BASELINE
    assert _new_thread_count() == BASELINE


def test_env_count_in_fit_and_predict(data, monkeypatch):
    X, y = data
    torch.set_num_threads(1)
    monkeypatch.setenv(ENV, "2")
    clf = _tiny(verbose=1)
    seen = []
    clf.fit(X[:10], y[:10])
    _spy_forward(clf, seen)
    clf.partial_fit(X, y)  # trains: the hook sees training batches too
    clf.predict(X)
    assert seen
    assert set(seen) == {2}
    assert torch.get_num_threads() == 1


def test_verbose_fit_prints_count(data, capsys):
    X, y = data
    _tiny(verbose=1).fit(X, y)
    assert "using 1 torch thread\n" in capsys.readouterr().out
    _tiny().fit(X, y)
    assert "torch thread" not in capsys.readouterr().out


def test_bad_env_fails_before_fitting(data, monkeypatch):
    X, y = data
    monkeypatch.setenv(ENV, "0")
    clf = _tiny()
    with pytest.raises(ValueError, match=ENV):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")
    monkeypatch.delenv(ENV)
    clf.fit(X, y)
    monkeypatch.setenv(ENV, "many")
    with pytest.raises(ValueError, match=ENV):
        clf.predict(X)
    assert torch.get_num_threads() == BASELINE


def test_restored_after_divergence(monkeypatch):
    monkeypatch.setenv(ENV, "1")
    X = np.random.default_rng(0).normal(size=(8, 1, 5))
    y = np.full(8, 1e25)  # squared errors overflow float32
    with pytest.raises(DivergenceError):
        _tiny(CfCRegressor, scale_target=False).fit(X, y)
    assert torch.get_num_threads() == BASELINE
    assert _new_thread_count() == BASELINE


def test_restored_after_failing_predict(data):
    X, y = data
    clf = _tiny().fit(X, y)

    def fail():
        raise RuntimeError("boom")

    _spy_forward(clf, [], fail)
    with pytest.raises(RuntimeError, match="boom"):
        clf.predict(X)
    assert torch.get_num_threads() == BASELINE


def test_forecaster_fit_and_predict(monkeypatch):
    index = pd.date_range("2024-01-01", periods=30, freq="h")
    y = pd.DataFrame({"y": np.sin(np.arange(30) / 3.0)}, index=index)
    forecaster = CfCForecaster(
        units=4, backbone_units=4, context_length=8, max_epochs=1, random_state=0
    )
    seen = []
    forecaster.fit(y, fh=[1, 2])
    _spy_forward(forecaster, seen)
    forecaster.predict()
    assert seen
    assert set(seen) == {1}
    assert torch.get_num_threads() == BASELINE
    assert _new_thread_count() == BASELINE


# ----------------------------------------------------------- concurrency
def test_concurrent_predict_restores_count(data):
    """Two threads inside predict at once: each runs with the chosen count,
    and when both are done the process is back at its count."""
    X, y = data
    clf = _tiny().fit(X, y)
    expected = clf.predict_proba(X)
    both_inside = threading.Barrier(2, timeout=60)
    seen, results, errors = [], {}, []
    _spy_forward(clf, seen, both_inside.wait)

    def predict(k):
        try:
            results[k] = clf.predict_proba(X)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    seen.clear()
    threads = [threading.Thread(target=predict, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(seen) >= 2
    assert set(seen) == {1}
    for k in range(2):
        np.testing.assert_array_equal(results[k], expected)
    assert torch.get_num_threads() == BASELINE
    assert _new_thread_count() == BASELINE


def test_concurrent_scopes_stress(monkeypatch):
    """Many threads entering and leaving scopes with different counts, some
    failing: afterwards every one of them and the process are back."""
    after, errors = [], []
    start = threading.Barrier(6, timeout=60)

    def worker(k):
        try:
            start.wait()
            for i in range(30):
                try:
                    with torch_threads((k % 3) * 2 * W):
                        if (i + k) % 7 == 0:
                            raise KeyError(i)
                except KeyError:  # noqa: PERF203 - raising is the test
                    pass
            after.append(torch.get_num_threads())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert after == [BASELINE] * 6
    assert torch.get_num_threads() == BASELINE
    assert _new_thread_count() == BASELINE
