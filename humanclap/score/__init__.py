"""CLAPScore: the cosine between a caption's and a clip's CLAP embeddings, for many pairs.

Layer 5 (beside :mod:`humanclap.agree`). Modules:

- :mod:`humanclap.score.pairs` -- :func:`clapscore` scores aligned lists of captions and clips;
  :func:`score_pairs` scores a table (one pair per row) and keeps every row, adding the score
  column, the model's spec and fingerprint, ``error`` and ``warning``: what ``humanclap score``
  writes. Loads torch (through :mod:`humanclap.embed`).
- :mod:`humanclap.score.columns` -- :func:`score_column`: the score column is named after the
  model (``clapscore_<slug of the spec>``).
- :mod:`humanclap.score.csvfile` -- :func:`read_pairs_csv` (and :func:`read_csv_rows`): a CSV
  as written, with the line each row starts on.
- :mod:`humanclap.score.prompts` -- :func:`read_prompts` (a prompts file keyed by clip: CSV,
  TSV or JSON) and :func:`match_prompts` (a folder of clips against it), as
  stable-audio-metrics and frechet-audio-distance take them.
- :mod:`humanclap.score.summary` -- :func:`score_summary`: n, the mean with a bootstrap CI
  (captions resampled), failures by kind.
- :mod:`humanclap.score.systems` -- :func:`system_summary`: each system's set-level n, mean
  with a caption-resampled CI and median (systems by column or by folder).
- :mod:`humanclap.score.comparison` -- :func:`compare_systems`: two systems on the same prompts
  (paired mean difference with a CI, win rate, sign test).
- :mod:`humanclap.score.merge` -- :func:`merge_model_scores`: several models' scores in one table.
- :mod:`humanclap.score.metric` -- :class:`CLAPScore`, a ``torchmetrics.Metric`` for evaluation
  loops (DDP, Lightning): waveforms and prompts batch by batch, the mean (and each pair's
  score) over every process. Loads torch and torchmetrics.
- :mod:`humanclap.score.functional` -- :func:`clap_score`, its functional form (torchmetrics
  style), and the steps both share (resampling a batch, then :func:`clapscore`).

Only :mod:`~humanclap.score.pairs`, :mod:`~humanclap.score.metric` and
:mod:`~humanclap.score.functional` load torch, on first use of their names
(``from humanclap.score import clapscore``), so reading and checking files does not.
"""

from __future__ import annotations

import importlib
from typing import Any

from humanclap.score.columns import (
    AUDIO_COLUMN,
    MODEL_COLUMNS,
    SCORE_PREFIX,
    TEXT_COLUMN,
    score_column,
    score_columns_of,
)
from humanclap.score.csvfile import read_csv_rows, read_pairs_csv
from humanclap.score.prompts import AUDIO_SUFFIXES, PromptError, match_prompts, read_prompts

#: Names of the modules that load pandas, scipy, torch or torchmetrics, loaded on first use.
_LAZY = {
    "CLAPScore": "metric",
    "clap_score": "functional",
    "ScoreInfo": "pairs",
    "clapscore": "pairs",
    "score_pairs": "pairs",
    "score_summary": "summary",
    "ScoreTableError": "systems",
    "system_summary": "systems",
    "SystemComparison": "comparison",
    "compare_systems": "comparison",
    "merge_model_scores": "merge",
}

__all__ = [
    "AUDIO_COLUMN",
    "AUDIO_SUFFIXES",
    "MODEL_COLUMNS",
    "SCORE_PREFIX",
    "TEXT_COLUMN",
    "CLAPScore",
    "PromptError",
    "ScoreInfo",
    "ScoreTableError",
    "SystemComparison",
    "clap_score",
    "clapscore",
    "compare_systems",
    "match_prompts",
    "merge_model_scores",
    "read_csv_rows",
    "read_pairs_csv",
    "read_prompts",
    "score_column",
    "score_columns_of",
    "score_pairs",
    "score_summary",
    "system_summary",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
