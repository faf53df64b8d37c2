"""CLAP models behind one interface (:class:`ClapModel`), loaded by spec with :func:`load`.

Specs
-----
``"tiny"``
    The tiny CLAP pre-trained on the embedded synthetic world (trained on first use, then
    cached; ``load("tiny", world=root)`` names another world). The architecture is
    :mod:`humanclap.models.tiny`; the pre-trained model comes from :mod:`humanclap.pretrained`
    (the ``humanclap.pretrained`` entry point ``tiny``, see :func:`pretrained_builder`).
``"tiny:random"`` / ``"tiny:random:<seed>"``
    The same architecture, untrained, initialised deterministically from ``seed`` (default 0,
    or ``load("tiny:random", seed=3)``).
``"laion:<name>"``, ``"laion:random[:<seed>]"``, ``"laion:<path>"``
    LAION-CLAP (laion_clap 1.1.7): released checkpoints, random weights, checkpoint files. See
    :mod:`humanclap.models.laion`.
``"hf:<repo id>"``, ``"hf:<folder>"``, ``"hf:random"`` / ``"hf:random:<seed>"``
    transformers' ``ClapModel`` (e.g. the Human-CLAP fine-tunes ``sarulab-speech/human-clap-*``),
    ``save_pretrained`` folders, or random weights. See :mod:`humanclap.models.hf`.
a path (``str`` or :class:`~pathlib.Path`) to a file written by :meth:`ClapModel.save`
    Any backend: the saved ``spec`` says which one rebuilds it. A file in LAION-CLAP's own
    checkpoint format loads as a ``"laion"`` model.

Modules
-------
- :mod:`~humanclap.models.base` -- the interface, :class:`ClapModel`.
- :mod:`~humanclap.models.checkpoint` -- what :meth:`ClapModel.save` writes; the safe reader.
- :mod:`~humanclap.models.registry` -- :func:`load`, :func:`load_checkpoint`, the backend and
  pre-trained registries (:func:`register_backend`, :func:`register_pretrained`).
- :mod:`~humanclap.models.backends` -- where the three backends register themselves.
- :mod:`~humanclap.models.tiny` (with :mod:`~humanclap.models.frontend`, its log-mel),
  :mod:`~humanclap.models.laion`, :mod:`~humanclap.models.hf` -- the backends;
  :mod:`~humanclap.models.tokenizer` finds roberta-base's tokenizer for the last two.

A model knows nothing of how it is trained or evaluated: this package imports only
:mod:`humanclap.utils`, :mod:`humanclap.audio` and :mod:`humanclap.similarity` of humanclap.
Importing it is cheap: laion_clap and transformers are imported only when a model is built.
"""

from __future__ import annotations

from humanclap.models import backends as _backends  # noqa: F401 (registers the backends)
from humanclap.models.base import ClapModel, pad_or_crop, stable_hash
from humanclap.models.checkpoint import UnsafeCheckpointError
from humanclap.models.registry import (
    BACKENDS,
    PRETRAINED,
    PRETRAINED_GROUP,
    Backend,
    load,
    load_checkpoint,
    pretrained_builder,
    register_backend,
    register_pretrained,
    valid_spec_forms,
)

__all__ = [
    "BACKENDS",
    "PRETRAINED",
    "PRETRAINED_GROUP",
    "Backend",
    "ClapModel",
    "UnsafeCheckpointError",
    "load",
    "load_checkpoint",
    "pad_or_crop",
    "pretrained_builder",
    "register_backend",
    "register_pretrained",
    "stable_hash",
    "valid_spec_forms",
]
