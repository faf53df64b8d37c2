"""Embed many clips and captions with any :class:`~humanclap.models.ClapModel`: deduplicated,
batched, prefetched, cached on disk, resumable, and strict about bad files.

:func:`embed_audio` and :func:`embed_text` return float32 arrays of shape (N, D), row ``i`` for
input ``i``. What they do, in order:

1. **Hash.** Each input gets a content key: for a path, the sha256 of the file's bytes; for a
   1-D array, the sha256 of its float32 bytes and the sample rate; for a caption, the sha256
   of its UTF-8 bytes. Identical inputs (RELATE repeats each caption about three times; two
   paths with the same bytes) share a key and are embedded **once** (:class:`EmbedInfo` reports
   ``n_unique``).
2. **Cache look-up** (see *Cache* below): keys already embedded by this model are read back.
3. **Embed the rest** in batches of ``batch_size`` under :func:`torch.inference_mode` (and
   autocast to bf16, or fp16 where bf16 is unsupported, when the model is on CUDA; the
   embeddings are returned as float32). Audio files are read, re-hashed (a file changed since
   step 1 is an error, not a wrong cache entry), decoded and resampled
   (:func:`humanclap.audio.decode_audio`, equal to ``librosa.load(path, sr=model.sample_rate)``)
   by ``num_workers`` threads (libsndfile, soxr and hashlib release the GIL), which work on the
   next batch while the model runs the current one. Clips of different length go to the model
   as a list of 1-D tensors: the model pads / crops them its own way (never zero-padded here).
   The model is put in eval mode for the call and restored afterwards.
4. **Write** each finished batch to the cache at once, so a run that is interrupted (Ctrl-C,
   a crash, a killed job) keeps everything up to its last batch and a re-run resumes.

Bad inputs
----------
A file that cannot be used (missing, empty, undecodable, zero frames, NaN/inf samples: see
:mod:`humanclap.audio`) never stops the others: the good items of its batch are embedded and
cached as usual. Then, with ``errors="raise"`` (default) an :class:`EmbedError` lists **all** bad
items with their reasons (it carries the partial embeddings and the :class:`EmbedInfo`); with
``errors="nan"`` (alias ``"skip"``: rows are never dropped, so rows stay aligned with the
input) their rows are NaN and the reasons are in ``EmbedInfo.errors`` (``return_info=True``).
A row the model itself returns non-finite is treated the same way (and not cached). Valid but
odd audio (silent, shorter than 1 s, longer than the model's window) is embedded and flagged in
``EmbedInfo.warnings``.

Cache
-----
``cache_dir="auto"`` is ``<humanclap.utils.user_cache_dir()>/embeddings``; ``None``
disables the cache; any other value is a folder. Layout::

    <cache_dir>/<model.fingerprint>-<precision>/<audio|text>/<key[:2]>/<key>.emb

``precision`` is ``fp32`` on CPU (``bf16``/``fp16`` under CUDA autocast), so embeddings of
different numeric precision never mix. ``key`` is a sha256 over the content hash of step 1 and,
for audio, the sample rate and :data:`LOADER_VERSION`. One small file per item keeps writes
atomic and independent (written to a temporary file, then :func:`os.replace`), so concurrent
runs and interruptions are safe; the 256 sub-folders keep directories small for tens of
thousands of items. An entry is (little-endian)::

    b"HCEMB001" | uint32 D | uint32 M | M bytes of UTF-8 JSON metadata ({"warnings": [...]})
    | D float32 | sha256 of all the preceding bytes (32 bytes)

An entry that is truncated, has the wrong ``D``, a wrong checksum, bad metadata or non-finite
values is reported with a :class:`CacheWarning` and rebuilt. The cache is never pruned: delete
the folder to reclaim the space. If the cache cannot be written (read-only, disk full), a
warning is given once and embedding carries on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import struct
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm  # text bar: tqdm.auto warns in notebooks without ipywidgets

from humanclap.audio import AudioError, audio_warnings, decode_audio, validate_wave

__all__ = [
    "LOADER_VERSION",
    "PROGRESS_THRESHOLD",
    "CacheWarning",
    "EmbedError",
    "EmbedInfo",
    "EmbeddingCache",
    "default_cache_dir",
    "embed_audio",
    "embed_text",
]

log = logging.getLogger(__name__)

#: Bump when decoding/resampling changes the waveforms a file gives (part of audio cache keys).
LOADER_VERSION = 1
#: With ``progress=None`` a bar is shown when more than this many unique items need the model.
PROGRESS_THRESHOLD = 256
#: Batches handed to the decoding threads ahead of the one the model is running.
PREFETCH_BATCHES = 2

_MAGIC = b"HCEMB001"
_HEADER = struct.Struct("<8sII")
_DIGEST_SIZE = 32
_ERROR_MODES = ("raise", "nan", "skip")
_PRECISIONS = ("auto", "fp32", "bf16", "fp16")


class CacheWarning(UserWarning):
    """A cache entry was corrupt (and is rebuilt), or the cache could not be written."""


@dataclass
class EmbedInfo:
    """What an :func:`embed_audio` / :func:`embed_text` call did.

    Attributes
    ----------
    kind : {"audio", "text"}
    n_items : int
        ``N``, rows in the result.
    n_unique : int
        Distinct content keys among the items that could be hashed (duplicates embedded once).
    n_cached : int
        Unique keys read back from the cache.
    n_embedded : int
        Unique keys run through the model in this call.
    n_rebuilt : int
        Cache entries found corrupt and recomputed.
    errors : dict of int to str
        Row index -> why that row is NaN (empty when all succeeded).
    warnings : dict of int to list of str
        Row index -> flags for valid but odd audio (``"silent"``, ``"short (0.05 s)"``, ...).
    cache_path : Path or None
        The folder of this model's entries of this kind, or None without a cache.
    """

    kind: str
    n_items: int = 0
    n_unique: int = 0
    n_cached: int = 0
    n_embedded: int = 0
    n_rebuilt: int = 0
    errors: dict[int, str] = field(default_factory=dict)
    warnings: dict[int, list[str]] = field(default_factory=dict)
    cache_path: Path | None = None

    @property
    def n_failed(self) -> int:
        """Rows that could not be embedded."""
        return len(self.errors)

    def summary(self) -> str:
        """One line, e.g. ``"audio: 900 items, 300 unique, 120 cached, 180 embedded, 0 failed"``."""
        text = (
            f"{self.kind}: {self.n_items} items, {self.n_unique} unique, {self.n_cached} cached, "
            f"{self.n_embedded} embedded, {self.n_failed} failed"
        )
        if self.n_rebuilt:
            text += f", {self.n_rebuilt} corrupt cache entries rebuilt"
        return text


class EmbedError(ValueError):
    """Some items could not be embedded; all of them are listed in the message.

    Attributes
    ----------
    errors : dict of int to str
        Row index -> reason.
    embeddings : np.ndarray, shape (N, D), float32
        The result with NaN rows for the failed items (the good ones are also cached).
    info : EmbedInfo
    """

    def __init__(self, message: str, errors: dict[int, str], embeddings: np.ndarray, info):
        super().__init__(message)
        self.errors = errors
        self.embeddings = embeddings
        self.info = info


# ----------------------------------------------------------------------------- cache
def default_cache_dir() -> Path:
    """``<humanclap.utils.user_cache_dir()>/embeddings`` (not created here)."""
    from humanclap.utils import user_cache_dir

    return user_cache_dir() / "embeddings"


class EmbeddingCache:
    """One model's cached embeddings of one kind (see the module doc for the layout).

    Parameters
    ----------
    root : path
        The cache folder (``cache_dir``).
    namespace : str
        ``"<fingerprint>-<precision>"``.
    kind : {"audio", "text"}
    dim : int
        ``D``; an entry of another size is corrupt.
    """

    def __init__(self, root: str | os.PathLike, namespace: str, kind: str, dim: int) -> None:
        self.path = Path(root) / namespace / kind
        self.dim = int(dim)
        self.writable = True
        self.n_rebuilt = 0

    def entry_path(self, key: str) -> Path:
        return self.path / key[:2] / f"{key}.emb"

    def get(self, key: str) -> tuple[np.ndarray, dict[str, Any]] | None:
        """The cached ``(vector (D,), metadata)`` for ``key``; None when absent or corrupt."""
        path = self.entry_path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            self._corrupt(path, f"unreadable ({err})")
            return None
        try:
            return self._parse(data)
        except ValueError as err:
            self._corrupt(path, str(err))
            return None

    def _parse(self, data: bytes) -> tuple[np.ndarray, dict[str, Any]]:
        if len(data) < _HEADER.size + _DIGEST_SIZE:
            raise ValueError(f"truncated ({len(data)} bytes)")
        magic, dim, meta_len = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise ValueError(f"not an embedding entry (magic {magic!r})")
        if dim != self.dim:
            raise ValueError(f"wrong shape ({dim},), expected ({self.dim},)")
        expected = _HEADER.size + meta_len + 4 * dim + _DIGEST_SIZE
        if len(data) != expected:
            raise ValueError(f"truncated or padded ({len(data)} bytes, expected {expected})")
        body, digest = data[:-_DIGEST_SIZE], data[-_DIGEST_SIZE:]
        if hashlib.sha256(body).digest() != digest:
            raise ValueError("checksum mismatch")
        try:
            meta = json.loads(body[_HEADER.size : _HEADER.size + meta_len].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"bad metadata ({err})") from None
        if not isinstance(meta, dict):
            raise ValueError("bad metadata (not an object)")
        vec = np.frombuffer(body, dtype="<f4", count=dim, offset=_HEADER.size + meta_len)
        if not np.isfinite(vec).all():
            raise ValueError("non-finite values")
        return vec.astype(np.float32), meta

    def _corrupt(self, path: Path, why: str) -> None:
        self.n_rebuilt += 1
        warnings.warn(
            f"{path}: corrupt embedding cache entry ({why}); recomputing it",
            CacheWarning,
            stacklevel=4,
        )

    def put(self, key: str, vec: np.ndarray, meta: dict[str, Any] | None = None) -> None:
        """Write one entry atomically (temporary file + :func:`os.replace`)."""
        if not self.writable:
            return
        vec = np.ascontiguousarray(vec, dtype="<f4").reshape(-1)
        if vec.shape != (self.dim,):
            raise ValueError(f"cache put: expected shape ({self.dim},), got {vec.shape}")
        meta_bytes = json.dumps(meta or {}, sort_keys=True).encode("utf-8")
        body = _HEADER.pack(_MAGIC, self.dim, len(meta_bytes)) + meta_bytes + vec.tobytes()
        data = body + hashlib.sha256(body).digest()
        path = self.entry_path(key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as err:
            with contextlib.suppress(OSError):
                tmp.unlink()
            self.writable = False
            warnings.warn(
                f"{self.path}: cannot write the embedding cache ({err}); carrying on without it",
                CacheWarning,
                stacklevel=4,
            )


# ----------------------------------------------------------------------------- helpers
def _check_args(batch_size: int, errors: str, precision: str) -> None:
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
    if errors not in _ERROR_MODES:
        raise ValueError(f"errors: expected one of {_ERROR_MODES}, got {errors!r}")
    if precision not in _PRECISIONS:
        raise ValueError(f"precision: expected one of {_PRECISIONS}, got {precision!r}")


def _resolve_precision(model: torch.nn.Module, precision: str) -> str:
    device = model.device
    if precision == "auto":
        if device.type != "cuda":
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision != "fp32" and device.type != "cuda":
        raise ValueError(f"precision={precision!r} needs a model on CUDA (it is on {device})")
    return precision


def _autocast(model: torch.nn.Module, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=model.device.type, dtype=dtype)


def _open_cache(
    cache_dir: str | os.PathLike | None, model, precision: str, kind: str
) -> EmbeddingCache | None:
    if cache_dir is None:
        return None
    root = default_cache_dir() if isinstance(cache_dir, str) and cache_dir == "auto" else cache_dir
    return EmbeddingCache(root, f"{model.fingerprint}-{precision}", kind, model.embed_dim)


@contextlib.contextmanager
def _eval_mode(model: torch.nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _show_progress(progress: bool | None, n_todo: int) -> bool:
    return bool(progress) if progress is not None else n_todo > PROGRESS_THRESHOLD


def _check_output(model, out: torch.Tensor, batch: int, what: str) -> np.ndarray:
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (batch, model.embed_dim):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise RuntimeError(
            f"{model.spec}: {what} returned {shape}, expected ({batch}, {model.embed_dim})"
        )
    return out.detach().float().cpu().numpy()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _audio_key(content_hash: str, sample_rate: int, source: str) -> str:
    return _sha256(f"audio-{source}\0{content_hash}\0{sample_rate}\0{LOADER_VERSION}".encode())


def _text_key(text: str) -> str:
    return _sha256(b"text\0" + text.encode("utf-8"))


def _finish(
    out: np.ndarray, info: EmbedInfo, errors: str, return_info: bool
) -> np.ndarray | tuple[np.ndarray, EmbedInfo]:
    log.info("embed %s", info.summary())
    if info.errors and errors == "raise":
        lines = "\n".join(f"  [{row}] {why}" for row, why in sorted(info.errors.items()))
        good = info.n_items - info.n_failed
        raise EmbedError(
            f"{info.n_failed} of {info.n_items} {info.kind} items could not be embedded "
            f"(the other {good} were; pass errors='nan' to get NaN rows instead):\n{lines}",
            dict(info.errors),
            out,
            info,
        )
    return (out, info) if return_info else out


# ----------------------------------------------------------------------------- audio
@dataclass
class _Source:
    """One unique audio input: a file (path + expected sha256) or a validated array."""

    name: str
    path: Path | None = None
    sha256: str | None = None
    wave: np.ndarray | None = None


def _hash_audio_item(item: Any, index: int, sample_rate: int) -> tuple[str, _Source]:
    """Content key of one input (reads and hashes a file). Raises AudioError."""
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        name = str(path)
        data = _read_file(path)
        digest = _sha256(data)
        return _audio_key(digest, sample_rate, "file"), _Source(name, path=path, sha256=digest)
    name = f"audio[{index}] (array)"
    if isinstance(item, torch.Tensor):
        item = item.detach().cpu().numpy()
    wave = validate_wave(item, name)
    return _audio_key(_sha256(wave.tobytes()), sample_rate, "array"), _Source(name, wave=wave)


def _read_file(path: Path) -> bytes:
    from humanclap.audio import AudioNotFoundError

    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise AudioNotFoundError(f"{path}: no such audio file") from None
    except IsADirectoryError:
        raise AudioError(f"{path}: is a directory, not an audio file") from None
    except OSError as err:
        raise AudioError(f"{path}: cannot read ({err.strerror or err})") from None


def _decode_source(source: _Source, sample_rate: int) -> np.ndarray:
    """Waveform (T,) float32 at ``sample_rate`` of one unique input. Raises AudioError."""
    if source.wave is not None:
        return source.wave
    assert source.path is not None
    data = _read_file(source.path)
    if _sha256(data) != source.sha256:
        raise AudioError(f"{source.name}: file changed while being embedded; run again")
    return decode_audio(data, sample_rate, source.name)


def _call(fn: Callable, *args) -> tuple[Any, AudioError | None]:
    try:
        return fn(*args), None
    except AudioError as err:
        return None, err


def embed_audio(
    model,
    audio: Sequence[str | os.PathLike | np.ndarray | torch.Tensor] | np.ndarray,
    *,
    batch_size: int = 32,
    num_workers: int = 2,
    cache_dir: str | os.PathLike | None = "auto",
    progress: bool | None = None,
    errors: str = "raise",
    precision: str = "auto",
    return_info: bool = False,
) -> np.ndarray | tuple[np.ndarray, EmbedInfo]:
    """Embed clips (files or waveforms) with ``model``; see the module doc for the details.

    Parameters
    ----------
    model : humanclap.models.ClapModel
    audio : sequence of N items
        Each a path (``str`` / path-like; decoded with
        ``humanclap.audio.load_audio(path, model.sample_rate)``) or a 1-D float array / tensor
        of shape (T_i,) already at ``model.sample_rate``. A 2-D array (N, T) is N clips.
    batch_size : int
        Clips per model call.
    num_workers : int
        Threads reading, hashing and decoding files (0: all in the calling thread).
    cache_dir : "auto", None or path
        Where embeddings are cached (module doc); None: no cache.
    progress : bool or None
        Show a tqdm bar; None: only when more than :data:`PROGRESS_THRESHOLD` unique clips need
        the model.
    errors : {"raise", "nan", "skip"}
        What bad items do (module doc): ``"raise"`` an :class:`EmbedError` listing all of
        them after the good ones are embedded and cached; ``"nan"`` / ``"skip"`` NaN rows.
    precision : {"auto", "fp32", "bf16", "fp16"}
        ``"auto"``: fp32 on CPU, autocast to bf16 (fp16 if unsupported) on CUDA.
    return_info : bool
        Also return an :class:`EmbedInfo` (unique / cached / embedded counts, errors, warnings).

    Returns
    -------
    np.ndarray, shape (N, D), float32
        Row ``i`` embeds ``audio[i]`` (L2-normalised by the model; NaN for a failed row).
        With ``return_info=True``, ``(embeddings, info)``.

    Raises
    ------
    EmbedError
        ``errors="raise"`` and some items could not be embedded.
    TypeError
        ``audio`` is a single path/str, or an item is neither a path nor an array.
    """
    _check_args(batch_size, errors, precision)
    if isinstance(num_workers, bool) or int(num_workers) != num_workers or num_workers < 0:
        raise ValueError(f"num_workers: expected an integer >= 0, got {num_workers!r}")
    if isinstance(audio, (str, os.PathLike, bytes)):
        raise TypeError(f"audio: expected a sequence of paths or waveforms, got one {audio!r}")
    if isinstance(audio, (np.ndarray, torch.Tensor)) and audio.ndim == 1:
        raise TypeError("audio: a 1-D array is one clip; pass [wave] (a list of clips)")
    items = list(audio)
    for i, item in enumerate(items):
        if not isinstance(item, (str, os.PathLike, np.ndarray, torch.Tensor)):
            raise TypeError(
                f"audio[{i}]: expected a path or a 1-D float array, got {type(item).__name__}"
            )
    sample_rate = int(model.sample_rate)
    precision = _resolve_precision(model, precision)
    cache = _open_cache(cache_dir, model, precision, "audio")
    info = EmbedInfo("audio", n_items=len(items), cache_path=cache.path if cache else None)
    out = np.full((len(items), model.embed_dim), np.nan, dtype=np.float32)

    pool = ThreadPoolExecutor(num_workers, "humanclap-audio") if num_workers > 0 else None
    try:
        # 1. content keys (files are read and hashed by the workers)
        if pool is not None:
            hashed = list(
                pool.map(
                    lambda ia: _call(_hash_audio_item, ia[1], ia[0], sample_rate), enumerate(items)
                )
            )
        else:
            hashed = [_call(_hash_audio_item, it, i, sample_rate) for i, it in enumerate(items)]
        rows: dict[str, list[int]] = {}
        sources: dict[str, _Source] = {}
        for i, (result, err) in enumerate(hashed):
            if err is not None:
                info.errors[i] = str(err)
                continue
            key, source = result
            rows.setdefault(key, []).append(i)
            sources.setdefault(key, source)
        del hashed
        info.n_unique = len(rows)

        # 2. cache look-up
        done: dict[str, tuple[np.ndarray, list[str]]] = {}
        todo: list[str] = []
        for key in rows:
            hit = cache.get(key) if cache else None
            if hit is None:
                todo.append(key)
            else:
                done[key] = (hit[0], list(hit[1].get("warnings", [])))
        info.n_cached = len(done)
        info.n_rebuilt = cache.n_rebuilt if cache else 0

        def assign(key: str, vec: np.ndarray | None, flags_or_err: list[str] | str) -> None:
            for r in rows[key]:
                if vec is None:
                    info.errors[r] = str(flags_or_err)
                else:
                    out[r] = vec
                    if flags_or_err:
                        info.warnings[r] = list(flags_or_err)

        for key, (vec, flags) in done.items():
            assign(key, vec, flags)

        # 3. embed the rest; threads decode the next batches while the model runs this one
        batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
        submitted: list[list[Future] | None] = [None] * len(batches)

        def submit(b: int) -> None:
            if pool is not None and b < len(batches) and submitted[b] is None:
                submitted[b] = [
                    pool.submit(_call, _decode_source, sources[k], sample_rate) for k in batches[b]
                ]

        bar = tqdm(
            total=len(todo),
            desc="embedding audio",
            unit="clip",
            disable=not _show_progress(progress, len(todo)),
        )
        with bar, _eval_mode(model):
            for b, batch in enumerate(batches):
                if pool is not None:
                    for ahead in range(b, b + PREFETCH_BATCHES + 1):
                        submit(ahead)
                    results = [f.result() for f in submitted[b]]  # type: ignore[union-attr]
                    submitted[b] = None
                else:
                    results = [_call(_decode_source, sources[k], sample_rate) for k in batch]
                good_keys, waves = [], []
                for key, (wave, err) in zip(batch, results, strict=True):
                    if err is not None:
                        assign(key, None, str(err))
                    else:
                        good_keys.append(key)
                        waves.append(wave)
                if waves:
                    with torch.inference_mode(), _autocast(model, precision):
                        emb = model.embed_audio([torch.from_numpy(w) for w in waves])
                    vecs = _check_output(model, emb, len(waves), "embed_audio")
                    for key, wave, vec in zip(good_keys, waves, vecs, strict=True):
                        if not np.isfinite(vec).all():
                            assign(
                                key,
                                None,
                                f"{sources[key].name}: the model returned a non-finite embedding",
                            )
                            continue
                        flags = audio_warnings(wave, sample_rate, model.max_seconds)
                        if cache is not None:
                            cache.put(key, vec, {"warnings": flags})
                        assign(key, vec, flags)
                        info.n_embedded += 1
                bar.update(len(batch))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    info.errors = dict(sorted(info.errors.items()))
    info.warnings = dict(sorted(info.warnings.items()))
    return _finish(out, info, errors, return_info)


# ----------------------------------------------------------------------------- text
def embed_text(
    model,
    texts: Sequence[str],
    *,
    batch_size: int = 256,
    cache_dir: str | os.PathLike | None = "auto",
    progress: bool | None = None,
    precision: str = "auto",
    return_info: bool = False,
) -> np.ndarray | tuple[np.ndarray, EmbedInfo]:
    """Embed captions with ``model``, each distinct caption once; see the module doc.

    Parameters
    ----------
    model : humanclap.models.ClapModel
    texts : sequence of N str
        Compared exactly (no normalisation: the model's tokenizer decides what matters).
    batch_size : int
        Distinct captions per model call.
    cache_dir : "auto", None or path
    progress : bool or None
        As in :func:`embed_audio`.
    precision : {"auto", "fp32", "bf16", "fp16"}
    return_info : bool
        Also return an :class:`EmbedInfo`.

    Returns
    -------
    np.ndarray, shape (N, D), float32
        Row ``i`` embeds ``texts[i]``. With ``return_info=True``, ``(embeddings, info)``.

    Raises
    ------
    TypeError
        ``texts`` is a single str, or an item is not a str (e.g. NaN from a table).
    RuntimeError
        The model returned non-finite embeddings (the finished batches stay cached).
    """
    _check_args(batch_size, "raise", precision)
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"texts: expected a sequence of str, got one string {texts!r}")
    items = list(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}]: expected str, got {type(text).__name__} {text!r}")
    precision = _resolve_precision(model, precision)
    cache = _open_cache(cache_dir, model, precision, "text")
    info = EmbedInfo("text", n_items=len(items), cache_path=cache.path if cache else None)
    out = np.full((len(items), model.embed_dim), np.nan, dtype=np.float32)

    rows: dict[str, list[int]] = {}
    first_text: dict[str, str] = {}
    for i, text in enumerate(items):
        key = _text_key(text)
        rows.setdefault(key, []).append(i)
        first_text.setdefault(key, text)
    info.n_unique = len(rows)
    todo = []
    for key, idx in rows.items():
        hit = cache.get(key) if cache else None
        if hit is None:
            todo.append(key)
        else:
            out[idx] = hit[0]
            info.n_cached += 1
    info.n_rebuilt = cache.n_rebuilt if cache else 0

    bar = tqdm(
        total=len(todo),
        desc="embedding text",
        unit="caption",
        disable=not _show_progress(progress, len(todo)),
    )
    with bar, _eval_mode(model):
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            with torch.inference_mode(), _autocast(model, precision):
                emb = model.embed_text([first_text[k] for k in batch])
            vecs = _check_output(model, emb, len(batch), "embed_text")
            bad = [
                first_text[k] for k, v in zip(batch, vecs, strict=True) if not np.isfinite(v).all()
            ]
            if bad:
                raise RuntimeError(
                    f"{model.spec}: embed_text returned non-finite embeddings for "
                    f"{len(bad)} caption(s), e.g. {bad[0]!r}"
                )
            for key, vec in zip(batch, vecs, strict=True):
                if cache is not None:
                    cache.put(key, vec)
                out[rows[key]] = vec
                info.n_embedded += 1
            bar.update(len(batch))
    return _finish(out, info, "raise", return_info)
