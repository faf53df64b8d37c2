"""humanclap: how far does CLAPScore agree with people?

The library is six layers (see ARCHITECTURE.md); import the module you need, e.g.
``from humanclap import score``:

1. :mod:`humanclap.utils` -- cache folders, the offline switch, atomic writes, hashing,
   checksummed downloads, progress bars.
2. :mod:`humanclap.audio` (decoding, checks, clips, the wavname -> file rule),
   :mod:`humanclap.similarity` (the cosine), :mod:`humanclap.losses` (SCE, wSCE, MAE, MSE),
   :mod:`humanclap.stats` (agreement with bootstrap CIs, reliability, noise ceiling, mixed
   models), :mod:`humanclap.plots` (the book's figures).
3. :mod:`humanclap.data` (RELATE, categories, pair tables, the embedded simulated world,
   ``resolve_dataset``) and :mod:`humanclap.models` (CLAP models behind one interface:
   ``load("tiny")``, ``load("laion:630k-audioset-best")``, ``load("hf:<repo>")``).
4. :mod:`humanclap.runtime` (precision, autocast, prefetching), :mod:`humanclap.embed`
   (batched, deduplicated, cached embeddings) and :mod:`humanclap.train` (Human-CLAP
   fine-tuning, the tiny CLAP's pre-training).
5. :mod:`humanclap.score` (CLAPScore: ``clapscore``, ``score_pairs``, the score column named
   after its model, prompts files, set-level summaries; ``CLAPScore``, a ``torchmetrics.Metric``
   for evaluation loops, also ``humanclap.CLAPScore``), :mod:`humanclap.agree`
   (any metric's predictions against RELATE's listeners, ``humanclap agree``) and
   :mod:`humanclap.pretrained` (the world's pre-trained tiny CLAP behind ``load("tiny")``).
6. :mod:`humanclap.book` (chapter setup, shared analyses, the papermill runner) and
   :mod:`humanclap.cli` (the ``humanclap`` command: ``run-notebooks``, ``score``, ``agree``,
   ``models``, ``relate-audio``, ``relate-plan``).
"""

import importlib
from typing import Any

__version__ = "0.1.0"

#: The public API: the library's modules, one concern each (ARCHITECTURE.md lists what each
#: holds). ``import humanclap`` imports none of them; each loads on first use
#: (``humanclap.stats``), so the command line and ``humanclap.data`` do not pay for torch.
__all__ = [
    "__version__",
    "agree",
    "audio",
    "book",
    "cli",
    "data",
    "embed",
    "losses",
    "models",
    "plots",
    "pretrained",
    "runtime",
    "score",
    "similarity",
    "stats",
    "train",
    "utils",
]


#: Names of a module offered at the top too, loaded on first use like the modules:
#: ``humanclap.CLAPScore`` is :class:`humanclap.score.CLAPScore` (the torchmetrics metric).
_SHORTCUTS = {"CLAPScore": "score"}


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _SHORTCUTS:
        return getattr(importlib.import_module(f"{__name__}.{_SHORTCUTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SHORTCUTS))
