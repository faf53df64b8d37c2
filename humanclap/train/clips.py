"""The decoded clips a trainer needs, by path: all decoded up front when they fit in memory,
else decoded batch by batch by threads, one batch ahead (:func:`humanclap.runtime.prefetch`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import Tensor

from humanclap.audio import AudioError, load_audio, load_audio_info
from humanclap.runtime import prefetch, shutdown, thread_pool
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
    """

    def __init__(
        self,
        sample_rate: int,
        datasets: Sequence[PairData],
        preload: bool | str = "auto",
        num_workers: int = 2,
        limit_bytes: int = PRELOAD_LIMIT_BYTES,
        progress: bool | None = False,
    ) -> None:
        self.sample_rate = int(sample_rate)
        self.where: dict[str, str] = {}  # path -> "frame row <label>" for messages
        for data in datasets:
            for path, row in zip(data.paths, data.rows, strict=True):
                self.where.setdefault(path, f"{data.name} row {row!r}")
        self.clips: dict[str, Tensor] = {}
        if preload not in ("auto", True, False):
            raise ValueError(f"preload: expected 'auto', True or False, got {preload!r}")
        if preload == "auto":
            preload = self.estimated_bytes() <= limit_bytes
        self.preloaded = bool(preload)
        self._pool: ThreadPoolExecutor | None = thread_pool(max(1, int(num_workers)))
        if self.preloaded:
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

    def _preload(self, progress: bool | None) -> None:
        paths = list(self.where)
        try:
            decoded = self._pool.map(self.decode, paths)
            bar = progress_bar(decoded, total=len(paths), progress=progress, desc="decoding audio")
            for path, clip in zip(paths, bar, strict=True):
                self.clips[path] = clip
        finally:
            self.close()

    def batches(self, path_batches: Sequence[Sequence[str]]) -> Iterator[list[Tensor]]:
        """The clips of each batch in turn (the next batch decoded while one is in use)."""
        if self.preloaded:
            return ([self.clips[p] for p in batch] for batch in path_batches)
        return prefetch(path_batches, self.decode, self._pool, ahead=1)

    def close(self) -> None:
        """Stop the decoding threads (the store keeps serving preloaded clips)."""
        shutdown(self._pool)
        self._pool = None
