"""The validation embeddings of the model a run starts from, computed once per process.

Every run of a study starts from the same pre-trained weights, and each evaluates them on the
validation pairs before training (epoch 0 of its history). Those embeddings depend only on the
weights, the pairs (their files and captions), the precision and the batch size, not on the
recipe or the seed: :class:`StartEmbeddings` keeps them, so that the runs after the first read
them instead of embedding the validation pairs again. The loss of epoch 0 is still computed per
run (it depends on the recipe). Embedding runs in eval mode and uses no random numbers, so a
run that reads them trains exactly as one that computed them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from torch import Tensor

from humanclap.train.features import file_key
from humanclap.train.pairs import PairData

__all__ = ["START_EMBEDDINGS", "StartEmbeddings"]


class StartEmbeddings:
    """Least-recently-used ``(audio_emb, text_emb)`` of starting models, at most ``max_items``.

    Parameters
    ----------
    max_items : int
        Entries kept (one per starting model, pairs, precision and batch size).
    """

    def __init__(self, max_items: int = 8) -> None:
        if int(max_items) < 1:
            raise ValueError(f"max_items: expected an int >= 1, got {max_items!r}")
        self.max_items = int(max_items)
        self._items: OrderedDict[tuple, tuple[Tensor, Tensor]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    @staticmethod
    def key(
        weights: str, device: str, data: PairData, precision: str, batch_size: int
    ) -> tuple[object, ...]:
        """What the embeddings depend on: the weights (a model's ``fingerprint``), the device,
        the files (path, size, modification time) and captions of the pairs, the precision and
        the batch size."""
        files = tuple(file_key(path) for path in dict.fromkeys(data.paths))
        return (weights, str(device), files, tuple(data.paths), tuple(data.texts), precision,
                int(batch_size))  # fmt: skip

    def get(
        self,
        weights: str,
        device: str,
        data: PairData,
        precision: str,
        batch_size: int,
        embed: Callable[[], tuple[Tensor, Tensor]],
    ) -> tuple[Tensor, Tensor]:
        """The kept embeddings of the weights ``weights`` on ``data``, else ``embed()``'s, then
        kept.

        Parameters
        ----------
        weights : str
            The fingerprint of the weights the run starts from
            (:attr:`humanclap.models.ClapModel.fingerprint`; the model the run copies has it
            computed once for all its runs).
        device : str
            Where the embeddings are computed.
        data : PairData
        precision : str
            Resolved precision (``"fp32"``, ``"bf16"``, ``"fp16"``).
        batch_size : int
        embed : callable ``() -> (audio_emb, text_emb)``
            Computes them, each of shape (N, D).

        Returns
        -------
        audio_emb, text_emb : Tensor, shape (N, D)
            Copies: a caller may change them.
        """
        key = self.key(weights, device, data, precision, batch_size)
        found = self._items.get(key)
        if found is None:
            audio_emb, text_emb = embed()
            found = (audio_emb.detach().clone(), text_emb.detach().clone())
            self._items[key] = found
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        self._items.move_to_end(key)
        return found[0].clone(), found[1].clone()

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()


#: The process-wide store that :func:`humanclap.train.finetune` reads at epoch 0.
START_EMBEDDINGS = StartEmbeddings()
