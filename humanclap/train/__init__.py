"""Training: Human-CLAP fine-tuning of any CLAP model, and the tiny CLAP's pre-training.

- :mod:`humanclap.train.finetune` -- :func:`finetune`, :func:`evaluate`, :func:`cosine_scores`.
- :mod:`humanclap.train.pretrain` -- the tiny CLAP's contrastive pre-training on a world.
"""

from humanclap.train.finetune import (
    HISTORY_COLUMNS,
    STATE_VERSION,
    FinetuneResult,
    PairData,
    cosine_scores,
    evaluate,
    finetune,
    prepare_pairs,
)

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
