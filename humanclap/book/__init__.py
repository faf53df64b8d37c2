"""Layer 6, the book's helpers: what the notebooks call besides the library's analysis.

- :mod:`humanclap.book.chapter` -- :func:`open_chapter`: a chapter's parameters, data, model.
- :mod:`humanclap.book.banner` -- the box every chapter opens with.
- :mod:`humanclap.book.analyses` -- analyses several chapters share (fine-tuning recipes over
  seeds and scoring the test pairs, released models).
- :mod:`humanclap.book.headlines` -- headline numbers recorded in the chapters' outputs, read
  back for the results page and the README.
- :mod:`humanclap.book.results` -- result tables of heavy (GPU) runs that chapters read.
- :mod:`humanclap.book.relate_run` -- the plan and GPU-time estimate of ``make relate``.
- :mod:`humanclap.book.runner` -- runs the book's notebooks with papermill.
"""

from humanclap.book.analyses import (
    finetune_runs,
    released_scores,
    runs_table,
    split_pairs,
    test_scores,
)
from humanclap.book.banner import banner
from humanclap.book.chapter import Chapter, chapter_parameters, describe_model, open_chapter
from humanclap.book.headlines import Headline, collect_headlines
from humanclap.book.results import (
    PAIR_KEY,
    ResultTables,
    provenance,
    run_histories,
    run_summary,
    score_table,
    scores_from_table,
    scores_table,
)

__all__ = [
    "PAIR_KEY",
    "Chapter",
    "Headline",
    "ResultTables",
    "banner",
    "chapter_parameters",
    "collect_headlines",
    "describe_model",
    "finetune_runs",
    "open_chapter",
    "provenance",
    "released_scores",
    "run_histories",
    "run_summary",
    "runs_table",
    "score_table",
    "scores_from_table",
    "scores_table",
    "split_pairs",
    "test_scores",
]
