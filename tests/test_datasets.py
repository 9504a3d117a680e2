"""Datasets: PhysioNet 2012 loader, UEA access and make_irregular."""

import hashlib
import http.server
import io
import os
import re
import socket
import tarfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_cfc import datasets
from sklearn_cfc.datasets import (
    PHYSIONET2012_VARIABLES,
    fetch_physionet2012,
    load_physionet2012,
    load_uea,
    make_irregular,
)
from sklearn_cfc.panel import Panel, PanelEncoder, to_panel

NAN = np.nan


def _data_root():
    env = os.environ.get("SKLEARN_CFC_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


PHYSIONET = _data_root() / "physionet2012"
ARCHIVE = PHYSIONET / "set-b.tar.gz"
OUTCOMES = PHYSIONET / "Outcomes-b.txt"


@pytest.fixture(scope="session")
def physionet():
    """The 4,000 stays of set B, loaded once per session."""
    if not (ARCHIVE.exists() and OUTCOMES.exists()):
        pytest.skip(f"PhysioNet 2012 set B not found under {PHYSIONET}")
    return load_physionet2012(ARCHIVE)


def _raw_stay(record_id):
    with tarfile.open(ARCHIVE) as tar:
        data = tar.extractfile(f"set-b/{record_id}.txt").read()
    return pd.read_csv(io.BytesIO(data))


def _small_set(folder, n):
    """Copy the n smallest stays of set B into folder/set-b.tar.gz."""
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(ARCHIVE) as src:
        members = sorted(
            (m for m in src.getmembers() if m.name.endswith(".txt")),
            key=lambda m: int(m.name[6:-4]),
        )[:n]
        with tarfile.open(folder / "set-b.tar.gz", "w:gz") as dst:
            for m in members:
                dst.addfile(m, src.extractfile(m))
    (folder / "Outcomes-b.txt").write_bytes(OUTCOMES.read_bytes())
    return [int(m.name[6:-4]) for m in members]


# -- PhysioNet 2012 -----------------------------------------------------------
def test_physionet_shapes_and_target(physionet):
    X, y = physionet.data, physionet.target
    assert len(X) == len(y) == len(physionet.record_ids) == 4000
    assert y.dtype == np.int64
    assert y.sum() == 568
    assert all(list(f.columns) == list(PHYSIONET2012_VARIABLES) for f in X[:50])
    assert np.all(np.diff(physionet.record_ids) > 0)
    assert physionet.outcomes.index.tolist() == physionet.record_ids.tolist()
    assert X[0].index.name == "Time"


def test_physionet_values_match_the_raw_file(physionet):
    record_id = int(physionet.record_ids[0])
    raw = _raw_stay(record_id)
    stay = physionet.data[0]
    hh, mm = raw["Time"].str.split(":", expand=True).astype(int).T.to_numpy()
    hours = hh + mm / 60
    assert stay.index.min() == 0.0
    assert stay.index.max() <= 48.0
    np.testing.assert_allclose(
        stay.index, np.unique(hours[raw.Parameter != "RecordID"])
    )
    hr = raw[raw.Parameter == "HR"]
    t = hours[raw.Parameter == "HR"]
    got = stay["HR"].dropna()
    expected = hr.groupby(t)["Value"].mean()
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy())
    np.testing.assert_allclose(got.index, expected.index)


def test_physionet_unknown_static_descriptors_are_nan(physionet):
    heights = np.array(
        [f.loc[0.0, "Height"] if 0.0 in f.index else NAN for f in physionet.data]
    )
    # Height -1 (unknown) is frequent in the raw files, and never kept
    assert np.isnan(heights).sum() > 1000
    assert np.nanmin(heights) > 0
    gender = pd.concat([f["Gender"] for f in physionet.data]).dropna()
    assert set(gender.unique()) <= {0.0, 1.0}


def test_physionet_to_panel_and_encoder(physionet):
    panel = to_panel(physionet.data)
    assert panel.n_channels == 41
    assert panel.time_unit is None
    assert panel.lengths.min() >= 1
    enc = PanelEncoder().fit(panel.take(np.arange(500)))
    assert 0 < enc.dt_scale_ < 2  # hours
    batch = enc.transform(panel.take(np.arange(64)))
    assert np.isfinite(batch.inputs).all()


def test_physionet_multiindex_and_folder(tmp_path, physionet):
    ids = _small_set(tmp_path / "pn", 30)
    M, y = load_physionet2012(
        tmp_path / "pn", return_type="multiindex", return_X_y=True
    )
    assert M.index.get_level_values(0).unique().tolist() == ids
    np.testing.assert_array_equal(y, physionet.target[:30])
    a, b = to_panel(M), to_panel(physionet.data[:30])
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.times, b.times)
    # a folder of per-stay files, with the outcomes file passed explicitly
    stays = tmp_path / "stays"
    with tarfile.open(tmp_path / "pn" / "set-b.tar.gz") as tar:
        tar.extractall(stays, filter="data")
    X, y2 = load_physionet2012(stays / "set-b", OUTCOMES, return_X_y=True)
    np.testing.assert_array_equal(y2, y)
    pd.testing.assert_frame_equal(X[3], physionet.data[3])


def test_physionet_max_stays(tmp_path):
    if not ARCHIVE.exists():
        pytest.skip("PhysioNet 2012 set B not found")
    b = load_physionet2012(ARCHIVE, max_stays=5)
    assert len(b.data) == 5
    assert b.record_ids.tolist() == sorted(b.record_ids)


def test_physionet_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_physionet2012(tmp_path / "nothing.txt")
    (tmp_path / "notes.md").write_text("hello")
    with pytest.raises(ValueError, match="is neither a folder of per-stay"):
        load_physionet2012(tmp_path / "notes.md")
    with pytest.raises(ValueError, match="No per-stay files"):
        load_physionet2012(tmp_path)
    with pytest.raises(
        ValueError,
        match=re.escape("return_type must be 'list' or 'multiindex'; got 'numpy3D'."),
    ):
        load_physionet2012(tmp_path, return_type="numpy3D")
    (tmp_path / "132539.txt").write_text("Time,Parameter,Value\n00:00,HR,80\n")
    with pytest.raises(FileNotFoundError, match="No Outcomes file found"):
        load_physionet2012(tmp_path)
    (tmp_path / "132540.txt").write_text("time;param\n")
    with pytest.raises(ValueError, match="expected the header"):
        load_physionet2012(tmp_path)


def test_physionet_stay_without_values_is_left_out(tmp_path):
    stays = tmp_path / "set-x"
    stays.mkdir()
    (stays / "1.txt").write_text(
        "Time,Parameter,Value\n00:00,RecordID,1\n00:00,Height,-1\n"
    )
    (stays / "2.txt").write_text(
        "Time,Parameter,Value\n00:00,RecordID,2\n00:00,Age,54\n01:30,HR,80\n"
        "01:30,HR,90\n"
    )
    outcomes = tmp_path / "outcomes.txt"
    outcomes.write_text("RecordID,In-hospital_death\n1,0\n2,1\n")
    with pytest.warns(
        UserWarning,
        match=re.escape("1 stays have no recorded value and are left out: RecordID 1."),
    ):
        b = load_physionet2012(stays, outcomes)
    assert b.record_ids.tolist() == [2]
    assert b.target.tolist() == [1]
    assert b.data[0].index.tolist() == [0.0, 1.5]
    assert b.data[0].loc[1.5, "HR"] == 85.0
    assert b.data[0].loc[0.0, "Age"] == 54.0


# -- fetch_physionet2012 ------------------------------------------------------
def _tiny_set(extra=b""):
    """In-memory set B of two stays: {file name: bytes}."""
    stays = {
        1: b"Time,Parameter,Value\n00:00,RecordID,1\n00:00,Age,54\n00:30,HR,80\n",
        2: b"Time,Parameter,Value\n00:00,RecordID,2\n01:00,HR,90\n" + extra,
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for record_id, data in stays.items():
            info = tarfile.TarInfo(f"set-b/{record_id}.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return {
        "set-b.tar.gz": buffer.getvalue(),
        "Outcomes-b.txt": b"RecordID,In-hospital_death\n1,0\n2,1\n",
    }


def _publish(monkeypatch, files):
    """Record the digests of ``files`` as the published ones."""
    for name, data in files.items():
        monkeypatch.setitem(datasets._SHA256, name, hashlib.sha256(data).hexdigest())


@pytest.fixture
def mirror(monkeypatch):
    """A PhysioNet mirror on 127.0.0.1 serving ``mirror.files``.

    ``mirror.requests`` lists the names asked for; with
    ``mirror.send_length = False`` the bodies come without Content-Length.
    """
    state = SimpleNamespace(files={}, requests=[], send_length=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            name = self.path.lstrip("/")
            state.requests.append(name)
            if name not in state.files:
                self.send_error(404)
                return
            self.send_response(200)
            if state.send_length:
                self.send_header("Content-Length", str(len(state.files[name])))
            self.end_headers()
            self.wfile.write(state.files[name])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    monkeypatch.setattr(datasets, "_PHYSIONET_URL", state.url)
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def _cache(home):
    return sorted(p.name for p in (home / "physionet2012").iterdir())


def test_fetch_physionet_downloads_once_and_loads(tmp_path, mirror, monkeypatch):
    mirror.files = _tiny_set()
    _publish(monkeypatch, mirror.files)
    X, y = fetch_physionet2012(tmp_path, subset="b", timeout=5, return_X_y=True)
    assert len(X) == 2
    assert y.tolist() == [0, 1]
    assert mirror.requests == ["set-b.tar.gz", "Outcomes-b.txt"]
    assert _cache(tmp_path) == ["Outcomes-b.txt", "set-b.tar.gz"]  # no .part
    assert len(fetch_physionet2012(tmp_path, subset="b").data) == 2
    assert len(mirror.requests) == 2  # served from the cache


def test_fetch_physionet_times_out(tmp_path, monkeypatch):
    # a server that accepts connections and never answers; after 10 s it
    # hangs up, so that a fetch without a timeout fails instead of hanging
    done = threading.Event()

    def hang_up_late(server):
        if not done.wait(10):
            server.accept()[0].close()

    with socket.create_server(("127.0.0.1", 0)) as silent:
        threading.Thread(target=hang_up_late, args=(silent,), daemon=True).start()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        monkeypatch.setattr(datasets, "_PHYSIONET_URL", url)
        start = time.monotonic()
        try:
            with pytest.raises(
                TimeoutError,
                match=re.escape(
                    f"{url}set-b.tar.gz did not answer within timeout=0.5 s"
                ),
            ):
                fetch_physionet2012(tmp_path, subset="b", timeout=0.5)
        finally:
            done.set()
        assert time.monotonic() - start < 5
    assert _cache(tmp_path) == []


@pytest.mark.parametrize("send_length", [True, False])
def test_fetch_physionet_size_limit(tmp_path, mirror, monkeypatch, send_length):
    mirror.files = _tiny_set()
    mirror.send_length = send_length
    monkeypatch.setitem(datasets._MAX_BYTES, "set-b.tar.gz", 100)
    with pytest.raises(
        OSError,
        match=re.escape(
            f"{mirror.url}set-b.tar.gz is larger than the 100-byte limit for this "
            "file; the download was stopped and nothing was saved."
        ),
    ):
        fetch_physionet2012(tmp_path, subset="b", timeout=5)
    assert _cache(tmp_path) == []


def test_fetch_physionet_rejects_a_tampered_download(tmp_path, mirror, monkeypatch):
    published = _tiny_set()
    _publish(monkeypatch, published)
    mirror.files = _tiny_set(extra=b"02:00,HR,300\n")  # valid, but not the same
    expected = hashlib.sha256(published["set-b.tar.gz"]).hexdigest()
    actual = hashlib.sha256(mirror.files["set-b.tar.gz"]).hexdigest()
    with pytest.raises(
        OSError,
        match=re.escape(
            f"The download of set-b.tar.gz from {mirror.url}set-b.tar.gz has "
            f"SHA-256 {actual}, expected {expected} (the file as published); it "
            "was not saved."
        ),
    ):
        fetch_physionet2012(tmp_path, subset="b", timeout=5)
    assert _cache(tmp_path) == []


def test_fetch_physionet_rejects_a_tampered_cache(tmp_path, mirror, monkeypatch):
    mirror.files = _tiny_set()
    _publish(monkeypatch, mirror.files)
    fetch_physionet2012(tmp_path, subset="b", timeout=5)
    cached = tmp_path / "physionet2012" / "Outcomes-b.txt"
    cached.write_bytes(b"RecordID,In-hospital_death\n1,1\n2,1\n")
    actual = hashlib.sha256(cached.read_bytes()).hexdigest()
    with pytest.raises(
        OSError,
        match=re.escape(
            f"The cached {cached} has SHA-256 {actual}, expected "
            f"{datasets._SHA256['Outcomes-b.txt']} (the file as published): it is "
            "damaged or was changed. Download it again with "
            "fetch_physionet2012(..., refresh=True)."
        ),
    ):
        fetch_physionet2012(tmp_path, subset="b")
    y = fetch_physionet2012(tmp_path, subset="b", refresh=True, return_X_y=True)[1]
    assert y.tolist() == [0, 1]


def test_fetch_physionet_refresh(tmp_path, mirror, monkeypatch):
    mirror.files = _tiny_set()
    _publish(monkeypatch, mirror.files)
    fetch_physionet2012(tmp_path, subset="b", timeout=5)
    fetch_physionet2012(tmp_path, subset="b", timeout=5, refresh=True)
    assert mirror.requests == ["set-b.tar.gz", "Outcomes-b.txt"] * 2
    # a failed refresh leaves the cached copy in place
    cached = (tmp_path / "physionet2012" / "set-b.tar.gz").read_bytes()
    mirror.files = {}
    with pytest.raises(
        OSError,
        match=re.escape(f"Could not download {mirror.url}set-b.tar.gz: Not Found"),
    ):
        fetch_physionet2012(tmp_path, subset="b", timeout=5, refresh=True)
    assert (tmp_path / "physionet2012" / "set-b.tar.gz").read_bytes() == cached
    assert _cache(tmp_path) == ["Outcomes-b.txt", "set-b.tar.gz"]


def test_fetch_physionet_parameter_errors(tmp_path):
    with pytest.raises(OSError, match="is not cached and download_if_missing=False"):
        fetch_physionet2012(tmp_path, subset="a", download_if_missing=False)
    with pytest.raises(ValueError, match="subset must be one of"):
        fetch_physionet2012(tmp_path, subset="d")
    for timeout in (0, -1.0, "60", None, True):
        with pytest.raises(
            ValueError,
            match=re.escape(
                f"timeout must be a positive number of seconds; got {timeout!r}."
            ),
        ):
            fetch_physionet2012(tmp_path, timeout=timeout)
    with pytest.raises(ValueError, match="refresh=True downloads the files again"):
        fetch_physionet2012(tmp_path, refresh=True, download_if_missing=False)


def test_physionet_published_digests_match_the_shared_files():
    if not (ARCHIVE.exists() and OUTCOMES.exists()):
        pytest.skip(f"PhysioNet 2012 set B not found under {PHYSIONET}")
    for path in (ARCHIVE, OUTCOMES):
        assert datasets._sha256(path) == datasets._SHA256[path.name]


# -- UEA ----------------------------------------------------------------------
def test_uea_equal_length_all_return_types():
    pytest.importorskip("sktime")
    X3, y = load_uea("BasicMotions", split="test", return_type="numpy3D")
    assert X3.shape == (40, 6, 100)
    assert len(y) == 40
    frames, y2 = load_uea("BasicMotions", split="test")
    assert len(frames) == 40
    assert frames[0].shape == (100, 6)
    assert isinstance(frames[0].index, pd.RangeIndex)
    M, _ = load_uea("BasicMotions", split="test", return_type="multiindex")
    P, _ = load_uea("BasicMotions", split="test", return_type="panel")
    assert isinstance(P, Panel)
    for X in (frames, M, X3):
        np.testing.assert_array_equal(to_panel(X).values, P.values)
    np.testing.assert_array_equal(y, y2)


def test_uea_unequal_lengths():
    pytest.importorskip("sktime")
    frames, y = load_uea("JapaneseVowels", split="train")
    assert len(frames) == len(y) == 270
    lengths = {len(f) for f in frames}
    assert len(lengths) > 5
    assert frames[0].shape[1] == 12
    X3, _ = load_uea("JapaneseVowels", split="train", return_type="numpy3D")
    np.testing.assert_array_equal(to_panel(X3).lengths, [len(f) for f in frames])
    with pytest.raises(ValueError, match="return_type must be one of"):
        load_uea("JapaneseVowels", return_type="awkward")


# -- make_irregular -----------------------------------------------------------
def test_make_irregular_numpy_drops_whole_steps():
    X = np.random.default_rng(0).normal(size=(5, 3, 20))
    Xi = make_irregular(X, drop=0.3, random_state=0)
    assert Xi.shape == X.shape
    assert not np.shares_memory(X, Xi)
    dropped = np.isnan(Xi).all(axis=1)
    assert (dropped.sum(axis=1) == 6).all()
    assert (np.isnan(Xi).any(axis=1) == dropped).all()  # across all channels
    np.testing.assert_array_equal(Xi[~np.isnan(Xi)], X[~np.isnan(Xi)])
    panel = to_panel(Xi)
    np.testing.assert_array_equal(panel.lengths, 14)
    assert set(panel.times[0].tolist()) < set(range(20))  # timestamps kept


def test_make_irregular_reproducible_and_identity():
    X = np.arange(40.0).reshape(2, 20)
    a = make_irregular(X, 0.5, random_state=3)
    np.testing.assert_array_equal(a, make_irregular(X, 0.5, random_state=3))
    assert not np.array_equal(np.isnan(a), np.isnan(make_irregular(X, 0.5)))
    np.testing.assert_array_equal(make_irregular(X, 0.0), X)
    assert a.ndim == 2


def test_make_irregular_per_channel():
    X = np.ones((4, 3, 10))
    Xi = make_irregular(X, 0.5, per_channel=True, random_state=0)
    assert (np.isnan(Xi).sum(axis=(1, 2)) == 15).all()


def test_make_irregular_unequal_lengths_and_kept_timestamps():
    frames = [
        pd.DataFrame({"x": np.arange(n, dtype=float)}, index=np.arange(n) * 0.5)
        for n in (10, 7, 1)
    ]
    out = make_irregular(frames, 0.3, random_state=0)
    assert [len(f) for f in out] == [7, 5, 1]
    for f, g in zip(frames, out, strict=False):
        pd.testing.assert_frame_equal(g, f.loc[g.index])


def test_make_irregular_errors():
    with pytest.raises(
        ValueError, match=re.escape("drop must be a float in [0, 1); got 1 instead.")
    ):
        make_irregular(np.zeros((2, 3)), drop=1)
    with pytest.raises(TypeError, match="make_irregular needs a format"):
        make_irregular("abc")


@st.composite
def regular_panels(draw):
    n, C = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    lengths = draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n, C, max(lengths)))
    for i, L in enumerate(lengths):
        X[i, :, L:] = NAN
    holes = rng.random(X.shape) < 0.2
    X[holes & (np.arange(X.shape[2]) > 0)] = NAN  # partial NaN, step 0 kept
    return X


@settings(max_examples=30, deadline=None)
@given(regular_panels(), st.floats(0, 0.9), st.booleans(), st.integers(0, 99))
def test_make_irregular_same_drops_in_every_format(X, drop, per_channel, seed):
    panel = to_panel(X)
    frames = panel.to_frames()
    ids = [f"s{i}" for i in range(len(frames))]
    formats = {
        "numpy3d": X,
        "frames": frames,
        "multiindex": pd.concat(frames, keys=ids),
        "arrays": [
            X[i, :, : int(panel.times[i, n - 1]) + 1]
            for i, n in enumerate(panel.lengths)
        ],
        "nested": pd.DataFrame(
            {c: [f[c] for f in frames] for c in panel.channels}, index=ids
        ),
        "panel": panel,
    }
    reference = None
    for name, data in formats.items():
        out = make_irregular(data, drop, per_channel=per_channel, random_state=seed)
        got = to_panel(out)
        if reference is None:
            reference = got
            continue
        for field in ("values", "times", "lengths"):
            np.testing.assert_array_equal(
                getattr(got, field),
                getattr(reference, field),
                err_msg=f"{name}: {field}",
            )


def test_make_irregular_wide_frames_and_multiindex_series():
    wide = pd.DataFrame(np.arange(20.0).reshape(2, 10), index=["a", "b"])
    out = make_irregular(wide, 0.3, random_state=0)
    assert isinstance(out, pd.DataFrame)
    assert out.index.equals(wide.index)
    np.testing.assert_array_equal(
        out.to_numpy(), make_irregular(wide.to_numpy(), 0.3, random_state=0)
    )
    index = pd.MultiIndex.from_product([[0, 1], range(5)])
    series = pd.Series(np.arange(10.0), index=index, name="v")
    out = make_irregular(series, 0.4, random_state=0)
    assert isinstance(out, pd.Series)
    assert out.name == "v"
    assert len(out) == 6
