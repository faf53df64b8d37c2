"""Access to the ``laion_clap`` library (1.1.7) without its import-time traps.

``import laion_clap`` imports ``laion_clap.training.data``, which loads three tokenizers from the
Hugging Face hub (minutes of retries offline): :func:`clap_module` imports only its
``clap_module`` package (whose import makes no network request). laion_clap's ``create_model``
downloads roberta-base's weights: :func:`roberta_base_text_branch` makes it build the text
branch without them instead. (No ``$HF_HUB_OFFLINE`` is set here: huggingface_hub reads it once,
when imported, so setting it at run time would have no effect.) (Fusion models
need no torchaudio here: laion's mel front end is
:func:`humanclap.models.laion.preprocess.laion_mel`.)
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from torch import nn

from humanclap.models.laion.arch import roberta_base_config

__all__ = ["clap_module", "roberta_base_text_branch"]


def clap_module() -> Any:
    """Import laion_clap's ``clap_module`` package without running ``laion_clap/__init__``.

    ``import laion_clap`` imports ``laion_clap.training.data``, which loads three tokenizers
    from the Hugging Face hub (minutes of retries offline). ``clap_module`` alone does not;
    it is registered as the top-level ``clap_module`` exactly as laion_clap itself does, so a
    later ``import laion_clap`` shares it. Importing it makes no network request (checked by
    ``tests/test_laion.py`` with the network disabled).
    """
    if "clap_module" in sys.modules:
        return sys.modules["clap_module"]
    spec = importlib.util.find_spec("laion_clap")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the 'laion' backend needs laion_clap: pip install laion-clap==1.1.7 torchvision"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "clap_module"
    module_spec = importlib.util.spec_from_file_location(
        "clap_module", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"laion_clap is installed but {folder} is not importable")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["clap_module"] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop("clap_module", None)
        for name in [n for n in sys.modules if n.startswith("clap_module.")]:
            sys.modules.pop(name, None)
        raise
    return module


class _RobertaBaseOffline:
    """Stands in for ``RobertaModel`` in ``clap_module.model`` while a CLAP is built."""

    @staticmethod
    def from_pretrained(name: str, *args: Any, **kwargs: Any) -> nn.Module:
        from transformers import RobertaModel  # lazy: transformers takes seconds to import

        if name not in ("roberta-base", "FacebookAI/roberta-base"):
            raise ValueError(f"laion backend: only roberta-base text branches, got {name!r}")
        return RobertaModel(roberta_base_config())


@contextlib.contextmanager
def roberta_base_text_branch() -> Iterator[Any]:
    """Within the block, laion_clap builds its RoBERTa text branch offline (random weights).

    Replaces ``clap_module.model.RobertaModel`` by a stand-in whose ``from_pretrained`` builds
    ``RobertaModel(roberta_base_config())`` without any download; restored on exit. Yields the
    ``clap_module`` package.
    """
    cm = clap_module()
    model_module = sys.modules["clap_module.model"]
    original = model_module.RobertaModel
    model_module.RobertaModel = _RobertaBaseOffline
    try:
        yield cm
    finally:
        model_module.RobertaModel = original
