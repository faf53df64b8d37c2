"""Layer 6, the book's helpers: what the notebooks call besides the library's analysis.

- :mod:`humanclap.book.chapter` -- :func:`open_chapter`: a chapter's parameters, data, model.
- :mod:`humanclap.book.banner` -- the box every chapter opens with.
- :mod:`humanclap.book.figures` -- a chapter's figures: numbered ("Figure 2.3"), captioned,
  with alt text, as an HTML ``<figure>`` (``Chapter.figure``).
- :mod:`humanclap.book.analyses` -- analyses several chapters share (fine-tuning recipes over
  seeds and scoring the test pairs, released models).
- :mod:`humanclap.book.study` -- the fine-tuning study's design: learning rate and λ chosen on
  validation with a tie rule.
- :mod:`humanclap.book.comparisons` -- the study's planned contrasts, leave-one-term-out.
- :mod:`humanclap.book.headlines` -- headline numbers recorded in the chapters' outputs, read
  back for the results page and the README.
- :mod:`humanclap.book.published` -- the published figures on RELATE, each with its source.
- :mod:`humanclap.book.summary` -- which world each chapter ran on, the headline numbers of the
  executed chapters and the README's block of numbers.
- :mod:`humanclap.book.results_page` -- the results page's published, real and simulated tables,
  and the settings that make published figures disagree.
- :mod:`humanclap.book.results` -- result tables of heavy (GPU) runs that chapters read.
- :mod:`humanclap.book.relate_run` -- the plan and GPU-time estimate of ``make relate``.
- :mod:`humanclap.book.runner` -- runs the book's notebooks with papermill.
"""

from humanclap.book.analyses import (
    choice_table,
    choose_on_validation,
    finetune_runs,
    released_scores,
    runs_table,
    split_pairs,
    test_scores,
    validation_table,
)
from humanclap.book.banner import banner
from humanclap.book.chapter import Chapter, chapter_parameters, describe_model, open_chapter
from humanclap.book.comparisons import (
    contrasts,
    leave_one_term_out,
    loto_candidates,
    term_contributions,
)
from humanclap.book.headlines import Headline, collect_headlines
from humanclap.book.published import (
    PUBLISHED,
    PublishedFigure,
    published_discrepancies,
    published_sources,
)
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
from humanclap.book.results_page import (
    headline_view,
    published_table,
    published_view,
    real_table,
    settings_table,
    simulated_table,
)
from humanclap.book.study import (
    RecipeChoice,
    TableTrainer,
    Trainer,
    choose_lrs,
    lr_grid_recipes,
    select_recipe,
)
from humanclap.book.summary import (
    book_root,
    chapter_runs,
    readme_block,
    results_banner,
    run_headlines,
    runs_view,
)

__all__ = [
    "PAIR_KEY",
    "PUBLISHED",
    "Chapter",
    "Headline",
    "PublishedFigure",
    "RecipeChoice",
    "ResultTables",
    "TableTrainer",
    "Trainer",
    "banner",
    "book_root",
    "chapter_runs",
    "chapter_parameters",
    "choice_table",
    "choose_lrs",
    "choose_on_validation",
    "collect_headlines",
    "contrasts",
    "describe_model",
    "finetune_runs",
    "leave_one_term_out",
    "loto_candidates",
    "lr_grid_recipes",
    "open_chapter",
    "published_discrepancies",
    "published_sources",
    "published_table",
    "published_view",
    "real_table",
    "headline_view",
    "settings_table",
    "simulated_table",
    "provenance",
    "readme_block",
    "released_scores",
    "results_banner",
    "run_headlines",
    "run_histories",
    "runs_view",
    "run_summary",
    "runs_table",
    "score_table",
    "scores_from_table",
    "scores_table",
    "select_recipe",
    "split_pairs",
    "term_contributions",
    "test_scores",
    "validation_table",
]
