"""The interface every CLAP backend implements: :class:`ClapModel`.

A backend (:mod:`~humanclap.models.tiny`, :mod:`~humanclap.models.laion` for LAION-CLAP,
:mod:`~humanclap.models.hf` for transformers' ``ClapModel``) subclasses :class:`ClapModel` and
provides

- the attributes ``sample_rate``, ``max_seconds``, ``embed_dim`` and ``spec``, and what it
  does with a clip longer than ``max_seconds`` (``long_clips``: ``"first window"`` or
  ``"fusion"``, see :data:`humanclap.audio.LONG_CLIPS`);
- the caption limit ``max_text_tokens`` and :meth:`ClapModel.count_tokens`, so that a caption
  the text encoder cuts can be flagged;
- :meth:`ClapModel.embed_audio` and :meth:`ClapModel.embed_text` (L2-normalised, differentiable;
  inputs checked with :func:`humanclap.audio.as_clips` and :func:`as_texts`, so every backend
  refuses the same bad batches);
- :attr:`ClapModel.logit_scale` (the exp'd temperature, from a learnable log-parameter);
- :attr:`ClapModel.config` (a dict of primitives that rebuilds the architecture) and the
  class method :meth:`ClapModel.from_config`;
- :meth:`ClapModel.tower_blocks` (each encoder's blocks, input side first) and
  :meth:`ClapModel.head_parameters` (projections and logit scale), from which the base class
  derives :meth:`ClapModel.trainable_parameters` (which parameters a fine-tuning may update).

The base class supplies :attr:`ClapModel.fingerprint` (a hash of backend, architecture config
and weights, a cache key for embeddings) and :meth:`ClapModel.save` (an atomic checkpoint that
``torch.load(path, weights_only=True)`` reads, see :mod:`humanclap.models.checkpoint`;
:func:`humanclap.models.load` reads it back).
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from humanclap.audio import as_clips, pad_or_crop
from humanclap.models.checkpoint import checkpoint_dict, save_checkpoint
from humanclap.utils import stable_hash

__all__ = [
    "ClapModel",
    "as_clips",
    "as_texts",
    "pad_or_crop",
    "random_seed",
    "stable_hash",
]


def as_texts(texts: Sequence[str]) -> list[str]:
    """A non-empty sequence of captions as a list of str (a lone str is refused, not split)."""
    if isinstance(texts, str):
        raise TypeError("texts: expected a sequence of strings, got a single str")
    texts = list(texts)
    if not texts:
        raise ValueError("texts: empty batch")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}]: expected str, got {type(text).__name__}")
    return texts


def random_seed(
    spec: str,
    parts: list[str],
    kwargs: dict[str, Any],
    error: Callable[[str], Exception] = ValueError,
) -> int | None:
    """The seed of a ``"<backend>:random[:<seed>]"`` spec, or of a ``seed=`` keyword.

    Parameters
    ----------
    spec : str
        The whole spec, for messages.
    parts : list of str
        ``spec`` after the backend prefix, split on ``":"`` (``["random"]`` or
        ``["random", "<seed>"]``).
    kwargs : dict
        The builder's keyword arguments; ``seed`` is popped from it.
    error : callable ``(message) -> Exception``
        What to raise for a malformed spec (e.g. the backend's own ``ValueError`` subclass).

    Returns
    -------
    int or None
        None when neither the spec nor ``seed=`` gives one.
    """
    seed = kwargs.pop("seed", None)
    if len(parts) > 2:
        prefix = spec.split(":", 1)[0]
        raise error(f"expected '{prefix}:random' or '{prefix}:random:<seed>'")
    if len(parts) == 2:
        if seed is not None:
            raise TypeError(f"spec {spec!r} already gives a seed; do not pass seed=")
        try:
            seed = int(parts[1])
        except ValueError:
            raise error(f"seed {parts[1]!r} is not an integer") from None
    return None if seed is None else int(seed)


def _parse_trainable(trainable: str) -> tuple[str, int | None]:
    """``"all"`` -> ("last", None), ``"projections"`` -> ("last", 0), ``"last:<n>"`` ->
    ("last", n), ``"freeze-audio:<k>"`` -> ("freeze-audio", k)."""
    if trainable == "all":
        return "last", None
    if trainable == "projections":
        return "last", 0
    for prefix in ("last", "freeze-audio"):
        if isinstance(trainable, str) and trainable.startswith(prefix + ":"):
            try:
                n = int(trainable[len(prefix) + 1 :])
            except ValueError:
                n = -1
            if n >= 0:
                return prefix, n
    raise ValueError(
        "trainable: expected 'all', 'projections', 'last:<n>' or 'freeze-audio:<k>' "
        f"(n, k >= 0), got {trainable!r}"
    )


class ClapModel(nn.Module, ABC):
    """A CLAP dual encoder: audio and text into one L2-normalised embedding space.

    Attributes
    ----------
    backend : str (class attribute)
        The spec prefix of the backend (``"tiny"``, ``"laion"``, ``"hf"``).
    spec : str
        How the model was obtained (e.g. ``"tiny"``, ``"tiny:random"``); kept by
        :meth:`save` so :func:`humanclap.models.load` can dispatch on it.
    sample_rate : int
        Rate (Hz) of the waveforms :meth:`embed_audio` expects.
    max_seconds : float
        Length each clip is padded or cropped to (how: see the backend).
    embed_dim : int
        ``D``, the size of the shared embedding space.
    long_clips : {"first window", "fusion"} or None
        What :meth:`embed_audio` does with a clip longer than :attr:`max_seconds`: embed its
        first window only, or see all of it through LAION-CLAP's fusion; None: not said.
    max_text_tokens : int or None
        Captions are cut to this many tokens (special tokens included); None: no limit known.
    """

    backend: ClassVar[str] = ""
    spec: str
    sample_rate: int
    max_seconds: float
    embed_dim: int
    long_clips: str | None = None
    max_text_tokens: int | None = None

    def __init__(self, spec: str) -> None:
        super().__init__()
        self.spec = spec
        self._fingerprint_cache: tuple[tuple, str] | None = None
        self._features_key_cache: tuple[tuple, str] | None = None

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def embed_audio(self, audio: Tensor | Sequence[Tensor]) -> Tensor:
        """Embed waveforms.

        Parameters
        ----------
        audio : Tensor, shape (B, T), float32, at :attr:`sample_rate`; or a sequence of B
            tensors of shape (T_i,) when the clips differ in length (a (B, T) tensor is taken as
            B clips of T samples each: do not zero-pad a batch yourself).

        Returns
        -------
        Tensor, shape (B, D), L2-normalised rows. Differentiable (no ``inference_mode``
        inside); wrap calls in ``torch.no_grad()`` when only evaluating.
        """

    @abstractmethod
    def embed_text(self, texts: Sequence[str]) -> Tensor:
        """Embed captions: a list of B strings -> Tensor (B, D), L2-normalised, differentiable."""

    @property
    @abstractmethod
    def logit_scale(self) -> Tensor:
        """Scalar tensor ``s = exp(log_s)`` multiplying cosines into logits (CLIP/CLAP style)."""

    @property
    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Primitive-typed dict that :meth:`from_config` turns back into the architecture.

        Must contain ``"arch"`` (everything the embeddings depend on besides the weights); may
        contain ``"provenance"`` (how the weights were made; not part of the fingerprint).
        """

    @classmethod
    @abstractmethod
    def from_config(cls, spec: str, config: dict[str, Any]) -> ClapModel:
        """Build an (untrained) model with the architecture in ``config``."""

    @abstractmethod
    def tower_blocks(self) -> dict[str, list[nn.Module]]:
        """Each encoder's blocks, input side first, e.g. ``{"audio": [...], "text": [...]}``.

        ``trainable_parameters("last:<n>")`` unfreezes the last ``n`` of each list.
        """

    @abstractmethod
    def head_parameters(self) -> list[nn.Parameter]:
        """Parameters of the projection heads and the logit scale (always trainable)."""

    # ------------------------------------------------------------------ optional
    @property
    def audio_features_key(self) -> str | None:
        """Identity of a fixed audio front end (no parameters, the same in train and eval
        mode), or None when the model has none that can be computed ahead (the default).

        A model with one implements :meth:`audio_features` and :meth:`embed_audio_features`,
        so that ``embed_audio(x) == embed_audio_features(audio_features(x))``; trainers then
        compute each clip's features once and reuse them across epochs and runs (the key
        says which features can be shared: equal keys, equal features).
        """
        return None

    #: Leading audio blocks (``tower_blocks()["audio"]``) that :meth:`audio_features` can run
    #: ahead when they are frozen: blocks that are the same in train and eval mode and draw no
    #: random numbers (0: the fixed front end only).
    max_feature_depth: int = 0

    def audio_features(self, audio: Tensor | Sequence[Tensor], depth: int = 0) -> Tensor:
        """Waveforms (as for :meth:`embed_audio`) -> the fixed front end's output, shape
        (B, ...): checks, padding or cropping and the transform, then the first ``depth``
        audio blocks (``depth <= max_feature_depth``)."""
        raise NotImplementedError(f"{type(self).__name__} has no fixed audio front end")

    def embed_audio_features(self, features: Tensor, depth: int = 0) -> Tensor:
        """Features (B, ...) from :meth:`audio_features` with the same ``depth`` -> embeddings
        (B, D), L2-normalised and differentiable, as :meth:`embed_audio`."""
        raise NotImplementedError(f"{type(self).__name__} has no fixed audio front end")

    def frozen_audio_depth(self) -> int:
        """How many leading audio blocks have no parameter that requires a gradient, at most
        :attr:`max_feature_depth` (0 without a fixed front end): the ``depth`` of the features
        a trainer can compute once per clip."""
        if self.audio_features_key is None:
            return 0
        blocks = self.tower_blocks()["audio"][: self.max_feature_depth]
        trains = [any(p.requires_grad for p in b.parameters()) for b in blocks] + [True]
        return trains.index(True)  # the first block that trains (or the end)

    def features_key(self, depth: int = 0) -> str | None:
        """Identity of :meth:`audio_features` at ``depth``: :attr:`audio_features_key`, and
        for ``depth > 0`` the depth and a sha256 of those blocks' weights (equal keys, equal
        features)."""
        key = self.audio_features_key
        if key is None or depth == 0:
            return key
        if not 0 < depth <= self.max_feature_depth:
            raise ValueError(f"depth: expected 0..{self.max_feature_depth}, got {depth!r}")
        tensors = [(n, t) for b in self.tower_blocks()["audio"][:depth]
                   for n, t in b.state_dict().items()]  # fmt: skip
        versions = (depth, *((t.data_ptr(), getattr(t, "_version", None)) for _, t in tensors))
        if self._features_key_cache is None or self._features_key_cache[0] != versions:
            digest = hashlib.sha256()
            for name, tensor in tensors:
                t = tensor.detach().to("cpu").contiguous().reshape(-1)
                digest.update(f"{name}|{t.dtype}|{t.numel()}|".encode())
                digest.update(t.view(torch.uint8).numpy().tobytes())
            self._features_key_cache = (versions, digest.hexdigest()[:16])
        return f"{key}|audio-blocks:{depth}:{self._features_key_cache[1]}"

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each caption before it is cut to :attr:`max_text_tokens` (special tokens
        included, so ``count > max_text_tokens`` means the encoder sees a cut caption).

        Parameters
        ----------
        texts : sequence of B str

        Returns
        -------
        list of B int

        Raises
        ------
        NotImplementedError
            The backend states no caption limit (:attr:`max_text_tokens` is None).
        """
        raise NotImplementedError(f"{type(self).__name__} does not count caption tokens")

    # ------------------------------------------------------------------ provided
    @classmethod
    def from_checkpoint(
        cls, spec: str, config: dict[str, Any], state_dict: dict[str, Tensor]
    ) -> ClapModel:
        """Rebuild a saved model: :meth:`from_config` then a strict ``load_state_dict``."""
        model = cls.from_config(spec, config)
        model.load_state_dict(state_dict, strict=True)
        return model

    def trainable_parameters(self, trainable: str = "all") -> list[nn.Parameter]:
        """Choose what fine-tuning updates; sets ``requires_grad`` on every parameter.

        Parameters
        ----------
        trainable : {"all", "projections", "last:<n>", "freeze-audio:<k>"}
            ``"all"``: every parameter. ``"projections"``: the projection heads and the logit
            scale (:meth:`head_parameters`). ``"last:<n>"``: those plus the last ``n`` blocks of
            each encoder tower (:meth:`tower_blocks`; a tower with fewer than ``n`` blocks is
            unfrozen entirely). ``"last:0"`` equals ``"projections"``. ``"freeze-audio:<k>"``:
            every parameter but those of the audio tower's first ``k`` blocks (a trainer can
            then compute their output once per clip: :meth:`frozen_audio_depth`);
            ``"freeze-audio:0"`` equals ``"all"``.

        Returns
        -------
        list of Parameter
            The parameters left with ``requires_grad=True``, in ``self.parameters()`` order.
        """
        kind, n = _parse_trainable(trainable)
        if kind == "freeze-audio":
            frozen = {id(p) for b in self.tower_blocks()["audio"][:n] for p in b.parameters()}
            chosen = {id(p) for p in self.parameters()} - frozen
        elif n is None:
            chosen = {id(p) for p in self.parameters()}
        else:
            chosen = {id(p) for p in self.head_parameters()}
            for blocks in self.tower_blocks().values():
                for block in blocks[len(blocks) - min(n, len(blocks)) :]:
                    chosen.update(id(p) for p in block.parameters())
        out = []
        for p in self.parameters():
            p.requires_grad_(id(p) in chosen)
            if id(p) in chosen:
                out.append(p)
        return out

    @property
    def device(self) -> torch.device:
        """Device of the first parameter (CPU for a model without parameters)."""
        first = next(self.parameters(), None)
        return first.device if first is not None else torch.device("cpu")

    def weights_digest(self) -> str:
        """sha256 over the ``state_dict`` (names, dtypes, shapes, bytes), hex."""
        digest = hashlib.sha256()
        for name, tensor in sorted(self.state_dict().items()):
            t = tensor.detach().to("cpu").contiguous()
            digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
            t = t.reshape(-1)
            digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        return digest.hexdigest()

    @property
    def fingerprint(self) -> str:
        """Stable 16-hex-digit id of (backend, ``config["arch"]``, weights).

        Two models give the same fingerprint iff they compute the same embeddings (same
        architecture and bit-identical weights), wherever they run. Recomputed when any tensor
        in the ``state_dict`` changes (tracked through torch's in-place version counters, so an
        optimiser step or ``load_state_dict`` invalidates it).
        """
        state = self.state_dict()
        key = tuple(
            (name, t.data_ptr(), getattr(t, "_version", None), t.dtype, tuple(t.shape))
            for name, t in sorted(state.items())
        )
        if self._fingerprint_cache is not None and self._fingerprint_cache[0] == key:
            return self._fingerprint_cache[1]
        value = stable_hash(
            {"backend": self.backend, "arch": self.config["arch"], "weights": self.weights_digest()}
        )
        self._fingerprint_cache = (key, value)
        return value

    def checkpoint(self) -> dict[str, Any]:
        """``{"spec", "config", "state_dict"}`` with CPU tensors and primitive types only
        (:func:`humanclap.models.checkpoint.checkpoint_dict`)."""
        return checkpoint_dict(self.spec, self.config, self.state_dict())

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`checkpoint` to ``path`` atomically; readable with ``weights_only=True``."""
        return save_checkpoint(self.checkpoint(), path)

    def extra_repr(self) -> str:
        return (
            f"spec={self.spec!r}, sample_rate={self.sample_rate}, "
            f"max_seconds={self.max_seconds}, embed_dim={self.embed_dim}"
        )
