"""Datasets: PhysioNet 2012 ICU stays, UEA/UCR sets, irregular versions.

Pure numpy/pandas; sktime is imported only by :func:`load_uea`.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

from .panel import Panel, from_long, input_format, to_panel

if TYPE_CHECKING:
    from ._typing import Aggregation, PanelLike, RandomStateLike

# make_irregular returns the format it is given
_PanelT = TypeVar("_PanelT", bound="PanelLike")

__all__ = [
    "PHYSIONET2012_STATIC",
    "PHYSIONET2012_VARIABLES",
    "fetch_physionet2012",
    "load_physionet2012",
    "load_uea",
    "make_irregular",
]

#: Static descriptors recorded once at admission (time 0); -1 means unknown.
PHYSIONET2012_STATIC = ("Age", "Gender", "Height", "ICUType", "Weight")

#: The 41 channels of :func:`load_physionet2012`, in output order: the four
#: purely static descriptors, then the 37 time series (Weight is both a
#: static descriptor and a time series, and is one channel).
PHYSIONET2012_VARIABLES = (
    "Age", "Gender", "Height", "ICUType",
    "ALP", "ALT", "AST", "Albumin", "BUN", "Bilirubin", "Cholesterol",
    "Creatinine", "DiasABP", "FiO2", "GCS", "Glucose", "HCO3", "HCT", "HR",
    "K", "Lactate", "MAP", "MechVent", "Mg", "NIDiasABP", "NIMAP", "NISysABP",
    "Na", "PaCO2", "PaO2", "Platelets", "RespRate", "SaO2", "SysABP", "Temp",
    "TroponinI", "TroponinT", "Urine", "WBC", "Weight", "pH",
)  # fmt: skip

_PHYSIONET_URL = "https://physionet.org/files/challenge-2012/1.0.0/"
_SETS = ("a", "b", "c")

# SHA-256 of the files as published (downloaded from physionet.org,
# challenge-2012 1.0.0). PhysioNet's SHA256SUMS.txt could not be reached when
# these were recorded, so they were computed from those downloaded copies.
# The other files of the challenge are not verified.
_SHA256 = {
    "set-b.tar.gz": "fee9cc5aac6449c6cce385477a585b9f60e78a3458c958bf694b586f76290f9b",
    "Outcomes-b.txt": (
        "1305f29734da374a809483229a99f33a9230aa8d4fa74b1a2d6ad788136423d5"
    ),
}

# Largest accepted download per file, well above the published sizes (about
# 6 MB per archive, 80 kB per outcomes file).
_MAX_BYTES = {
    **{f"set-{s}.tar.gz": 64 * 2**20 for s in _SETS},
    **{f"Outcomes-{s}.txt": 4 * 2**20 for s in _SETS},
}


# -- PhysioNet 2012 -----------------------------------------------------------
def _read_stays(path, max_stays):
    """Record ids and the text of each stay file (header removed)."""
    path = Path(path)
    items: list[tuple[int, bytes]] = []
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    if path.is_dir():
        items.extend(
            (int(f.stem), f.read_bytes())
            for f in sorted(path.glob("*.txt"))
            if f.stem.isdigit()
        )
    elif tarfile.is_tarfile(path):
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                name = member.name.rsplit("/", 1)[-1]
                stay = tar.extractfile(member) if member.isfile() else None
                if stay is not None and name.endswith(".txt") and name[:-4].isdigit():
                    items.append((int(name[:-4]), stay.read()))
    else:
        raise ValueError(
            f"{path} is neither a folder of per-stay .txt files nor a .tar.gz "
            "archive of them."
        )
    if not items:
        raise ValueError(f"No per-stay files (<RecordID>.txt) found in {path}.")
    items.sort(key=lambda item: item[0])
    if max_stays is not None:
        items = items[:max_stays]
    return items


def _parse_stays(items):
    """One frame of events (RecordID, Time in hours, Parameter, Value)."""
    bodies, counts = [], []
    for record_id, data in items:
        header, _, body = data.partition(b"\n")
        if header.strip() != b"Time,Parameter,Value":
            raise ValueError(
                f"Stay {record_id}: expected the header 'Time,Parameter,Value', "
                f"got {header.strip()[:60]!r}."
            )
        body = body.strip()
        if body:
            body += b"\n"
        bodies.append(body)
        counts.append(body.count(b"\n"))
    # 'HH:MM,Parameter,Value' -> 'HH,MM,Parameter,Value': one C-speed parse
    text = b"".join(bodies).replace(b":", b",")
    try:
        events = pd.read_csv(
            io.BytesIO(text),
            header=None,
            names=["hours", "minutes", "Parameter", "Value"],
            dtype={
                "hours": "float64",
                "minutes": "float64",
                "Parameter": "category",
                "Value": "float64",
            },
        )
    except ValueError as exc:  # pandas' ParserError too
        _raise_bad_line(items, exc)
        raise
    ids = np.repeat([record_id for record_id, _ in items], counts)
    return pd.DataFrame(
        {
            "RecordID": ids,
            "Time": events["hours"].to_numpy() + events["minutes"].to_numpy() / 60.0,
            "Parameter": events["Parameter"],
            "Value": events["Value"].to_numpy(),
        }
    )


_TIME = re.compile(rb"\s*\d+:\d+\s*")


def _line_problem(line):
    """What is wrong with one event line of a stay file, or None."""
    fields = line.split(b",")
    if len(fields) != 3:
        return f"expected 3 fields (Time,Parameter,Value), got {len(fields)}"
    if not _TIME.fullmatch(fields[0]):
        return "the time is not HH:MM"
    if fields[2].strip():  # empty: a missing value
        try:
            float(fields[2])
        except ValueError:
            return "the value is not a number"
    return None


def _raise_bad_line(items, exc):
    """The ValueError naming the stay and line that ``pd.read_csv`` failed on.

    Returns when no line is found at fault (the caller re-raises ``exc``).
    """
    for record_id, data in items:
        for number, line in enumerate(data.split(b"\n")[1:], start=2):
            if not line.strip():
                continue
            problem = _line_problem(line.rstrip(b"\r"))
            if problem is not None:
                raise ValueError(
                    f"Stay {record_id}, line {number}: {problem}: "
                    f"{line.strip()[:60]!r}."
                ) from exc


def _find_set(path):
    """Resolve a folder holding set-X.tar.gz / set-X/ and Outcomes-X.txt."""
    path = Path(path)
    if path.is_dir() and not any(f.stem.isdigit() for f in path.glob("*.txt")):
        found = sorted(path.glob("set-?.tar.gz")) + sorted(
            p for p in path.glob("set-?") if p.is_dir()
        )
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ValueError(
                f"{path} holds several sets ({', '.join(p.name for p in found)}); "
                "pass the path of one."
            )
    return path


def _outcomes_path(stays):
    match = re.match(r"set-([a-z])", stays.name)
    if match:
        candidate = stays.parent / f"Outcomes-{match.group(1)}.txt"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"No Outcomes file found next to {stays}; pass outcomes='Outcomes-?.txt'."
    )


def load_physionet2012(
    path: str | os.PathLike[str],
    outcomes: str | os.PathLike[str] | None = None,
    *,
    return_X_y: bool = False,
    return_type: Literal["list", "multiindex"] = "list",
    agg: Aggregation = "mean",
    max_stays: int | None = None,
) -> Bunch | tuple[list[pd.DataFrame] | pd.DataFrame, np.ndarray]:
    """Load the PhysioNet/CinC Challenge 2012 ICU mortality data.

    Reads the official files: one ``<RecordID>.txt`` per ICU stay with
    columns ``Time,Parameter,Value`` (``Time`` is ``HH:MM`` since
    admission), either as a folder or as the ``set-?.tar.gz`` archive, and
    the ``Outcomes-?.txt`` file. Each stay becomes one instance with the 41
    channels of :data:`PHYSIONET2012_VARIABLES`, observed at irregular
    times in hours; the target is in-hospital death.

    Preprocessing, all of it: the ``RecordID`` rows become the instance
    ids; for the static descriptors (:data:`PHYSIONET2012_STATIC`) the
    value -1 means unknown and becomes missing; they stay channels
    observed at time 0 (forward filling carries them through the stay);
    repeated measurements of a variable at the same minute are combined
    with ``agg``; a stay left with no value at all (set B has none) is left
    out with a warning. No value is otherwise altered.

    Parameters
    ----------
    path : str or path-like
        The ``set-?.tar.gz`` archive, a folder of per-stay files, or a
        folder holding exactly one ``set-?.tar.gz`` or ``set-?/``.
    outcomes : str or path-like, default=None
        The outcomes file; None looks for ``Outcomes-?.txt`` next to the
        set (same letter).
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.
    return_type : {'list', 'multiindex'}, default='list'
        X as a list of per-stay DataFrames (index = hours) or as one
        DataFrame with a (RecordID, Time) MultiIndex.
    agg : {'mean', 'sum', 'first', 'last', 'min', 'max'}, default='mean'
        Combination of repeated measurements at one time (see
        :func:`~sklearn_cfc.panel.from_long`).
    max_stays : int, default=None
        Keep only this many stays (at least 1), those with the smallest
        record ids (quick looks). None: every stay.

    Returns
    -------
    data : Bunch
        ``data`` (X), ``target`` (ndarray of int64, 1 = died in hospital),
        ``record_ids`` (ndarray of int64), ``outcomes`` (DataFrame of the
        outcomes file, indexed by RecordID, in X's order),
        ``feature_names`` (the channels), ``static_features`` and
        ``DESCR``.
    (X, y) : tuple
        When ``return_X_y`` is True.

    See Also
    --------
    fetch_physionet2012 : Download the files first.

    References
    ----------
    .. [1] Silva I, Moody G, Scott DJ, Celi LA, Mark RG. "Predicting
       In-Hospital Mortality of ICU Patients: The PhysioNet/Computing in
       Cardiology Challenge 2012." Comput Cardiol 2012;39:245-248.

    Examples
    --------
    >>> from sklearn_cfc.datasets import load_physionet2012
    >>> X, y = load_physionet2012("set-b.tar.gz", return_X_y=True)  # doctest: +SKIP
    >>> len(X), X[0].shape[1], y.mean().round(3)  # doctest: +SKIP
    (4000, 41, np.float64(0.142))
    """
    if return_type not in ("list", "multiindex"):
        raise ValueError(
            f"return_type must be 'list' or 'multiindex'; got {return_type!r}."
        )
    if max_stays is not None and (
        not isinstance(max_stays, Integral)
        or isinstance(max_stays, bool)
        or max_stays < 1
    ):
        raise ValueError(
            f"max_stays must be a positive integer or None; got {max_stays!r} instead."
        )
    stays = _find_set(path)
    items = _read_stays(stays, max_stays)
    events = _parse_stays(items)
    events = events[events["Parameter"] != "RecordID"]
    static = events["Parameter"].isin(PHYSIONET2012_STATIC).to_numpy()
    value = events["Value"].to_numpy().copy()
    value[static & (value == -1)] = np.nan
    events = events.assign(Value=value)

    X, ids = from_long(
        events,
        "RecordID",
        "Time",
        "Parameter",
        "Value",
        variables=PHYSIONET2012_VARIABLES,
        agg=agg,
        return_type=return_type,
        return_ids=True,
    )
    record_ids = np.asarray(ids, dtype=np.int64)
    if len(record_ids) != len(items):
        empty = sorted({r for r, _ in items} - set(record_ids.tolist()))
        warnings.warn(
            f"{len(empty)} stays have no recorded value and are left out: "
            f"RecordID {', '.join(map(str, empty[:10]))}"
            f"{', ...' if len(empty) > 10 else ''}.",
            UserWarning,
            stacklevel=2,
        )

    outcomes = _outcomes_path(stays) if outcomes is None else Path(outcomes)
    table = pd.read_csv(outcomes)
    missing = [c for c in ("RecordID", "In-hospital_death") if c not in table]
    if missing:
        raise ValueError(
            f"The outcomes file {outcomes} has no column {missing[0]!r}; its "
            f"columns are {list(table.columns)}."
        )
    table = table.set_index("RecordID")
    absent = np.setdiff1d(record_ids, table.index.to_numpy())
    if len(absent):
        raise ValueError(
            f"{len(absent)} stays have no row in {outcomes}, e.g. RecordID {absent[0]}."
        )
    table = table.loc[record_ids]
    y = table["In-hospital_death"].to_numpy(dtype=np.int64)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        record_ids=record_ids,
        outcomes=table,
        feature_names=list(PHYSIONET2012_VARIABLES),
        static_features=list(PHYSIONET2012_STATIC),
        DESCR=(
            "PhysioNet/CinC Challenge 2012: first 48 hours of ICU stays, 41 "
            "irregularly sampled variables (hours since admission), target "
            "in-hospital death."
        ),
    )


def _sha256(path):
    """Hex SHA-256 of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_url(url, out, *, timeout, max_bytes):
    """Stream ``url`` into the binary file ``out``; return the hex SHA-256.

    ``timeout`` (seconds) bounds connecting and each read; the body may not
    exceed ``max_bytes``, whether or not the server announces its length.
    """
    digest, size = hashlib.sha256(), 0
    too_big = (
        f"{url} is larger than the {max_bytes}-byte limit for this file; the "
        "download was stopped and nothing was saved."
    )
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise OSError(too_big)
            while chunk := response.read(2**16):
                size += len(chunk)
                if size > max_bytes:
                    raise OSError(too_big)
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.URLError as exc:
        if not isinstance(exc.reason, TimeoutError):
            raise OSError(f"Could not download {url}: {exc.reason}") from exc
        raise TimeoutError(_timed_out(url, timeout)) from exc
    except TimeoutError as exc:
        raise TimeoutError(_timed_out(url, timeout)) from exc
    return digest.hexdigest()


def _timed_out(url, timeout):
    return (
        f"{url} did not answer within timeout={timeout} s; nothing was saved. "
        "Try again later, or pass a larger timeout to fetch_physionet2012."
    )


def _download(url, target, *, timeout, max_bytes, sha256=None):
    """Download ``url`` to ``target``: bounded, verified, atomic.

    The body goes to a temporary file next to ``target``, which replaces
    ``target`` only once it is complete, within ``max_bytes`` and, when
    ``sha256`` is given, has that digest. On any failure the temporary file
    is removed and ``target`` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part"
    )
    try:
        with os.fdopen(fd, "wb") as out:
            actual = _copy_url(url, out, timeout=timeout, max_bytes=max_bytes)
        if sha256 is not None and actual != sha256:
            raise OSError(
                f"The download of {target.name} from {url} has SHA-256 {actual}, "
                f"expected {sha256} (the file as published); it was not saved. "
                "The server sent a different or damaged file."
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _check_cached(path, sha256):
    """Raise if the cached ``path`` does not have the published digest."""
    actual = _sha256(path)
    if actual != sha256:
        raise OSError(
            f"The cached {path} has SHA-256 {actual}, expected {sha256} (the "
            "file as published): it is damaged or was changed. Download it "
            "again with fetch_physionet2012(..., refresh=True)."
        )


def fetch_physionet2012(
    data_home: str | os.PathLike[str] | None = None,
    *,
    subset: Literal["a", "b", "c"] = "a",
    download_if_missing: bool = True,
    refresh: bool = False,
    timeout: float = 60.0,
    **kwargs: Any,
) -> Bunch | tuple[list[pd.DataFrame] | pd.DataFrame, np.ndarray]:
    """Download (once) and load a PhysioNet/CinC Challenge 2012 set.

    Fetches ``set-<subset>.tar.gz`` and ``Outcomes-<subset>.txt`` from
    https://physionet.org/files/challenge-2012/1.0.0/ (Open Data Commons
    Attribution License v1.0) into ``data_home/physionet2012``, then calls
    :func:`load_physionet2012`.

    Each file is streamed into a temporary file in the cache folder and
    moved into place only once complete and checked, so an interrupted or
    rejected download never leaves a file that is used later. A download
    stops with an error when the server does not answer within
    ``timeout`` or sends more than the limit for the file (64 MiB for an
    archive, 4 MiB for an outcomes file; the published files are about
    6 MB and 80 kB).

    The files of set B are checked against the SHA-256 digests of the
    files as published, after each download and each time they are loaded
    from the cache; a mismatch raises ``OSError``. The files of sets A and
    C are not verified: no digest is recorded for them.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Cache folder; None uses :func:`sklearn.datasets.get_data_home`.
    subset : {'a', 'b', 'c'}, default='a'
        Which set of 4,000 stays.
    download_if_missing : bool, default=True
        If False, raise ``OSError`` when the files are not cached.
    refresh : bool, default=False
        Download the files again even when they are cached (for example
        after a digest mismatch). A cached file is replaced only by a
        complete, checked download.
    timeout : float, default=60.0
        Seconds to wait for the connection and for each read before giving
        up with ``TimeoutError``.
    **kwargs
        Passed to :func:`load_physionet2012`.

    Returns
    -------
    Bunch or tuple
        As :func:`load_physionet2012`.

    Raises
    ------
    TimeoutError
        When the server does not answer within ``timeout``.
    OSError
        When a file is not cached and ``download_if_missing=False``, when a
        download fails or exceeds its size limit, or when a set B file (cached
        or downloaded) does not have the published SHA-256 digest.

    Examples
    --------
    Needs network access to physionet.org the first time (about 6 MB):

    >>> from sklearn_cfc.datasets import fetch_physionet2012
    >>> X, y = fetch_physionet2012(subset="a", return_X_y=True)  # doctest: +SKIP
    >>> len(X), int(y.sum())  # doctest: +SKIP
    (4000, 554)
    """
    if subset not in _SETS:
        raise ValueError(f"subset must be one of {list(_SETS)}; got {subset!r}.")
    if isinstance(timeout, bool) or not (
        isinstance(timeout, Real) and float(timeout) > 0
    ):
        raise ValueError(
            f"timeout must be a positive number of seconds; got {timeout!r}."
        )
    if refresh and not download_if_missing:
        raise ValueError(
            "refresh=True downloads the files again, but download_if_missing="
            "False forbids downloading; drop one of the two."
        )
    if data_home is None:
        from sklearn.datasets import get_data_home

        data_home = get_data_home()
    folder = Path(data_home) / "physionet2012"
    files = [f"set-{subset}.tar.gz", f"Outcomes-{subset}.txt"]
    for name in files:
        target = folder / name
        sha256 = _SHA256.get(name)
        if target.exists() and not refresh:
            if sha256 is not None:
                _check_cached(target, sha256)
            continue
        if not download_if_missing:
            raise OSError(f"{target} is not cached and download_if_missing=False.")
        _download(
            _PHYSIONET_URL + name,
            target,
            timeout=timeout,
            max_bytes=_MAX_BYTES[name],
            sha256=sha256,
        )
    return load_physionet2012(folder / files[0], folder / files[1], **kwargs)


# -- UEA / UCR ----------------------------------------------------------------
def load_uea(
    name: str,
    *,
    split: Literal["train", "test"] | None = None,
    return_type: Literal["list", "multiindex", "numpy3D", "panel"] = "list",
) -> tuple[list[pd.DataFrame] | pd.DataFrame | np.ndarray | Panel, np.ndarray]:
    """Load a UEA/UCR classification set through sktime.

    The sets shipped inside sktime (for example ``"JapaneseVowels"``,
    ``"BasicMotions"``, ``"PLAID"``, ``"ArrowHead"``, ``"GunPoint"``,
    ``"ItalyPowerDemand"``, ``"OSULeaf"``) load offline; other names are
    downloaded by sktime from timeseriesclassification.com.

    Parameters
    ----------
    name : str
        Dataset name.
    split : {'train', 'test'} or None, default=None
        None concatenates train and test.
    return_type : {'list', 'multiindex', 'numpy3D', 'panel'}, default='list'
        X as a list of per-instance DataFrames (index = step), a
        (instance, time) MultiIndex frame, a NaN-padded numpy array
        ``(n, n_channels, T)`` (trailing NaN = shorter series), or a
        :class:`~sklearn_cfc.panel.Panel`.

    Returns
    -------
    X : list, DataFrame, ndarray or Panel
    y : ndarray of str, shape (n_instances,)

    Examples
    --------
    >>> from sklearn_cfc.datasets import load_uea
    >>> X, y = load_uea("BasicMotions", split="train", return_type="numpy3D")
    >>> X.shape, y[:2].tolist()
    ((40, 6, 100), ['standing', 'standing'])
    """
    if return_type not in ("list", "multiindex", "numpy3D", "panel"):
        raise ValueError(
            "return_type must be one of 'list', 'multiindex', 'numpy3D', "
            f"'panel'; got {return_type!r}."
        )
    from sktime.datasets import load_UCR_UEA_dataset

    X, y = load_UCR_UEA_dataset(
        name, split=split, return_X_y=True, return_type="nested_univ"
    )
    panel = to_panel(X.reset_index(drop=True))
    y = np.asarray(y)
    if return_type == "panel":
        return panel, y
    if return_type == "numpy3D":
        return panel.to_numpy3d(), y
    if return_type == "multiindex":
        return panel.to_multiindex(), y
    return [_step_frame(f) for f in panel.to_frames()], y


def _step_frame(df):
    index = df.index.to_numpy()
    if len(index) and np.array_equal(index, np.arange(len(index))):
        return df.set_axis(pd.RangeIndex(len(index), name=df.index.name))
    return df


# -- irregular versions -------------------------------------------------------
def _drop_flags(counts, drop, rng):
    """Flags over the concatenated candidates of each instance: True = drop.

    ``floor(drop * counts[i])`` random candidates of instance ``i`` are
    dropped; one random key per candidate, drawn in concatenated order,
    so that equal data in any format loses the same observations.
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    keys = rng.random_sample(total)
    inst = np.repeat(np.arange(len(counts)), counts)
    order = np.lexsort((keys, inst))
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    rank = np.empty(total, dtype=np.int64)
    rank[order] = np.arange(total) - starts[inst[order]]
    n_drop = np.floor(drop * counts).astype(np.int64)
    return rank < n_drop[inst]


def _drop_rows(blocks, drop, per_channel, rng):
    """Random drops for a list of (rows, channels) float blocks.

    Returns, per block, the rows to remove (``per_channel=False``) or the
    (rows, channels) entries to blank (``per_channel=True``).
    """
    if per_channel:
        observed = [~np.isnan(b) for b in blocks]
        flags = _drop_flags([o.sum() for o in observed], drop, rng)
    else:
        observed = [~np.isnan(b).all(axis=1) for b in blocks]
        flags = _drop_flags([o.sum() for o in observed], drop, rng)
    out, start = [], 0
    for obs in observed:
        k = int(obs.sum())
        hit = np.zeros(obs.shape, dtype=bool)
        hit[obs] = flags[start : start + k]  # row-major order of candidates
        start += k
        out.append(hit)
    return out


def make_irregular(
    X: _PanelT,
    drop: float = 0.3,
    *,
    per_channel: bool = False,
    random_state: RandomStateLike = None,
) -> _PanelT:
    """Drop a fraction of each instance's observations at random.

    The protocol of Kidger et al. (2020) for irregular versions of regular
    UEA sets: in each instance, ``floor(drop * n_observations)`` time
    points chosen at random are removed from every channel; the kept ones
    keep their timestamps, so the series become irregularly sampled. With
    ``per_channel=True``, single values are removed instead, so channels
    are observed at different times.

    The result has the format of ``X`` (see
    :func:`~sklearn_cfc.panel.input_format`): numpy input and wide
    DataFrames get NaN at the dropped steps (with step-index time, a NaN
    step is a gap), lists of
    DataFrames and MultiIndex frames lose the rows, lists of arrays get
    NaN, a :class:`~sklearn_cfc.panel.Panel` gives a Panel. The same data
    in any format, with the same ``random_state``, loses the same
    observations. Steps that are already all-NaN are not observations and
    are left alone.

    Parameters
    ----------
    X : any format accepted by :func:`~sklearn_cfc.panel.to_panel`
        Checked as :func:`~sklearn_cfc.panel.to_panel` checks it (same
        errors).
    drop : float in [0, 1), default=0.3
        Fraction of observations removed per instance (rounded down).
    per_channel : bool, default=False
        Remove single values instead of whole time points.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X_irregular : same format as X

    References
    ----------
    .. [1] Kidger P, Morrill J, Foster J, Lyons T. "Neural Controlled
       Differential Equations for Irregular Time Series." NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_cfc.datasets import make_irregular
    >>> X = np.arange(20.0).reshape(2, 1, 10)
    >>> Xi = make_irregular(X, drop=0.3, random_state=0)
    >>> np.isnan(Xi).sum(axis=(1, 2))
    array([3, 3])
    """
    if not (isinstance(drop, Real) and 0 <= float(drop) < 1):
        raise ValueError(f"drop must be a float in [0, 1); got {drop!r} instead.")
    if not isinstance(per_channel, (bool, np.bool_)):
        raise ValueError(f"per_channel must be a bool; got {per_channel!r} instead.")
    try:
        rng = check_random_state(random_state)
    except ValueError:
        raise ValueError(
            "random_state must be None, an int or a numpy.random.RandomState "
            f"instance; got {random_state!r} instead."
        ) from None
    try:
        fmt = input_format(X)
    except TypeError:
        raise TypeError(
            "make_irregular needs a format accepted by to_panel; got "
            f"{type(X).__name__}."
        ) from None
    to_panel(X)  # validates: the droppers assume well-formed data
    return _DROPPERS[fmt](X, drop, per_channel, rng)


def _irregular_panel(X, drop, per_channel, rng):
    frames = _irregular_frames(X.to_frames(), drop, per_channel, rng)
    out = to_panel(frames)
    return Panel(
        out.values,
        out.times,
        out.mask,
        out.lengths,
        X.channels,
        X.instance_ids,
        X.time_unit,
        X.time_kind,
    )


def _irregular_numpy(X, drop, per_channel, rng):
    arr = np.array(X, dtype=np.float64)
    squeeze = arr.ndim == 2
    if squeeze:
        arr = arr[:, None, :]
    blocks = list(arr.transpose(0, 2, 1))  # (T, C) per instance
    hits = _drop_rows(blocks, drop, per_channel, rng)
    for block, hit in zip(blocks, hits, strict=True):
        block[hit] = np.nan  # views into arr
    return arr[:, 0, :] if squeeze else arr


def _irregular_multiindex(X, drop, per_channel, rng):
    if isinstance(X, pd.Series):
        out = _irregular_multiindex(X.to_frame(), drop, per_channel, rng)
        return out.iloc[:, 0].rename(X.name)
    codes = pd.factorize(X.index.get_level_values(0))[0]
    order = np.argsort(codes, kind="stable")  # instance after instance
    values = X.to_numpy(dtype=np.float64, na_value=np.nan)[order]
    blocks = np.split(values, np.cumsum(np.bincount(codes))[:-1])
    flat = np.concatenate(_drop_rows(blocks, drop, per_channel, rng))
    hit = np.zeros(flat.shape, dtype=bool)
    hit[order] = flat
    return X.mask(hit) if per_channel else X[~hit]


def _irregular_nested(X, drop, per_channel, rng):
    frames = [
        pd.concat(list(row), axis=1, keys=X.columns)
        for row in X.itertuples(index=False)
    ]
    frames = _irregular_frames(frames, drop, per_channel, rng)
    return pd.DataFrame(
        {
            c: [f[c].dropna() if per_channel else f[c] for f in frames]
            for c in X.columns
        },
        index=X.index,
    )


def _irregular_wide(X, drop, per_channel, rng):
    out = _irregular_numpy(X.to_numpy(dtype=np.float64), drop, per_channel, rng)
    return pd.DataFrame(out, index=X.index, columns=X.columns)


def _irregular_frames(X, drop, per_channel, rng):
    blocks = [f.to_numpy(dtype=np.float64, na_value=np.nan) for f in X]
    blocks = [b[:, None] if b.ndim == 1 else b for b in blocks]
    hits = _drop_rows(blocks, drop, per_channel, rng)
    if per_channel:
        return [f.mask(h.reshape(f.shape)) for f, h in zip(X, hits, strict=True)]
    return [f[~h] for f, h in zip(X, hits, strict=True)]


def _irregular_arrays(X, drop, per_channel, rng):
    arrays = [np.array(a, dtype=np.float64) for a in X]
    blocks = [(a[None, :] if a.ndim == 1 else a).T for a in arrays]
    hits = _drop_rows(blocks, drop, per_channel, rng)
    for block, hit in zip(blocks, hits, strict=True):
        block[hit] = np.nan
    return arrays


# make_irregular for each format input_format tells apart
_DROPPERS = {
    "Panel": _irregular_panel,
    "numpy": _irregular_numpy,
    "pd-multiindex": _irregular_multiindex,
    "nested_univ": _irregular_nested,
    "pd-wide": _irregular_wide,
    "df-list": _irregular_frames,
    "np-list": _irregular_arrays,
}
