"""Data-parallel training through skorch's Accelerate integration.

The end-to-end test starts two CPU processes with ``accelerate launch``
(torch.distributed with the gloo backend); the rest runs in this process.
"""

import importlib.util
import json
import os
import pickle
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone

import sklearn_cfc
from sklearn_cfc import CfCClassifier, CfCRegressor
from sklearn_cfc._accelerate import _ShardableBucketSampler
from sklearn_cfc._skorch import _BucketSampler

needs_accelerate = pytest.mark.skipif(
    importlib.util.find_spec("accelerate") is None, reason="needs accelerate"
)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(
    units=8, backbone_units=16, max_epochs=30, learning_rate=0.02, mixed_memory=False
)


def _series(n, seed, T=12, C=2, shift=0.5):
    """Ragged series whose class shifts channel 0 by +-shift: not separable.

    The best possible accuracy is about 0.93, so the accuracy of a fit says
    something about how well it trained.
    """
    rng = np.random.default_rng(seed)
    y = rng.choice(["neg", "pos"], size=n)
    X = rng.normal(size=(n, C, T))
    X[:, 0] += np.where(y == "pos", shift, -shift)[:, None]
    for i, n_obs in enumerate(rng.integers(T // 2, T + 1, size=n)):
        X[i, :, n_obs:] = np.nan
    return X, y


class _FakeAccelerator:
    """Just enough of an Accelerator to reach the checks before training."""

    def __init__(self, device="cpu", num_processes=1, even_batches=True):
        self.device = torch.device(device)
        self.device_placement = True
        self.num_processes = num_processes
        self.even_batches = even_batches

    def prepare(self, obj):
        return obj

    def unwrap_model(self, model, keep_fp32_wrapper=True):
        return model

    def reduce(self, tensor, reduction="sum"):
        return tensor


# ---------------------------------------------------------- parameters
@pytest.mark.parametrize("Estimator", [CfCClassifier, CfCRegressor])
class TestParameter:
    def test_default_and_validation(self, Estimator):
        assert Estimator().get_params()["accelerator"] is None
        X, y = _series(20, 0)
        msg = (
            f"The 'accelerator' parameter of {Estimator.__name__} must be an "
            "object implementing 'prepare', 'unwrap_model' and 'reduce' or None."
        )
        with pytest.raises(ValueError, match=re.escape(msg)):
            Estimator(accelerator="gloo").fit(X, y == "pos")

    def test_an_explicit_device_must_agree_with_the_accelerator(self, Estimator):
        X, y = _series(20, 0)
        est = Estimator(device="cpu", accelerator=_FakeAccelerator("cuda:1"))
        msg = (
            "device='cpu' conflicts with the accelerator, which places this "
            "process's model on 'cuda:1'. Leave device='auto'"
        )
        with pytest.raises(ValueError, match=re.escape(msg)):
            est.fit(X, y == "pos")

    def test_uneven_batches_would_hang_and_are_refused(self, Estimator):
        X, y = _series(20, 0)
        fake = _FakeAccelerator(num_processes=2, even_batches=False)
        msg = "The accelerator has even_batches=False: processes would run"
        with pytest.raises(ValueError, match=re.escape(msg)):
            Estimator(accelerator=fake).fit(X, y == "pos")

    @needs_accelerate
    def test_an_old_accelerate_is_refused(self, Estimator, monkeypatch):
        import accelerate

        monkeypatch.setattr(accelerate, "__version__", "1.13.0")
        X, y = _series(20, 0)
        msg = "Training on several processes needs accelerate>=1.14; found"
        with pytest.raises(ImportError, match=re.escape(msg)):
            Estimator(accelerator=_FakeAccelerator(num_processes=2)).fit(X, y == "pos")

    @needs_accelerate
    def test_clone_and_get_params_keep_the_accelerator(self, Estimator):
        from accelerate import Accelerator

        accelerator = Accelerator(cpu=True)
        est = Estimator(units=4, accelerator=accelerator)
        copy = clone(est)
        # an accelerator stands for this process's place in the process group:
        # clones share it (an Accelerator deep-copies to itself)
        assert copy.get_params()["accelerator"] is accelerator
        assert {k: v for k, v in copy.get_params().items() if k != "accelerator"} == {
            k: v for k, v in est.get_params().items() if k != "accelerator"
        }
        assert "accelerator=" in repr(est)


# ------------------------------------------------ one process, in process
@pytest.fixture(scope="module")
def fitted():
    """The same fit without and with an accelerator of a single process."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    X, y = _series(120, 0)
    params = dict(**FAST, batch_size=16, random_state=0)
    plain = CfCClassifier(**params, device="cpu").fit(X, y)  # also on a GPU host
    accelerated = CfCClassifier(**params, accelerator=accelerator).fit(X, y)
    return plain, accelerated, accelerator, X, y


@needs_accelerate
class TestInOneProcess:
    def test_same_model_as_without_an_accelerator(self, fitted):
        plain, accelerated, _, X, _ = fitted
        assert type(accelerated.net_).__name__ == "_AcceleratedNet"
        assert accelerated.device_ == "cpu" == accelerated.net_.device
        assert accelerated.loss_curve_ == plain.loss_curve_
        np.testing.assert_array_equal(
            accelerated.predict_proba(X), plain.predict_proba(X)
        )

    def test_pickles_as_a_plain_model(self, fitted):
        _, accelerated, accelerator, X, y = fitted
        restored = pickle.loads(pickle.dumps(accelerated))
        assert accelerated.accelerator is accelerator  # the original keeps it
        assert restored.get_params()["accelerator"] is None
        assert type(restored.net_).__name__ == "_WeightedNet"
        assert not hasattr(restored.net_, "accelerator")
        np.testing.assert_array_equal(
            restored.predict_proba(X), accelerated.predict_proba(X)
        )
        # and it trains on in one process
        restored.partial_fit(X, y)
        assert restored.n_iter_ == accelerated.n_iter_ + 1

    def test_warm_start_and_partial_fit_continue(self, fitted):
        _, accelerated, _, X, y = fitted
        est = clone(accelerated).set_params(max_epochs=2, warm_start=True)
        est.fit(X, y).fit(X, y)
        est.partial_fit(X, y)
        assert est.n_iter_ == 5
        assert type(est.net_.module_).__name__ == "CfCSequenceNetwork"  # unwrapped
        with pytest.raises(ValueError, match="trained with an accelerator, but"):
            est.set_params(accelerator=None).fit(X, y)

    def test_early_stopping_restores_the_best_epoch(self, fitted):
        _, _, accelerator, X, y = fitted
        est = CfCRegressor(
            **{**FAST, "max_epochs": 100},
            early_stopping=True,
            n_iter_no_change=3,
            accelerator=accelerator,
            random_state=0,
        ).fit(X, (y == "pos") * 1.0)
        best = int(np.argmin(est.validation_scores_))
        assert est.n_iter_ == best + 1 + 3 < 100


# -------------------------------------------------------------- sharding
@needs_accelerate
@pytest.mark.parametrize("n, batch_size", [(53, 8), (64, 8), (5, 4), (900, 7)])
@pytest.mark.parametrize("num_processes", [2, 3])
def test_accelerate_deals_out_every_bucket_batch(n, batch_size, num_processes):
    """accelerate's sharding of our batches: all series, even step counts.

    Bucketing makes batches of unequal size (one short batch per pool, at a
    random place), which accelerate's BatchSamplerShard handles only when
    the sampler has no ``batch_size``; with one it skips whole rounds.
    """
    from accelerate.data_loader import BatchSamplerShard

    lengths = np.random.default_rng(0).integers(1, 30, size=n)
    shards = [
        BatchSamplerShard(
            _ShardableBucketSampler(lengths, batch_size, shuffle=True, seed=3),
            num_processes=num_processes,
            process_index=rank,
        )
        for rank in range(num_processes)
    ]
    dealt = [list(shard) for shard in shards]
    n_batches = len(_BucketSampler(lengths, batch_size, shuffle=True, seed=3))
    steps = -(-n_batches // num_processes)
    assert [len(batches) for batches in dealt] == [steps] * num_processes
    assert [len(shard) for shard in shards] == [steps] * num_processes
    seen = [i for batches in dealt for batch in batches for i in batch]
    assert set(seen) == set(range(n))
    # the last round is filled up with whole batches from the epoch's start
    padding = steps * num_processes - n_batches
    assert len(seen) - n <= padding * batch_size


# ----------------------------------------------------- two processes
_SCRIPT = '''
"""Fit with an Accelerator; run once per process by accelerate launch."""

import copy
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import gather_object

from sklearn_cfc import CfCClassifier, CfCRegressor, _accelerate, _skorch

out = Path(sys.argv[1])
data = np.load(out / "data.npz")
params = json.loads((out / "params.json").read_text())

# the training indices this process fetches, one list per epoch
epochs = []
sampler_iter = _accelerate._ShardableBucketSampler.__iter__
getitems = _skorch._PanelDataset.__getitems__


training = [False]  # whether the current pass is a training pass


def count_epochs(self):
    # training passes shuffle; the passes that measure losses do not
    training[0] = self.buckets.shuffle
    if training[0]:
        epochs.append([])
    return sampler_iter(self)


def log_indices(self, indices):
    if training[0]:
        epochs[-1].extend(int(i) for i in indices)
    return getitems(self, indices)


_accelerate._ShardableBucketSampler.__iter__ = count_epochs
_skorch._PanelDataset.__getitems__ = log_indices
accelerator = Accelerator()
clf = CfCClassifier(**params, accelerator=accelerator)
clf.fit(data["X_train"], data["y_train"])
_accelerate._ShardableBucketSampler.__iter__ = sampler_iter
_skorch._PanelDataset.__getitems__ = getitems

# DDP's gradient through the CfC core's autograd Function against the mean
# of every process's own gradient, on different data per process
module = accelerator.prepare(copy.deepcopy(clf.net_.module_))
part = data["X_train"][accelerator.process_index :: 2][:16]
encoded = clf.encoder_.transform(clf._to_panel(part))
batch, _ = _skorch._PanelDataset(encoded).__getitems__(range(len(part)))
with module.no_sync():
    module(**batch).square().sum().backward()
local = torch.cat([p.grad.flatten() for p in module.parameters()])
module.zero_grad()
module(**batch).square().sum().backward()
synced = torch.cat([p.grad.flatten() for p in module.parameters()])
mean = accelerator.reduce(local, "mean")

# early stopping on a validation split (random_state=None: the seed, and so
# the split, must come from process 0), a plateau schedule, printing
reg = CfCRegressor(
    **{**params, "max_epochs": 80, "random_state": None},
    early_stopping=True,
    n_iter_no_change=3,
    lr_schedule="plateau",
    verbose=1,
    accelerator=accelerator,
).fit(data["X_train"], (data["y_train"] == "pos") * 1.0)

# a process passing other data than the rest: an error everywhere, no hang
mine = slice(0, 100 + accelerator.process_index)
try:
    CfCClassifier(**params, accelerator=accelerator).fit(
        data["X_train"][mine], data["y_train"][mine]
    )
    mismatch = None
except ValueError as exc:
    mismatch = str(exc)


def weights(est):
    return torch.cat([p.detach().flatten() for p in est.net_.module_.parameters()])


every_clf = accelerator.gather(weights(clf)[None])
every_reg = accelerator.gather(weights(reg)[None])
proba = clf.predict_proba(data["X_test"])
records = gather_object([dict(
    rank=accelerator.process_index,
    epochs=epochs,
    batch_counts=[row["train_batch_count"] for row in clf.history_],
    loss_curve=clf.loss_curve_,
    device=clf.device_,
    accuracy=float(clf.score(data["X_test"], data["y_test"])),
    proba=proba.tolist(),
    grad_gap=(synced - mean).abs().max().item(),
    local_gap=(local - mean).abs().max().item(),
    reg_seed=int(reg._seed),
    reg_n_iter=reg.n_iter_,
    reg_validation_scores=reg.validation_scores_,
    mismatch=mismatch,
)])
if accelerator.is_main_process:
    result = dict(
        records=records,
        world=accelerator.num_processes,
        same_clf_weights=bool((every_clf == every_clf[0]).all()),
        same_reg_weights=bool((every_reg == every_reg[0]).all()),
    )
    (out / "result.json").write_text(json.dumps(result))
    with open(out / "model.pkl", "wb") as f:
        pickle.dump(clf, f)
accelerator.wait_for_everyone()
'''


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_accelerate
@pytest.mark.slow
def test_two_processes_train_like_one(tmp_path):
    """``accelerate launch`` two CPU processes; compare with one process.

    Single-process training uses batch_size=16, each of the two processes 8:
    the same series per step and steps per epoch, so the same training in
    expectation though not the same trajectory. Across six seeds the
    single-process test accuracy on this data spans 0.897 to 0.933, so the
    two may differ by up to 0.05.
    """
    X_train, y_train = _series(230, 0)  # 29 batches of up to 8: one padded
    X_test, y_test = _series(300, 1)
    params = dict(**FAST, batch_size=8, random_state=0)
    np.savez(
        tmp_path / "data.npz",
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
    )
    (tmp_path / "params.json").write_text(json.dumps(params))
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(_SCRIPT))
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "ACCELERATE_USE_CPU": "true",  # gloo, even where there are GPUs
        # and no process touches a GPU, of which there may be fewer than two
        "CUDA_VISIBLE_DEVICES": "",
        "HF_HOME": str(tmp_path / "hf"),  # no accelerate config of the user's
        "PYTHONPATH": os.pathsep.join(
            [
                str(Path(sklearn_cfc.__file__).parents[1]),
                os.environ.get("PYTHONPATH", ""),
            ]
        ),
    }
    # `--cpu --num_processes 2` starts one process unless under mpirun; the
    # torchrun launcher behind --multi_gpu starts both, on the CPU as told
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes=2",
        "--num_machines=1",
        "--mixed_precision=no",
        "--dynamo_backend=no",
        f"--main_process_port={_free_port()}",
        str(script),
        str(tmp_path),
    ]
    run = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    # the failing rank's traceback comes first, the launcher's report last
    assert run.returncode == 0, (
        run.stdout[-2000:]
        + run.stderr[:4000]
        + ("\n[...]\n" + run.stderr[-2000:] if len(run.stderr) > 6000 else "")
    )
    result = json.loads((tmp_path / "result.json").read_text())
    first, second = result["records"]
    assert result["world"] == 2
    assert [first["rank"], second["rank"]] == [0, 1]

    # both processes took part: per epoch, each trained on its own half of
    # the batches; together they covered every series, and only the padding
    # batch (the epoch's first, repeated to even out the last round) twice
    n = len(y_train)
    assert first["batch_counts"] == second["batch_counts"] == [15] * 30
    assert len(first["epochs"]) == len(second["epochs"]) == 30
    for mine, theirs in zip(first["epochs"], second["epochs"], strict=False):
        assert set(mine) | set(theirs) == set(range(n))
        assert len(mine) + len(theirs) - n <= 8
        assert len(set(mine) & set(theirs)) <= 8
        assert abs(len(mine) - n / 2) <= 8
    # DDP averaged the gradients (also through the CfC core's own backward):
    # processes with different data ended with the same weights and losses
    assert first["local_gap"] > 1e-3
    assert first["grad_gap"] < 1e-5
    assert second["grad_gap"] < 1e-5
    assert result["same_clf_weights"]
    assert first["loss_curve"] == second["loss_curve"]
    assert first["device"] == "cpu"
    # early stopping decided alike, with process 0's seed for the split
    assert result["same_reg_weights"]
    assert first["reg_seed"] == second["reg_seed"]
    assert first["reg_n_iter"] == second["reg_n_iter"] < 80
    assert first["reg_validation_scores"] == second["reg_validation_scores"]
    # other data on one process: the same error on both
    msg = "Every process must pass the same X, y and sample_weight to fit"
    assert first["mismatch"] == second["mismatch"]
    assert first["mismatch"].startswith(msg)
    assert "got [100, 101] instances on processes 0..1" in first["mismatch"]
    # one process prints: one table header, one stopping message
    assert len(re.findall(r"^ +epoch +train_loss", run.stdout, re.M)) == 1
    assert run.stdout.count("Stopping since valid_loss has not improved") == 1

    # the same accuracy as one process with the same series per step
    single = CfCClassifier(**{**params, "batch_size": 16}).fit(X_train, y_train)
    single_accuracy = single.score(X_test, y_test)
    assert first["accuracy"] == second["accuracy"] > 0.85
    assert abs(first["accuracy"] - single_accuracy) <= 0.05

    # process 0's pickle loads and predicts here, without torch.distributed
    with open(tmp_path / "model.pkl", "rb") as f:
        restored = pickle.load(f)
    assert not torch.distributed.is_initialized()
    assert restored.get_params()["accelerator"] is None
    assert type(restored.net_).__name__ == "_WeightedNet"
    np.testing.assert_allclose(
        restored.predict_proba(X_test), first["proba"], rtol=1e-6, atol=1e-7
    )
    np.testing.assert_array_equal(first["proba"], second["proba"])
