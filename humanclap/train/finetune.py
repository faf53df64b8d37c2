"""Human-CLAP: fine-tune a CLAP model so that its cosine agrees with human relevance ratings.

:func:`finetune` trains any :class:`humanclap.models.ClapModel` on (audio, caption, human score)
pairs with a loss from :mod:`humanclap.losses` (default ``"wsce+mae"``: the symmetric InfoNCE
weighted by the human score, plus the mean absolute error between the pair cosine and the score),
validating the Spearman correlation (SRCC) of the cosine with the human scores after every
epoch and keeping the best model.

Pairs
-----
A pandas DataFrame, one row per audio--text pair (e.g. rows of
``humanclap.data.pair_table(load_relate(...))``), with

- ``text``: the caption (non-empty str);
- ``target``: the human score rescaled to ``[0, 1]`` (``pair_table``'s ``mean_score / 10``);
- the audio: an ``audio`` column of file paths, or a ``wavname`` column resolved as
  ``<audio_root>/<wavname.lstrip('/')>`` (RELATE's layout). ``audio`` wins when both exist.

Audio is decoded with :func:`humanclap.audio.load_audio` at the model's rate. When the decoded
audio of all pairs fits in about ``preload_limit_bytes`` (2 GB; estimated from the file
headers) it is decoded once before training ("preload"); otherwise each batch is decoded on
the fly by ``num_workers`` threads, one batch ahead.

Training recipe
---------------
- Parameters: ``model.trainable_parameters(trainable)`` (``"all"``, ``"projections"``,
  ``"last:<n>"``); modules whose parameters are all frozen stay in eval mode (no dropout,
  frozen BatchNorm statistics), so a frozen encoder is a fixed feature extractor.
- AdamW (weight decay on matrices only, not on biases, norms or the logit scale), linear
  warm-up over ``warmup_epochs`` (an int or a fraction of an epoch) then cosine decay to 0,
  updated every optimiser step; gradient-norm clipping (``clip_grad_norm``); gradient
  accumulation over ``grad_accum`` batches (the contrastive negatives stay within one batch).
- Mixed precision on CUDA only: ``amp="auto"`` uses bf16 autocast where supported, else fp16
  with a gradient scaler; losses are computed in float32.
- False negatives: with ``mask_false_negatives=True`` the off-diagonal pairs of a batch that
  share the same audio (same file) or the same caption (same text) are removed from the
  contrastive softmax denominators (:func:`humanclap.losses.false_negative_mask`). In RELATE a
  caption is rated against three clips; pushing those apart as negatives would contradict the
  human score of each, which is what the weighted term already uses.
- Epoch 0 is the model before training, evaluated like every epoch, so the gain is visible.
  Validation = SRCC / LCC / KTAU / MSE of the cosine against the validation targets and the
  validation loss (pairs in their given order, in chunks of ``batch_size``). The best epoch by
  validation SRCC (epoch 0 included: if training never helps, the result is the input model)
  is kept; training stops after ``patience`` epochs without improvement.

Outputs and resuming
--------------------
With ``out_dir``, after every epoch (atomically: temporary file + :func:`os.replace`):
``history.csv`` (one row per epoch), ``best.pt`` (when the best changes; a
:meth:`ClapModel.save` file, loadable with :func:`humanclap.models.load`) and ``state.pt``
(model, optimiser, step, gradient scaler, all random-number-generator states, history, best
weights and the hash of the run's arguments; readable with ``torch.load(weights_only=True)``).
Calling :func:`finetune` again with the same arguments and ``out_dir`` continues after the
last finished epoch (or returns at once if the run had finished) and gives the same weights as
an uninterrupted run on CPU; different arguments are refused (``resume=False`` starts afresh).
One process per ``out_dir``.

The input model is never modified: a copy is trained and returned in :class:`FinetuneResult`.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import logging
import math
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from humanclap import losses
from humanclap.models.base import ClapModel, atomic_torch_save, stable_hash
from humanclap.similarity import pair_cosine
from humanclap.stats import correlation_report

__all__ = [
    "HISTORY_COLUMNS",
    "STATE_VERSION",
    "FinetuneResult",
    "PairData",
    "cosine_scores",
    "evaluate",
    "finetune",
    "prepare_pairs",
]

log = logging.getLogger(__name__)

#: Columns of :attr:`FinetuneResult.history` and ``history.csv``.
HISTORY_COLUMNS: tuple[str, ...] = (
    "epoch",
    "train_loss",
    "val_loss",
    "val_srcc",
    "val_lcc",
    "val_ktau",
    "val_mse",
    "lr",
    "seconds",
)
#: Format version of ``state.pt``; bump when its layout or the training recipe changes.
STATE_VERSION = 1
#: Preload audio when its decoded size (float32) is estimated below this many bytes.
PRELOAD_LIMIT_BYTES = 2 * 1024**3


# ----------------------------------------------------------------------------- pairs
@dataclass(frozen=True)
class PairData:
    """Validated pairs of one DataFrame.

    Attributes
    ----------
    name : str
        How the frame is named in messages (``"train_pairs"`` ...).
    texts : list of str, length N
    audio_keys : list of str, length N
        The audio as given (``audio`` or ``wavname`` value): its identity for the
        false-negative mask and the run hash (independent of ``audio_root``).
    paths : list of str, length N
        Resolved file paths.
    targets : np.ndarray, shape (N,), float32
        Human scores in [0, 1].
    rows : list, length N
        Index labels of the frame (for messages).
    """

    name: str
    texts: list[str]
    audio_keys: list[str]
    paths: list[str]
    targets: np.ndarray
    rows: list[Any]

    def __len__(self) -> int:
        return len(self.texts)

    def digest(self) -> str:
        """sha256 of (audio keys, texts, targets): the data's part of the run hash."""
        h = hashlib.sha256()
        h.update(json.dumps([self.audio_keys, self.texts]).encode("utf-8"))
        h.update(np.ascontiguousarray(self.targets, dtype="<f4").tobytes())
        return h.hexdigest()[:32]


def _rows_text(labels: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(x) for x in list(labels)[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


def prepare_pairs(
    pairs: pd.DataFrame,
    name: str = "pairs",
    audio_root: str | os.PathLike | None = None,
    *,
    min_rows: int = 1,
    check_files: bool = True,
) -> PairData:
    """Validate a pairs frame and resolve its audio paths.

    Parameters
    ----------
    pairs : pd.DataFrame
        Columns ``text``, ``target`` (in [0, 1]) and ``audio`` (paths) or ``wavname``
        (resolved under ``audio_root``); see the module doc.
    name : str
        Name of the frame in error messages.
    audio_root : path-like, optional
        Root of the ``wavname`` paths.
    min_rows : int
        Fewest rows accepted.
    check_files : bool
        Check that every audio file exists.

    Returns
    -------
    PairData

    Raises
    ------
    TypeError
        ``pairs`` is not a DataFrame.
    ValueError
        Naming the frame and the column and rows: missing columns, too few rows, a text that is
        not a non-empty string, a target that is missing, not a number or outside [0, 1], a
        missing audio value, ``wavname`` without ``audio_root``.
    FileNotFoundError
        Audio files that do not exist (with their rows).
    """
    if not isinstance(pairs, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas DataFrame, got {type(pairs).__name__}")
    missing = [c for c in ("text", "target") if c not in pairs.columns]
    if "audio" not in pairs.columns and "wavname" not in pairs.columns:
        missing.append("audio' or 'wavname")
    if missing:
        listed = ", ".join(f"'{c}'" for c in missing)
        raise ValueError(f"{name}: missing column(s) {listed}; has {list(pairs.columns)}")
    if len(pairs) < min_rows:
        raise ValueError(f"{name}: {len(pairs)} rows; at least {min_rows} needed")
    labels = list(pairs.index)

    texts = pairs["text"].tolist()
    bad = [labels[i] for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ValueError(
            f"{name}: column 'text' must hold non-empty strings; bad in row(s) {_rows_text(bad)}"
        )

    raw = pairs["target"]
    numeric = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = [labels[i] for i in np.flatnonzero(~np.isfinite(numeric))]
    if bad:
        raise ValueError(
            f"{name}: column 'target' has missing, non-numeric or infinite values in row(s) "
            f"{_rows_text(bad)}"
        )
    outside = np.flatnonzero((numeric < 0) | (numeric > 1))
    if len(outside):
        shown = ", ".join(f"{labels[i]!r}: {numeric[i]:.4g}" for i in outside[:5])
        raise ValueError(
            f"{name}: column 'target' must lie in [0, 1] (the human score rescaled); "
            f"{len(outside)} value(s) outside, e.g. row {shown}"
        )

    column = "audio" if "audio" in pairs.columns else "wavname"
    values = pairs[column].tolist()
    bad = [
        labels[i]
        for i, v in enumerate(values)
        if not isinstance(v, (str, os.PathLike)) or not str(v).strip()
    ]
    if bad:
        raise ValueError(
            f"{name}: column '{column}' must hold file paths; missing or empty in row(s) "
            f"{_rows_text(bad)}"
        )
    keys = [os.fspath(v) for v in values]
    if column == "wavname":
        if audio_root is None:
            raise ValueError(
                f"{name}: has a 'wavname' column but no audio_root was given (files are read "
                "from <audio_root>/<wavname>); pass audio_root= or add an 'audio' column"
            )
        root = Path(audio_root)
        paths = [str(root / k.lstrip("/")) for k in keys]
    else:
        paths = [str(Path(k).expanduser()) for k in keys]
    if check_files:
        absent = [i for i, p in enumerate(paths) if not os.path.isfile(p)]
        if absent:
            shown = "; ".join(f"row {labels[i]!r}: {paths[i]}" for i in absent[:5])
            raise FileNotFoundError(
                f"{name}: {len(absent)} audio file(s) of column '{column}' not found, e.g. {shown}"
            )
    return PairData(
        name=name,
        texts=[str(t) for t in texts],
        audio_keys=keys,
        paths=paths,
        targets=numeric.astype(np.float32),
        rows=labels,
    )


# ----------------------------------------------------------------------------- audio store
class _ClipStore:
    """Decoded clips by path: all preloaded, or decoded per batch by a thread pool."""

    def __init__(
        self,
        sample_rate: int,
        datasets: Sequence[PairData],
        preload: bool | str = "auto",
        num_workers: int = 2,
        limit_bytes: int = PRELOAD_LIMIT_BYTES,
        progress: bool = False,
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.where: dict[str, str] = {}  # path -> "frame row <label>" for messages
        for data in datasets:
            for path, row in zip(data.paths, data.rows, strict=True):
                self.where.setdefault(path, f"{data.name} row {row!r}")
        self.num_workers = max(1, int(num_workers))
        self.clips: dict[str, Tensor] = {}
        if preload not in ("auto", True, False):
            raise ValueError(f"preload: expected 'auto', True or False, got {preload!r}")
        if preload == "auto":
            preload = self.estimated_bytes() <= limit_bytes
        self.preloaded = bool(preload)
        self._pool: ThreadPoolExecutor | None = None
        if self.preloaded:
            self._preload(progress)

    def estimated_bytes(self) -> int:
        """Decoded float32 size of all clips, from the file headers."""
        from humanclap.audio import AudioError, load_audio_info

        total = 0
        for path in self.where:
            try:
                info = load_audio_info(path)
                total += int(math.ceil(info.duration * self.sample_rate)) * 4
            except AudioError:
                total += os.path.getsize(path) * 4 if os.path.isfile(path) else 0
        return total

    def _decode(self, path: str) -> Tensor:
        from humanclap.audio import AudioError, load_audio

        try:
            wave = load_audio(path, self.sample_rate)
        except AudioError as err:
            raise type(err)(f"{self.where.get(path, 'audio')}: {err}") from err
        return torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="humanclap-audio")
        return self._pool

    def _preload(self, progress: bool) -> None:
        from tqdm import tqdm

        paths = list(self.where)
        try:
            decoded = self.pool.map(self._decode, paths)
            bar = tqdm(decoded, total=len(paths), desc="decoding audio", disable=not progress)
            for path, clip in zip(paths, bar, strict=True):
                self.clips[path] = clip
        finally:
            self.close()

    def submit(self, paths: Sequence[str]) -> list[Future] | list[Tensor]:
        """Start decoding ``paths`` (lazy mode) or return the preloaded clips."""
        if self.preloaded:
            return [self.clips[p] for p in paths]
        return [self.pool.submit(self._decode, p) for p in paths]

    @staticmethod
    def result(pending: list[Future] | list[Tensor]) -> list[Tensor]:
        return [p.result() if isinstance(p, Future) else p for p in pending]

    def batches(self, path_batches: Sequence[Sequence[str]]) -> Iterator[list[Tensor]]:
        """Clips of each batch in turn, decoding the next batch while one is in use."""
        pending = self.submit(path_batches[0]) if path_batches else []
        for i in range(len(path_batches)):
            current = pending
            if i + 1 < len(path_batches):
                pending = self.submit(path_batches[i + 1])
            yield self.result(current)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# ----------------------------------------------------------------------------- helpers
def _resolve_amp(amp: bool | str | None, device: torch.device) -> str | None:
    """``"bf16"``, ``"fp16"`` or None (off) for the ``amp`` option on ``device``."""
    if amp in ("auto", None):
        if device.type != "cuda":
            return None
        amp = True
    if amp is False or amp == "off":
        return None
    if amp not in (True, "bf16", "fp16"):
        raise ValueError(f"amp: expected 'auto', True, False, 'off', 'bf16' or 'fp16', got {amp!r}")
    if device.type != "cuda":
        raise ValueError(
            f"amp={amp!r}: mixed precision is used on CUDA only, but the device is {device}; "
            "use amp='auto' or False"
        )
    if amp is True:
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return amp


def _autocast(device: torch.device, mode: str | None) -> contextlib.AbstractContextManager:
    if mode is None:
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if mode == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _batches(n: int, batch_size: int, order: Sequence[int] | None = None) -> list[list[int]]:
    """Split ``order`` (default ``range(n)``) into batches; a last batch of 1 joins the previous
    one (a contrastive loss needs two pairs)."""
    order = list(range(n)) if order is None else list(order)
    out = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if len(out) > 1 and len(out[-1]) < 2:
        out[-2].extend(out.pop())
    return out


def _set_train_mode(model: ClapModel) -> None:
    """``model.train()``, then eval mode for every module whose parameters are all frozen."""
    model.train()
    for module in model.modules():
        if module is model or not module.training:
            continue
        params = list(module.parameters())
        if params and not any(p.requires_grad for p in params):
            module.eval()


def _mutable_state(model: ClapModel, names: set[str]) -> dict[str, Tensor]:
    """CPU copies of the ``state_dict`` entries that training can change (``names``)."""
    return {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items() if k in names}


def _python_rng_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    return {
        "version": int(version),
        "state": torch.tensor(internal, dtype=torch.int64),
        "gauss_next": gauss,
    }


def _numpy_rng_state() -> dict[str, Any]:
    # the legacy global numpy RNG is what third-party model code may draw from
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    return {
        "name": str(name),
        "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def _rng_states(gen: torch.Generator, device: torch.device) -> dict[str, Any]:
    out: dict[str, Any] = {
        "shuffle": gen.get_state(),
        "torch": torch.get_rng_state(),
        "numpy": _numpy_rng_state(),
        "python": _python_rng_state(),
    }
    if device.type == "cuda":
        out["cuda"] = torch.cuda.get_rng_state(device)
    return out


def _set_rng_states(states: Mapping[str, Any], gen: torch.Generator, device: torch.device) -> None:
    gen.set_state(states["shuffle"])
    torch.set_rng_state(states["torch"])
    np_state = states["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            np_state["name"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    py = states["python"]
    random.setstate((py["version"], tuple(int(x) for x in py["state"].tolist()), py["gauss_next"]))
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


@contextlib.contextmanager
def _isolated_rngs(device: torch.device) -> Iterator[None]:
    """Restore the caller's torch, numpy and python random states on exit."""
    np_state = np.random.get_state()  # noqa: NPY002
    py_state = random.getstate()
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)


def _atomic_write_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_history(history: list[dict[str, Any]], path: Path) -> None:
    buffer = io.StringIO()
    pd.DataFrame(history, columns=list(HISTORY_COLUMNS)).to_csv(buffer, index=False)
    _atomic_write_text(buffer.getvalue(), path)


def _history_frame(history: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(history, columns=list(HISTORY_COLUMNS))
    return frame.astype({"epoch": int})


def _want_progress(progress: bool | None) -> bool:
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


# ----------------------------------------------------------------------------- evaluation
@torch.no_grad()
def _embed_pairs(
    model: ClapModel,
    data: PairData,
    store: _ClipStore,
    batch_size: int,
    device: torch.device,
    amp_mode: str | None,
    progress: bool = False,
) -> tuple[Tensor, Tensor]:
    """Embeddings of each pair, (N, D) twice, float32 on ``device``, in eval mode (each unique
    audio file and caption is embedded once)."""
    from tqdm import tqdm

    was_training = model.training
    model.eval()
    try:
        uniq_paths = list(dict.fromkeys(data.paths))
        uniq_texts = list(dict.fromkeys(data.texts))
        path_batches = [
            uniq_paths[i : i + batch_size] for i in range(0, len(uniq_paths), batch_size)
        ]
        audio_parts = []
        bar = tqdm(
            store.batches(path_batches),
            total=len(path_batches),
            desc=f"embedding {data.name}",
            disable=not progress,
            leave=False,
        )
        for clips in bar:
            with _autocast(device, amp_mode):
                audio_parts.append(model.embed_audio(clips).float())
        text_parts = []
        for i in range(0, len(uniq_texts), batch_size):
            with _autocast(device, amp_mode):
                text_parts.append(model.embed_text(uniq_texts[i : i + batch_size]).float())
        audio_u, text_u = torch.cat(audio_parts), torch.cat(text_parts)
    finally:
        model.train(was_training)
    path_pos = {p: i for i, p in enumerate(uniq_paths)}
    text_pos = {t: i for i, t in enumerate(uniq_texts)}
    a_idx = torch.tensor([path_pos[p] for p in data.paths], device=audio_u.device)
    t_idx = torch.tensor([text_pos[t] for t in data.texts], device=text_u.device)
    return audio_u[a_idx], text_u[t_idx]


def _pair_cosine(audio_emb: Tensor, text_emb: Tensor) -> np.ndarray:
    return pair_cosine(audio_emb.double(), text_emb.double()).cpu().numpy()


def _batch_mask(
    data: PairData, idx: Sequence[int], enabled: bool, device: torch.device
) -> Tensor | None:
    if not enabled:
        return None
    return losses.false_negative_mask(
        [data.audio_keys[i] for i in idx], [data.texts[i] for i in idx]
    ).to(device)


@torch.no_grad()
def _evaluate_embedded(
    model: ClapModel,
    data: PairData,
    audio_emb: Tensor,
    text_emb: Tensor,
    loss: str,
    lambdas: Mapping[str, float] | Sequence[float] | None,
    batch_size: int,
    mask_false_negatives: bool,
) -> dict[str, float]:
    scores = _pair_cosine(audio_emb, text_emb)
    try:
        report = correlation_report(scores, data.targets.astype(float))
    except ValueError as err:  # e.g. constant predictions: correlations undefined
        log.warning("%s: correlations undefined (%s)", data.name, err)
        report = {
            "srcc": math.nan,
            "lcc": math.nan,
            "ktau": math.nan,
            "mse": float(np.mean((scores - data.targets) ** 2)),
        }
    targets = torch.as_tensor(data.targets, device=audio_emb.device)
    scale = model.logit_scale.detach().float()
    total, count = 0.0, 0
    for idx in _batches(len(data), batch_size):
        value = losses.combined(
            loss,
            audio_emb[idx],
            text_emb[idx],
            targets[idx],
            scale,
            lambdas=lambdas,
            mask=_batch_mask(data, idx, mask_false_negatives, audio_emb.device),
        )
        total += float(value) * len(idx)
        count += len(idx)
    return {
        "loss": total / count,
        "srcc": float(report["srcc"]),
        "lcc": float(report["lcc"]),
        "ktau": float(report["ktau"]),
        "mse": float(report["mse"]),
        "n": len(data),
    }


def _embed_frame(
    model: ClapModel,
    data: PairData,
    batch_size: int,
    device: str | torch.device | None,
    amp: bool | str,
    num_workers: int,
    progress: bool | None,
) -> tuple[Tensor, Tensor]:
    """Embed every pair of ``data`` once, in order (eval mode, no cache): (N, D) and (N, D)."""
    device = torch.device(device) if device is not None else model.device
    model = model.to(device)
    store = _ClipStore(model.sample_rate, [data], preload=False, num_workers=num_workers)
    try:
        return _embed_pairs(
            model,
            data,
            store,
            batch_size,
            device,
            _resolve_amp(amp, device),
            _want_progress(progress),
        )
    finally:
        store.close()


def cosine_scores(
    model: ClapModel,
    pairs: pd.DataFrame,
    *,
    audio_root: str | os.PathLike | None = None,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    amp: bool | str = "auto",
    num_workers: int = 2,
    progress: bool | None = None,
) -> np.ndarray:
    """Cosine of each pair's audio and text embeddings (no cache; the model in eval mode).

    The project's cached scorer is :func:`humanclap.score.clapscore`; this one is what
    :func:`finetune` validates with. ``pairs`` as for :func:`finetune` except that ``target``
    is not needed. With ``device`` given, ``model`` is moved there (``nn.Module.to``).

    Returns
    -------
    np.ndarray, shape (N,), float64
    """
    if isinstance(pairs, pd.DataFrame) and "target" not in pairs.columns:
        pairs = pairs.assign(target=0.0)
    data = prepare_pairs(pairs, "pairs", audio_root)
    audio_emb, text_emb = _embed_frame(model, data, batch_size, device, amp, num_workers, progress)
    return _pair_cosine(audio_emb, text_emb)


def evaluate(
    model: ClapModel,
    pairs: pd.DataFrame,
    *,
    loss: str = "wsce+mae",
    lambdas: Mapping[str, float] | Sequence[float] | None = None,
    mask_false_negatives: bool = True,
    audio_root: str | os.PathLike | None = None,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    amp: bool | str = "auto",
    num_workers: int = 2,
    progress: bool | None = None,
) -> dict[str, float]:
    """What :func:`finetune` reports for its validation pairs, for any pairs frame.

    Returns
    -------
    dict
        ``loss`` (the named loss, pairs in the given order in chunks of ``batch_size``, eval
        mode), ``srcc``, ``lcc``, ``ktau``, ``mse`` of the cosine against ``target``, and ``n``.
    """
    losses.parse_loss_name(loss)
    data = prepare_pairs(pairs, "pairs", audio_root, min_rows=3)
    audio_emb, text_emb = _embed_frame(model, data, batch_size, device, amp, num_workers, progress)
    return _evaluate_embedded(
        model, data, audio_emb, text_emb, loss, lambdas, batch_size, mask_false_negatives
    )


# ----------------------------------------------------------------------------- result
@dataclass
class FinetuneResult:
    """What :func:`finetune` returns.

    Attributes
    ----------
    model : ClapModel
        A copy of the input model with the best epoch's weights, in eval mode.
    history : pd.DataFrame
        One row per evaluated epoch (0 = before training), columns :data:`HISTORY_COLUMNS`.
        ``train_loss`` is the mean training loss over the epoch's batches (NaN for epoch 0);
        ``lr`` the learning rate of the epoch's last step; ``seconds`` its wall time.
    best_epoch : int
        Epoch with the highest validation SRCC (0 = the input model).
    best_val_srcc : float
    out_dir : Path or None
    stopped_early : bool
        True when training stopped after ``patience`` epochs without improvement.
    """

    model: ClapModel
    history: pd.DataFrame
    best_epoch: int
    best_val_srcc: float
    out_dir: Path | None
    stopped_early: bool


# ----------------------------------------------------------------------------- finetune
def _check_args(
    num_epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    warmup_epochs: float,
    patience: int | None,
    grad_accum: int,
    clip_grad_norm: float | None,
) -> None:
    def is_int(x: Any) -> bool:
        return isinstance(x, (int, np.integer)) and not isinstance(x, bool)

    if not is_int(num_epochs) or num_epochs < 0:
        raise ValueError(f"num_epochs: expected an integer >= 0, got {num_epochs!r}")
    if not is_int(batch_size) or batch_size < 2:
        raise ValueError(f"batch_size: expected an integer >= 2 (contrastive), got {batch_size!r}")
    if not is_int(grad_accum) or grad_accum < 1:
        raise ValueError(f"grad_accum: expected an integer >= 1, got {grad_accum!r}")
    if patience is not None and (not is_int(patience) or patience < 1):
        raise ValueError(f"patience: expected an integer >= 1 or None, got {patience!r}")
    for name, value in (("lr", lr), ("weight_decay", weight_decay)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    if not isinstance(warmup_epochs, (int, float)) or not 0 <= warmup_epochs < math.inf:
        raise ValueError(f"warmup_epochs: expected a number >= 0, got {warmup_epochs!r}")
    if clip_grad_norm is not None and not (
        isinstance(clip_grad_norm, (int, float)) and clip_grad_norm > 0
    ):
        raise ValueError(f"clip_grad_norm: expected a number > 0 or None, got {clip_grad_norm!r}")


def _lambdas_primitive(
    loss: str, lambdas: Mapping[str, float] | Sequence[float] | None
) -> dict[str, float]:
    """The per-term weights :func:`humanclap.losses.combined` will use (validated)."""
    terms = losses.parse_loss_name(loss)
    return losses._resolve_lambdas(terms, lambdas)


def finetune(
    model: ClapModel,
    train_pairs: pd.DataFrame,
    val_pairs: pd.DataFrame,
    *,
    loss: str = "wsce+mae",
    lambdas: Mapping[str, float] | Sequence[float] | None = None,
    lr: float = 1e-4,
    num_epochs: int = 10,
    batch_size: int = 32,
    trainable: str = "all",
    weight_decay: float = 0.01,
    warmup_epochs: float = 1,
    patience: int | None = 3,
    mask_false_negatives: bool = True,
    seed: int = 0,
    device: str | torch.device | None = None,
    audio_root: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    resume: bool = True,
    grad_accum: int = 1,
    amp: bool | str = "auto",
    clip_grad_norm: float | None = 1.0,
    preload: bool | str = "auto",
    num_workers: int = 2,
    progress: bool | None = None,
    callback: Callable[[int, dict[str, Any]], Any] | None = None,
) -> FinetuneResult:
    """Fine-tune a copy of ``model`` on human-rated pairs (Human-CLAP); see the module doc.

    Parameters
    ----------
    model : ClapModel
        Not modified.
    train_pairs, val_pairs : pd.DataFrame
        Columns ``text``, ``target`` in [0, 1], and ``audio`` (paths) or ``wavname`` (under
        ``audio_root``). At least 2 training and 3 validation pairs; the validation targets must
        vary (SRCC).
    loss : str
        Terms of :mod:`humanclap.losses` joined by ``+`` (``"wsce+mae"``, ``"sce"``,
        ``"mse"``, ...); ``wsce`` is weighted by ``target``.
    lambdas : dict or sequence, optional
        Weight per term (default 1 each).
    lr, weight_decay : float
        AdamW peak learning rate and decoupled weight decay (matrices only).
    num_epochs : int
        Training epochs (the cosine schedule spans all of them).
    batch_size : int
        Pairs per batch (also the contrastive batch). Each epoch reshuffles the training pairs
        with a ``torch.Generator`` seeded by ``seed``.
    trainable : {"all", "projections", "last:<n>"}
        See :meth:`ClapModel.trainable_parameters`.
    warmup_epochs : float
        Linear warm-up length in epochs (a fraction allowed), at most the whole run.
    patience : int or None
        Stop after this many epochs without a higher validation SRCC; None = never.
    mask_false_negatives : bool
        Drop same-audio / same-caption pairs from the contrastive denominators.
    seed : int
        Seeds shuffling and the torch / numpy / python RNGs during training (the caller's RNG
        states are restored afterwards).
    device : str or torch.device, optional
        Default: the model's device.
    audio_root : path-like, optional
        Root of ``wavname`` paths.
    out_dir : path-like or "auto", optional
        Where ``history.csv``, ``best.pt`` and ``state.pt`` go; enables resuming. ``"auto"``:
        ``<cache>/finetunes/<hash of the run's arguments>`` (the cache of
        :func:`humanclap.utils.user_cache_dir`), so that the same run, asked for again
        (e.g. by another chapter), is read back instead of trained again.
    resume : bool
        Continue a run found in ``out_dir`` (same arguments required); False starts afresh.
    grad_accum : int
        Batches per optimiser step.
    amp : {"auto", True, False, "off", "bf16", "fp16"}
        Mixed precision (CUDA only); "auto" = on for CUDA.
    clip_grad_norm : float or None
        Gradient-norm clip (None = off).
    preload : {"auto", True, False}
        Decode all audio up front ("auto": when it is estimated under 2 GB).
    num_workers : int
        Decoding threads.
    progress : bool, optional
        tqdm bars; default: when stderr is a terminal.
    callback : callable ``(epoch, row) -> None``, optional
        Called after each epoch (0 included) once its outputs are written; ``row`` is the
        history row (a dict). An exception raised here stops the run, which can be resumed.

    Returns
    -------
    FinetuneResult

    Raises
    ------
    ValueError
        Bad arguments or pairs (naming them), or ``out_dir`` holds a run with other arguments.
    FloatingPointError
        The training loss became NaN or infinite.
    """
    if not isinstance(model, ClapModel):
        raise TypeError(f"model: expected a humanclap.models.ClapModel, got {type(model).__name__}")
    _check_args(
        num_epochs,
        batch_size,
        lr,
        weight_decay,
        warmup_epochs,
        patience,
        grad_accum,
        clip_grad_norm,
    )
    resolved_lambdas = _lambdas_primitive(loss, lambdas)
    loss_name = "+".join(losses.parse_loss_name(loss))
    train = prepare_pairs(train_pairs, "train_pairs", audio_root, min_rows=2)
    val = prepare_pairs(val_pairs, "val_pairs", audio_root, min_rows=3)
    if np.all(val.targets == val.targets[0]):
        raise ValueError(
            f"val_pairs: all {len(val)} targets equal {float(val.targets[0])!r}; validation SRCC "
            "is undefined"
        )
    device = torch.device(device) if device is not None else model.device
    amp_mode = _resolve_amp(amp, device)
    show = _want_progress(progress)

    args = {
        "state_version": STATE_VERSION,
        "base_model": model.fingerprint,
        "backend": model.backend,
        "train_data": train.digest(),
        "val_data": val.digest(),
        "loss": loss_name,
        "lambdas": resolved_lambdas,
        "lr": float(lr),
        "num_epochs": int(num_epochs),
        "batch_size": int(batch_size),
        "trainable": str(trainable),
        "weight_decay": float(weight_decay),
        "warmup_epochs": float(warmup_epochs),
        "patience": None if patience is None else int(patience),
        "mask_false_negatives": bool(mask_false_negatives),
        "seed": int(seed),
        "grad_accum": int(grad_accum),
        "amp": str(amp),
        "clip_grad_norm": None if clip_grad_norm is None else float(clip_grad_norm),
    }
    args_hash = stable_hash(args, length=32)

    if isinstance(out_dir, str) and out_dir == "auto":
        from humanclap.utils import user_cache_dir

        out_path: Path | None = user_cache_dir() / "finetunes" / args_hash
    else:
        out_path = Path(out_dir) if out_dir is not None else None
    state: dict[str, Any] | None = None
    if out_path is not None:
        out_path.mkdir(parents=True, exist_ok=True)
        state_file = out_path / "state.pt"
        if state_file.is_file() and resume:
            try:
                state = torch.load(state_file, map_location="cpu", weights_only=True)
            except Exception as err:
                raise ValueError(
                    f"{state_file}: unreadable training state ({err}); delete it or pass "
                    "resume=False"
                ) from err
            if not isinstance(state, dict) or state.get("args_hash") != args_hash:
                old = state.get("args", {}) if isinstance(state, dict) else {}
                changed = sorted(k for k in set(args) | set(old) if old.get(k) != args.get(k))
                detail = "; ".join(f"{k}: {old.get(k)!r} -> {args.get(k)!r}" for k in changed)
                raise ValueError(
                    f"{out_path}: holds a fine-tuning run with different arguments ({detail}). "
                    "Use another out_dir, or resume=False to start afresh there."
                )
            log.info("resuming %s after epoch %d", out_path, state["epoch"])

    # -- the model copy, parameters, optimiser -----------------------------------
    work = copy.deepcopy(model).to(device)
    params = work.trainable_parameters(trainable)
    if not params:
        raise ValueError(f"trainable={trainable!r}: selects no parameters of this model")
    trainable_names = {n for n, p in work.named_parameters() if p.requires_grad}
    mutable_names = trainable_names | {n for n, _ in work.named_buffers()}
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": float(weight_decay)}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups, lr=float(lr))
    scaler = torch.amp.GradScaler(device.type, enabled=amp_mode == "fp16")

    batches_per_epoch = len(_batches(len(train), batch_size))
    steps_per_epoch = math.ceil(batches_per_epoch / grad_accum)
    total_steps = steps_per_epoch * num_epochs
    warmup_steps = min(math.ceil(warmup_epochs * steps_per_epoch), total_steps)

    def lr_at(step: int) -> float:
        if step < warmup_steps:
            return lr * (step + 1) / warmup_steps
        frac = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return lr * 0.5 * (1.0 + math.cos(math.pi * frac))

    gen = torch.Generator().manual_seed(int(seed))
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"epoch": -1, "val_srcc": math.nan, "weights": {}}
    step, since_best, start_epoch, stopped, done = 0, 0, 0, False, False

    def save_best() -> None:
        if out_path is None:
            return
        ckpt = work.checkpoint()
        ckpt["state_dict"].update(best["weights"])
        provenance = ckpt["config"].get("provenance")
        if isinstance(provenance, dict):
            provenance["finetune"] = _finetune_note(args, args_hash, best)
        atomic_torch_save(ckpt, out_path / "best.pt")

    def finish() -> FinetuneResult:
        work.load_state_dict(best["weights"], strict=False)
        work.trainable_parameters("all")
        work.eval()
        provenance = getattr(work, "provenance", None)
        if isinstance(provenance, dict):
            provenance["finetune"] = _finetune_note(args, args_hash, best)
        return FinetuneResult(
            model=work,
            history=_history_frame(history),
            best_epoch=int(best["epoch"]),
            best_val_srcc=float(best["val_srcc"]),
            out_dir=out_path,
            stopped_early=bool(stopped),
        )

    if state is not None:
        work.load_state_dict(state["model"], strict=True)
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        history = [dict(r) for r in state["history"]]
        best = {
            "epoch": int(state["best"]["epoch"]),
            "val_srcc": float(state["best"]["val_srcc"]),
            "weights": dict(state["best"]["weights"]),
        }
        step, since_best = int(state["step"]), int(state["since_best"])
        start_epoch, stopped, done = (
            int(state["epoch"]) + 1,
            bool(state["stopped"]),
            bool(state["done"]),
        )
        if not (out_path / "best.pt").is_file():
            save_best()
        if done:
            _write_history(history, out_path / "history.csv")
            return finish()

    store = _ClipStore(
        work.sample_rate, [train, val], preload=preload, num_workers=num_workers, progress=show
    )
    train_targets = torch.as_tensor(train.targets, device=device)
    try:
        with _isolated_rngs(device):
            torch.manual_seed(int(seed))
            np.random.seed(int(seed) % 2**32)  # noqa: NPY002
            random.seed(int(seed))
            if state is not None:
                _set_rng_states(state["rng"], gen, device)

            for epoch in range(start_epoch, num_epochs + 1):
                started = time.perf_counter()
                train_loss, last_lr = math.nan, 0.0
                if epoch > 0:
                    train_loss, step, last_lr = _train_epoch(
                        work,
                        train,
                        train_targets,
                        store,
                        optimizer,
                        scaler,
                        params,
                        gen=gen,
                        epoch=epoch,
                        num_epochs=num_epochs,
                        step=step,
                        lr_at=lr_at,
                        loss=loss_name,
                        lambdas=resolved_lambdas,
                        batch_size=batch_size,
                        grad_accum=grad_accum,
                        clip_grad_norm=clip_grad_norm,
                        mask_false_negatives=mask_false_negatives,
                        device=device,
                        amp_mode=amp_mode,
                        progress=show,
                    )
                audio_emb, text_emb = _embed_pairs(
                    work, val, store, batch_size, device, amp_mode, progress=False
                )
                report = _evaluate_embedded(
                    work,
                    val,
                    audio_emb,
                    text_emb,
                    loss_name,
                    resolved_lambdas,
                    batch_size,
                    mask_false_negatives,
                )
                row = {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "val_loss": report["loss"],
                    "val_srcc": report["srcc"],
                    "val_lcc": report["lcc"],
                    "val_ktau": report["ktau"],
                    "val_mse": report["mse"],
                    "lr": last_lr,
                    "seconds": time.perf_counter() - started,
                }
                history.append(row)
                srcc = report["srcc"]
                improved = best["epoch"] < 0 or (
                    math.isfinite(srcc)
                    and (not math.isfinite(best["val_srcc"]) or srcc > best["val_srcc"])
                )
                if improved:
                    best = {
                        "epoch": epoch,
                        "val_srcc": srcc,
                        "weights": _mutable_state(work, mutable_names),
                    }
                    since_best = 0
                elif epoch > 0:
                    since_best += 1
                stopped = patience is not None and epoch < num_epochs and since_best >= patience
                done = stopped or epoch == num_epochs
                log.info(
                    "epoch %d: train loss %.4f, val SRCC %.4f (best %.4f at %d)",
                    epoch,
                    train_loss,
                    srcc,
                    best["val_srcc"],
                    best["epoch"],
                )
                if out_path is not None:
                    if improved:
                        save_best()
                    _write_history(history, out_path / "history.csv")
                    atomic_torch_save(
                        {
                            "version": STATE_VERSION,
                            "args_hash": args_hash,
                            "args": args,
                            "epoch": epoch,
                            "step": step,
                            "since_best": since_best,
                            "stopped": stopped,
                            "done": done,
                            "model": {
                                k: v.detach().cpu().clone() for k, v in work.state_dict().items()
                            },
                            "optimizer": optimizer.state_dict(),
                            "scaler": scaler.state_dict(),
                            "rng": _rng_states(gen, device),
                            "history": history,
                            "best": best,
                        },
                        out_path / "state.pt",
                    )
                if callback is not None:
                    callback(epoch, dict(row))
                if done:
                    break
    finally:
        store.close()
    return finish()


def _finetune_note(
    args: Mapping[str, Any], args_hash: str, best: Mapping[str, Any]
) -> dict[str, Any]:
    """What a fine-tuned model's ``provenance["finetune"]`` records (when it keeps one)."""
    return {
        "base_fingerprint": args["base_model"],
        "args_hash": args_hash,
        "loss": args["loss"],
        "best_epoch": int(best["epoch"]),
        "best_val_srcc": float(best["val_srcc"]),
    }


def _train_epoch(
    model: ClapModel,
    train: PairData,
    targets: Tensor,
    store: _ClipStore,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    params: list[torch.nn.Parameter],
    *,
    gen: torch.Generator,
    epoch: int,
    num_epochs: int,
    step: int,
    lr_at: Callable[[int], float],
    loss: str,
    lambdas: Mapping[str, float],
    batch_size: int,
    grad_accum: int,
    clip_grad_norm: float | None,
    mask_false_negatives: bool,
    device: torch.device,
    amp_mode: str | None,
    progress: bool,
) -> tuple[float, int, float]:
    """One pass over the shuffled training pairs; returns (mean loss, step, last lr)."""
    from tqdm import tqdm

    order = torch.randperm(len(train), generator=gen).tolist()
    batches = _batches(len(train), batch_size, order)
    _set_train_mode(model)
    optimizer.zero_grad(set_to_none=True)
    total, count, last_lr = 0.0, 0, 0.0
    bar = tqdm(
        store.batches([[train.paths[i] for i in idx] for idx in batches]),
        total=len(batches),
        desc=f"epoch {epoch}/{num_epochs}",
        disable=not progress,
        leave=False,
    )
    try:
        for b, (idx, clips) in enumerate(zip(batches, bar, strict=True)):
            group_start = b - b % grad_accum
            group_size = min(grad_accum, len(batches) - group_start)
            with _autocast(device, amp_mode):
                audio_emb = model.embed_audio(clips)
                text_emb = model.embed_text([train.texts[i] for i in idx])
            value = losses.combined(
                loss,
                audio_emb.float(),
                text_emb.float(),
                targets[idx],
                model.logit_scale.float(),
                lambdas=lambdas,
                mask=_batch_mask(train, idx, mask_false_negatives, device),
            )
            if not torch.isfinite(value):
                raise FloatingPointError(
                    f"epoch {epoch}, batch {b}: training loss is {float(value)}; try a lower lr "
                    "(or amp=False)"
                )
            scaler.scale(value / group_size).backward()
            total += float(value.detach()) * len(idx)
            count += len(idx)
            if b - group_start + 1 == group_size:
                last_lr = lr_at(step)
                for group in optimizer.param_groups:
                    group["lr"] = last_lr
                if clip_grad_norm is not None:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                step += 1
            bar.set_postfix(loss=f"{total / count:.4f}", lr=f"{last_lr:.2e}")
    finally:
        bar.close()
    model.eval()
    return total / count, step, last_lr
