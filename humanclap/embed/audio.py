"""Embed clips (files or waveforms) with any CLAP model: by content key, once each, cached,
decoded by threads one step ahead of the model, and strict about bad files.

See :mod:`humanclap.embed` for the steps and the handling of bad inputs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from humanclap.audio import (
    AudioError,
    Truncation,
    audio_warnings,
    decode_with_truncation,
    read_audio_bytes,
    validate_wave,
)
from humanclap.embed.cache import EmbeddingCache, open_cache
from humanclap.embed.info import ERROR_MODES, EmbedInfo, finish
from humanclap.runtime import (
    autocast,
    check_precision,
    eval_mode,
    prefetch,
    resolve_precision,
    run_in_pool,
    shutdown,
    thread_pool,
)
from humanclap.utils import progress_bar, sha256_bytes

__all__ = ["LOADER_VERSION", "PREFETCH_BATCHES", "embed_audio"]

#: Bump when decoding/resampling changes the waveforms a file gives, or which files are refused
#: (part of audio cache keys). 2: truncated files refused (entries of version 1 may hold them).
LOADER_VERSION = 2
#: Batches handed to the decoding threads ahead of the one the model is running.
PREFETCH_BATCHES = 2


# ----------------------------------------------------------------------------- checks
def check_batch_size(batch_size: int) -> None:
    """ValueError unless ``batch_size`` is an integer >= 1."""
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")


def check_output(model: Any, out: torch.Tensor, batch: int, what: str) -> np.ndarray:
    """The model's output as a float32 array (batch, D), or a RuntimeError naming the model."""
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (batch, model.embed_dim):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise RuntimeError(
            f"{model.spec}: {what} returned {shape}, expected ({batch}, {model.embed_dim})"
        )
    return out.detach().float().cpu().numpy()


def _check_items(audio: Any, errors: str, num_workers: int) -> list[Any]:
    if errors not in ERROR_MODES:
        raise ValueError(f"errors: expected one of {ERROR_MODES}, got {errors!r}")
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
    return items


# ----------------------------------------------------------------------------- sources
@dataclass
class _Source:
    """One unique audio input: a file (path + expected sha256) or a validated array."""

    name: str
    path: Path | None = None
    sha256: str | None = None
    wave: np.ndarray | None = None


def _audio_key(content_hash: str, sample_rate: int, source: str) -> str:
    return sha256_bytes(f"audio-{source}\0{content_hash}\0{sample_rate}\0{LOADER_VERSION}".encode())


def _hash_audio_item(item: Any, index: int, sample_rate: int) -> tuple[str, _Source]:
    """Content key of one input (reads and hashes a file). Raises AudioError."""
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        digest = sha256_bytes(read_audio_bytes(path))
        return _audio_key(digest, sample_rate, "file"), _Source(str(path), path, digest)
    name = f"audio[{index}] (array)"
    if isinstance(item, torch.Tensor):
        item = item.detach().cpu().numpy()
    wave = validate_wave(item, name)
    return _audio_key(sha256_bytes(wave.tobytes()), sample_rate, "array"), _Source(name, wave=wave)


def _decode_source(
    source: _Source, sample_rate: int, allow_truncated: bool
) -> tuple[np.ndarray, Truncation | None]:
    """Waveform (T,) float32 at ``sample_rate`` of one unique input, and its truncation (None
    unless it is an allowed truncated file). Raises AudioError."""
    if source.wave is not None:
        return source.wave, None
    assert source.path is not None
    data = read_audio_bytes(source.path)
    if sha256_bytes(data) != source.sha256:
        raise AudioError(f"{source.name}: file changed while being embedded; run again")
    return decode_with_truncation(data, sample_rate, source.name, allow_truncated=allow_truncated)


def _attempt(fn: Any, *args: Any) -> tuple[Any, AudioError | None]:
    """``(fn(*args), None)``, or ``(None, error)`` when it raises an AudioError."""
    try:
        return fn(*args), None
    except AudioError as err:
        return None, err


# ----------------------------------------------------------------------------- one call
@dataclass
class _AudioJob:
    """The state of one :func:`embed_audio` call: rows by key, the output and the report."""

    out: np.ndarray
    info: EmbedInfo
    allow_truncated: bool = False
    rows: dict[str, list[int]] = field(default_factory=dict)
    sources: dict[str, _Source] = field(default_factory=dict)

    def assign(self, key: str, vec: np.ndarray | None, flags_or_err: list[str] | str) -> None:
        """Give every row of ``key`` its vector and warnings, or its error."""
        for r in self.rows[key]:
            if vec is None:
                self.info.errors[r] = str(flags_or_err)
            else:
                self.out[r] = vec
                if flags_or_err:
                    self.info.warnings[r] = list(flags_or_err)

    def add_keys(self, hashed: list[tuple[Any, AudioError | None]]) -> None:
        """Group the rows by content key (step 1); failed rows go to ``info.errors``."""
        for i, (result, err) in enumerate(hashed):
            if err is not None:
                self.info.errors[i] = str(err)
                continue
            key, source = result
            self.rows.setdefault(key, []).append(i)
            self.sources.setdefault(key, source)
        self.info.n_unique = len(self.rows)

    def read_cache(self, cache: EmbeddingCache | None) -> list[str]:
        """Fill the rows the cache has (step 2); return the keys still to embed."""
        todo = []
        for key in self.rows:
            hit = cache.get(key) if cache else None
            if hit is None:
                todo.append(key)
                continue
            cut = hit[1].get("truncated")
            if isinstance(cut, dict) and not self.allow_truncated:  # cached while allowed
                reason = Truncation.from_dict(cut).reason()
                self.assign(key, None, f"{self.sources[key].name}: {reason}")
            else:
                self.assign(key, hit[0], list(hit[1].get("warnings", [])))
                self.info.n_cached += 1
        self.info.n_rebuilt = cache.n_rebuilt if cache else 0
        return todo

    def embed_batch(
        self, model: Any, batch: list[str], decoded: list, precision: str, cache: Any
    ) -> None:
        """Embed one batch of decoded clips, cache and assign each (step 3)."""
        keys, waves, cuts = [], [], []
        for key, (result, err) in zip(batch, decoded, strict=True):
            if err is not None:
                self.assign(key, None, str(err))
            else:
                keys.append(key)
                waves.append(result[0])
                cuts.append(result[1])
        if not waves:
            return
        with torch.inference_mode(), autocast(model.device, precision):
            emb = model.embed_audio([torch.from_numpy(w) for w in waves])
        vecs = check_output(model, emb, len(waves), "embed_audio")
        long_clips = getattr(model, "long_clips", None)
        for key, wave, cut, vec in zip(keys, waves, cuts, vecs, strict=True):
            if not np.isfinite(vec).all():
                name = self.sources[key].name
                self.assign(key, None, f"{name}: the model returned a non-finite embedding")
                continue
            flags = audio_warnings(wave, model.sample_rate, model.max_seconds, long_clips)
            meta: dict[str, Any] = {"warnings": flags}
            if cut is not None:  # allowed here; a call that does not allow it refuses the entry
                flags = [cut.flag(), *flags]
                meta = {"warnings": flags, "truncated": cut.to_dict()}
            if cache is not None:
                cache.put(key, vec, meta)
            self.assign(key, vec, flags)
            self.info.n_embedded += 1


def _run(
    job: _AudioJob,
    model: Any,
    items: list[Any],
    pool: ThreadPoolExecutor | None,
    cache: EmbeddingCache | None,
    batch_size: int,
    precision: str,
    progress: bool | None,
) -> None:
    sample_rate = int(model.sample_rate)
    job.add_keys(
        run_in_pool(pool, lambda ia: _attempt(_hash_audio_item, ia[1], ia[0], sample_rate),
                    list(enumerate(items)))
    )  # fmt: skip
    todo = job.read_cache(cache)
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    decoded = prefetch(
        batches,
        lambda key: _attempt(_decode_source, job.sources[key], sample_rate, job.allow_truncated),
        pool,
        ahead=PREFETCH_BATCHES,
    )
    bar = progress_bar(total=len(todo), progress=progress, desc="embedding audio", unit="clip")
    with bar, eval_mode(model):
        for batch, results in zip(batches, decoded, strict=True):
            job.embed_batch(model, batch, results, precision, cache)
            bar.update(len(batch))


def embed_audio(
    model: Any,
    audio: Sequence[str | os.PathLike | np.ndarray | torch.Tensor] | np.ndarray,
    *,
    batch_size: int = 32,
    num_workers: int = 2,
    cache_dir: str | os.PathLike | None = "auto",
    progress: bool | None = None,
    errors: str = "raise",
    precision: str = "auto",
    allow_truncated: bool = False,
    return_info: bool = False,
) -> np.ndarray | tuple[np.ndarray, EmbedInfo]:
    """Embed clips (files or waveforms) with ``model``; see :mod:`humanclap.embed`.

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
        Where embeddings are cached (:mod:`humanclap.embed.cache`); None: no cache.
    progress : bool or None
        Show a progress bar; None: when stderr is a terminal.
    errors : {"raise", "nan", "skip"}
        What bad items do: ``"raise"`` an :class:`~humanclap.embed.EmbedError` listing all of
        them after the good ones are embedded and cached; ``"nan"`` / ``"skip"`` NaN rows.
    precision : {"auto", "fp32", "bf16", "fp16"}
        See :mod:`humanclap.runtime` (``"auto"``: fp32 on CPU, bf16 or fp16 autocast on CUDA;
        ``"bf16"`` on a CPU with native bf16).
    allow_truncated : bool
        Embed what a truncated file holds (flagged ``"truncated (header 3.00 s, file 1.80 s)"``)
        instead of refusing it (:mod:`humanclap.audio.truncation`). A cached embedding of a
        truncated file is refused too unless this is True.
    return_info : bool
        Also return an :class:`~humanclap.embed.EmbedInfo`.

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
    check_batch_size(batch_size)
    check_precision(precision)
    items = _check_items(audio, errors, num_workers)
    precision = resolve_precision(precision, model.device)
    cache = open_cache(cache_dir, model.fingerprint, precision, "audio", model.embed_dim)
    info = EmbedInfo("audio", n_items=len(items), cache_path=cache.path if cache else None)
    out = np.full((len(items), model.embed_dim), np.nan, dtype=np.float32)
    job = _AudioJob(out, info, allow_truncated=bool(allow_truncated))
    pool = thread_pool(num_workers)
    try:
        _run(job, model, items, pool, cache, batch_size, precision, progress)
    finally:
        shutdown(pool)
    info.errors = dict(sorted(info.errors.items()))
    info.warnings = dict(sorted(info.warnings.items()))
    return finish(job.out, info, errors, return_info)
