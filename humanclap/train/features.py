"""Audio front-end features computed once and shared by every run of a process.

A model whose audio front end is fixed (no parameters, the same in train and eval mode: the
tiny CLAP's log-mel, :attr:`humanclap.models.ClapModel.audio_features_key`) gives the same
features for a clip in every epoch of every run. :class:`FeatureCache` keeps them, keyed by the
front end's identity and the file (path, size, modification time), within a memory budget, so
that a study of many recipes and seeds decodes and transforms each clip once.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = ["FEATURE_CACHE", "FeatureCache", "file_key"]

#: Bytes of features the process-wide cache keeps before dropping the least recently used.
DEFAULT_LIMIT_BYTES = 1024**3


def file_key(path: str) -> tuple[str, int, int]:
    """``(real path, size, modification time in ns)``: a changed file gets a new key."""
    stat = os.stat(path)
    return os.path.realpath(path), stat.st_size, stat.st_mtime_ns


class FeatureCache:
    """Least-recently-used features by (front end, file), within ``limit_bytes``.

    Parameters
    ----------
    limit_bytes : int
        Memory budget of the kept tensors.
    """

    def __init__(self, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self.limit_bytes = int(limit_bytes)
        self._items: OrderedDict[tuple, Tensor] = OrderedDict()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, front_end: str, path: str) -> Tensor | None:
        """The cached features of ``path`` for ``front_end``, or None."""
        key = (front_end, *file_key(path))
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, front_end: str, path: str, features: Tensor) -> None:
        """Keep ``features`` (a CPU tensor), dropping the oldest entries beyond the budget."""
        key = (front_end, *file_key(path))
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old.nbytes
        self._items[key] = features
        self.nbytes += features.nbytes
        while self.nbytes > self.limit_bytes and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self.nbytes -= dropped.nbytes

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()
        self.nbytes = 0

    def fill(
        self,
        front_end: str,
        paths: Sequence[str],
        decode: Callable[[str], Tensor],
        transform: Callable[[list[Tensor]], Tensor],
        batch_size: int = 32,
    ) -> dict[str, Tensor]:
        """Features of every path: cached ones read, the others decoded and transformed in
        batches (under ``torch.no_grad``) and cached.

        Parameters
        ----------
        front_end : str
            The front end's identity (``model.audio_features_key``).
        paths : sequence of str
        decode : callable ``path -> Tensor (T,)``
            The waveform at the model's rate.
        transform : callable ``list of B waveforms -> Tensor (B, ...)``
            The front end (``model.audio_features``).
        batch_size : int

        Returns
        -------
        dict
            ``{path: Tensor (...)}`` on the CPU.
        """
        out: dict[str, Tensor] = {}
        missing = []
        for path in dict.fromkeys(paths):
            found = self.get(front_end, path)
            if found is None:
                missing.append(path)
            else:
                out[path] = found
        with torch.no_grad():
            for i in range(0, len(missing), batch_size):
                chunk = missing[i : i + batch_size]
                features = transform([decode(p) for p in chunk]).detach().float().cpu()
                for path, item in zip(chunk, features, strict=True):
                    item = item.clone()  # own storage: the cache counts its bytes
                    self.put(front_end, path, item)
                    out[path] = item
        return out


#: The process-wide cache that :class:`humanclap.train.clips.ClipStore` uses.
FEATURE_CACHE = FeatureCache()
