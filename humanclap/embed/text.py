"""Embed captions with any CLAP model: each distinct caption once, cached, in batches; captions
longer than the model's text encoder takes are flagged (``"caption cut to 77 tokens (had 95)"``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from humanclap.embed.audio import check_batch_size, check_output
from humanclap.embed.cache import EmbeddingCache, open_cache
from humanclap.embed.info import EmbedInfo, finish
from humanclap.runtime import autocast, check_precision, eval_mode, resolve_precision
from humanclap.utils import progress_bar, sha256_bytes

__all__ = ["embed_text"]


def _text_key(text: str) -> str:
    return sha256_bytes(b"text\0" + text.encode("utf-8"))


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"texts: expected a sequence of str, got one string {texts!r}")
    items = list(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}]: expected str, got {type(text).__name__} {text!r}")
    return items


def _embed_batch(model: Any, captions: list[str], precision: str) -> np.ndarray:
    with torch.inference_mode(), autocast(model.device, precision):
        emb = model.embed_text(captions)
    vecs = check_output(model, emb, len(captions), "embed_text")
    bad = [text for text, v in zip(captions, vecs, strict=True) if not np.isfinite(v).all()]
    if bad:
        raise RuntimeError(
            f"{model.spec}: embed_text returned non-finite embeddings for "
            f"{len(bad)} caption(s), e.g. {bad[0]!r}"
        )
    return vecs


def _flag_cut_captions(
    model: Any, rows: dict[str, list[int]], first_text: dict[str, str], info: EmbedInfo, size: int
) -> None:
    """Flag the rows whose caption the model cuts to ``model.max_text_tokens`` (all captions,
    cached or not: counting tokens is cheap). Models that state no limit are not checked."""
    limit = getattr(model, "max_text_tokens", None)
    if limit is None:
        return
    keys = list(rows)
    for start in range(0, len(keys), size):
        batch = keys[start : start + size]
        counts = model.count_tokens([first_text[k] for k in batch])
        for key, count in zip(batch, counts, strict=True):
            if count > limit:
                for r in rows[key]:
                    info.warnings[r] = [f"caption cut to {limit} tokens (had {count})"]


def _run(
    model: Any,
    items: list[str],
    out: np.ndarray,
    info: EmbedInfo,
    cache: EmbeddingCache | None,
    batch_size: int,
    precision: str,
    progress: bool | None,
) -> None:
    rows: dict[str, list[int]] = {}
    first_text: dict[str, str] = {}
    for i, text in enumerate(items):
        key = _text_key(text)
        rows.setdefault(key, []).append(i)
        first_text.setdefault(key, text)
    info.n_unique = len(rows)
    _flag_cut_captions(model, rows, first_text, info, batch_size)
    todo = []
    for key, idx in rows.items():
        hit = cache.get(key) if cache else None
        if hit is None:
            todo.append(key)
        else:
            out[idx] = hit[0]
            info.n_cached += 1
    info.n_rebuilt = cache.n_rebuilt if cache else 0
    bar = progress_bar(total=len(todo), progress=progress, desc="embedding text", unit="caption")
    with bar, eval_mode(model):
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            vecs = _embed_batch(model, [first_text[k] for k in batch], precision)
            for key, vec in zip(batch, vecs, strict=True):
                if cache is not None:
                    cache.put(key, vec)
                out[rows[key]] = vec
                info.n_embedded += 1
            bar.update(len(batch))


def embed_text(
    model: Any,
    texts: Sequence[str],
    *,
    batch_size: int = 256,
    cache_dir: str | os.PathLike | None = "auto",
    progress: bool | None = None,
    precision: str = "auto",
    return_info: bool = False,
) -> np.ndarray | tuple[np.ndarray, EmbedInfo]:
    """Embed captions with ``model``, each distinct caption once; see :mod:`humanclap.embed`.

    Parameters
    ----------
    model : humanclap.models.ClapModel
    texts : sequence of N str
        Compared exactly (no normalisation: the model's tokenizer decides what matters).
    batch_size : int
        Distinct captions per model call.
    cache_dir : "auto", None or path
    progress : bool or None
        Show a progress bar; None: when stderr is a terminal.
    precision : {"auto", "fp32", "bf16", "fp16"}
    return_info : bool
        Also return an :class:`~humanclap.embed.EmbedInfo`.

    Returns
    -------
    np.ndarray, shape (N, D), float32
        Row ``i`` embeds ``texts[i]``. With ``return_info=True``, ``(embeddings, info)``;
        ``info.warnings`` flags the rows whose caption the model cuts (longer than
        ``model.max_text_tokens``, counted by ``model.count_tokens``).

    Raises
    ------
    TypeError
        ``texts`` is a single str, or an item is not a str (e.g. NaN from a table).
    RuntimeError
        The model returned non-finite embeddings (the finished batches stay cached).
    """
    check_batch_size(batch_size)
    check_precision(precision)
    items = _check_texts(texts)
    precision = resolve_precision(precision, model.device)
    cache = open_cache(cache_dir, model.fingerprint, precision, "text", model.embed_dim)
    info = EmbedInfo("text", n_items=len(items), cache_path=cache.path if cache else None)
    out = np.full((len(items), model.embed_dim), np.nan, dtype=np.float32)
    _run(model, items, out, info, cache, batch_size, precision, progress)
    info.warnings = dict(sorted(info.warnings.items()))
    return finish(out, info, "raise", return_info)
