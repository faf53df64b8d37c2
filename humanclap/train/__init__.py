"""Training: Human-CLAP fine-tuning of any CLAP model, and the tiny CLAP's pre-training.

- :mod:`humanclap.train.finetune` -- :func:`finetune`, the orchestrator of a run.
- :mod:`humanclap.train.recipe` -- :class:`Recipe`, how a run trains (loss, lr, epochs...).
- :mod:`humanclap.train.parallel` -- :func:`finetune_many`, many runs in parallel processes.
- :mod:`humanclap.train.executor` -- :func:`make_executor`, :func:`executor_from_environ`: where
  a study's runs train by name (the pool, submitit's local processes, SLURM).
- :mod:`humanclap.train.jobs` -- a study's runs as submitit jobs (resumed after preemption).
- :mod:`humanclap.train.plan` -- a run's folder and whether it is finished, before it trains.
- :mod:`humanclap.train.pairs` -- validating a pairs table (:func:`prepare_pairs`).
- :mod:`humanclap.train.clips` -- the decoded clips of a run (preloaded or prefetched).
- :mod:`humanclap.train.loop` -- batches, AdamW groups, warm-up + cosine, one epoch of steps.
- :mod:`humanclap.train.run` -- a run's mutable state and :class:`FinetuneResult`.
- :mod:`humanclap.train.state` -- RNG states and the run folder (resume).
- :mod:`humanclap.train.evaluate` -- :func:`evaluate`, :func:`cosine_scores` (validation).
- :mod:`humanclap.train.start` -- the starting model's validation embeddings, shared by runs.
- :mod:`humanclap.train.pretrain` -- the tiny CLAP's contrastive pre-training on a world.
"""

from humanclap.train.evaluate import cosine_scores, evaluate
from humanclap.train.executor import executor_from_environ, make_executor
from humanclap.train.finetune import finetune
from humanclap.train.jobs import submit_runs
from humanclap.train.pairs import PairData, prepare_pairs
from humanclap.train.parallel import finetune_many
from humanclap.train.recipe import Recipe
from humanclap.train.run import FinetuneResult
from humanclap.train.state import HISTORY_COLUMNS, STATE_VERSION

__all__ = [
    "HISTORY_COLUMNS",
    "STATE_VERSION",
    "FinetuneResult",
    "PairData",
    "Recipe",
    "cosine_scores",
    "evaluate",
    "executor_from_environ",
    "finetune",
    "finetune_many",
    "make_executor",
    "prepare_pairs",
    "submit_runs",
]
