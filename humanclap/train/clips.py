"""The decoded clips a trainer needs, by path: all decoded up front when they fit in memory,
else decoded batch by batch by threads, one batch ahead (:func:`humanclap.runtime.prefetch`).

Given a model with a fixed audio front end (:attr:`humanclap.models.ClapModel.audio_features_key`),
a preloading store keeps the front end's features instead of the waveforms, computed once per
process (:data:`humanclap.train.features.FEATURE_CACHE`) and shared by every epoch and run;
:meth:`ClipStore.embed` then runs only the rest of the model. When the model's first audio
blocks are frozen (:meth:`humanclap.models.ClapModel.frozen_audio_depth`, e.g.
``trainable="freeze-audio:1"``), the features include their output, so that neither their
forward nor their backward pass runs again.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import Tensor

from humanclap.audio import AudioError, as_clips, load_audio, load_audio_info
from humanclap.models import ClapModel
from humanclap.runtime import prefetch, shutdown, thread_pool
from humanclap.train.features import FEATURE_CACHE, FeatureCache
from humanclap.train.pairs import PairData
from humanclap.utils import progress_bar

__all__ = ["PRELOAD_LIMIT_BYTES", "ClipStore"]

#: Preload audio when its decoded size (float32) is estimated below this many bytes.
PRELOAD_LIMIT_BYTES = 2 * 1024**3


class ClipStore:
    """Decoded clips of the pairs of one or more :class:`PairData`, by path.

    Parameters
    ----------
    sample_rate : int
        The model's rate; clips are decoded to it.
    datasets : sequence of PairData
        Whose paths are served (and named in error messages by frame and row).
    preload : {"auto", True, False}
        Decode everything now ("auto": when the estimate is under ``limit_bytes``).
    num_workers : int
        Decoding threads.
    limit_bytes : int
    progress : bool or None
        A bar while preloading.
    model : ClapModel, optional
        When it has a fixed audio front end and the clips are preloaded, the store keeps its
        features (from ``feature_cache``) instead of waveforms: :attr:`feature_key` is set, and
        :attr:`feature_depth` is the model's :meth:`~ClapModel.frozen_audio_depth` (the frozen
        audio blocks the features include).
    feature_cache : FeatureCache
        Where features are shared between stores (default: the process-wide cache).
    """

    def __init__(
        self,
        sample_rate: int,
        datasets: Sequence[PairData],
        preload: bool | str = "auto",
        num_workers: int = 2,
        limit_bytes: int = PRELOAD_LIMIT_BYTES,
        progress: bool | None = False,
        model: ClapModel | None = None,
        feature_cache: FeatureCache = FEATURE_CACHE,
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.where: dict[str, str] = {}  # path -> "frame row <label>" for messages
        for data in datasets:
            for path, row in zip(data.paths, data.rows, strict=True):
                self.where.setdefault(path, f"{data.name} row {row!r}")
        self.clips: dict[str, Tensor] = {}
        self.features: dict[str, Tensor] = {}
        self.feature_key: str | None = None
        self.feature_depth = 0
        if preload not in ("auto", True, False):
            raise ValueError(f"preload: expected 'auto', True or False, got {preload!r}")
        if preload == "auto":
            preload = self.estimated_bytes() <= limit_bytes
        self.preloaded = bool(preload)
        self._pool: ThreadPoolExecutor | None = thread_pool(max(1, int(num_workers)))
        depth = model.frozen_audio_depth() if model is not None else 0
        key = model.features_key(depth) if model is not None else None
        if self.preloaded and key is not None:
            self.feature_key, self.feature_depth = key, depth
            self.features = feature_cache.fill(
                key,
                list(self.where),
                self.checked,
                lambda clips: model.audio_features(clips, depth),
            )
            self.close()
        elif self.preloaded:
            self._preload(progress)

    def estimated_bytes(self) -> int:
        """Decoded float32 size of all clips, from the file headers."""
        total = 0
        for path in self.where:
            try:
                info = load_audio_info(path)
                total += int(math.ceil(info.duration * self.sample_rate)) * 4
            except AudioError:
                total += os.path.getsize(path) * 4 if os.path.isfile(path) else 0
        return total

    def decode(self, path: str) -> Tensor:
        """One clip, float32 (T,); an AudioError names the frame and row that use it."""
        try:
            wave = load_audio(path, self.sample_rate)
        except AudioError as err:
            raise type(err)(f"{self.where.get(path, 'audio')}: {err}") from err
        return torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))

    def checked(self, path: str) -> Tensor:
        """:meth:`decode`, then the model-input checks (:func:`humanclap.audio.as_clips`:
        not empty, finite), a failure naming the frame, row and file."""
        wave = self.decode(path)
        try:
            as_clips([wave])
        except ValueError as err:
            message = str(err).removeprefix("audio[0]: ")
            raise ValueError(f"{self.where.get(path, 'audio')}: {path}: {message}") from err
        return wave

    def _preload(self, progress: bool | None) -> None:
        paths = list(self.where)
        try:
            decoded = self._pool.map(self.decode, paths)
            bar = progress_bar(decoded, total=len(paths), progress=progress, desc="decoding audio")
            for path, clip in zip(paths, bar, strict=True):
                self.clips[path] = clip
        finally:
            self.close()

    def batches(
        self, path_batches: Sequence[Sequence[str]]
    ) -> Iterator[list[Tensor]] | Iterator[Tensor]:
        """What each batch's clips are in turn: a list of waveforms (the next batch decoded
        while one is in use), or with :attr:`feature_key` a (B, ...) tensor of features.
        Give each item to :meth:`embed`."""
        if self.feature_key is not None:
            return (torch.stack([self.features[p] for p in batch]) for batch in path_batches)
        if self.preloaded:
            return ([self.clips[p] for p in batch] for batch in path_batches)
        return prefetch(path_batches, self.decode, self._pool, ahead=1)

    def embed(self, model: ClapModel, item: list[Tensor] | Tensor) -> Tensor:
        """Audio embeddings (B, D) of one item of :meth:`batches`: ``model.embed_audio`` of the
        waveforms, or ``model.embed_audio_features`` of the features (on the model's
        device)."""
        if self.feature_key is None:
            return model.embed_audio(item)
        key = model.features_key(self.feature_depth)
        if key != self.feature_key:
            raise ValueError(
                f"ClipStore holds features of {self.feature_key!r}; the model gives {key!r} "
                f"(its front end or its first {self.feature_depth} audio blocks differ)"
            )
        return model.embed_audio_features(item.to(model.device), self.feature_depth)

    def close(self) -> None:
        """Stop the decoding threads (the store keeps serving preloaded clips)."""
        shutdown(self._pool)
        self._pool = None
