"""Two systems compared on the same prompts.

:func:`compare_systems` compares two systems scored on the same prompts (system A in one table,
system B in another), prompt by prompt:

- **One number per prompt and system.** A prompt with several clips in a table is scored by the
  mean of its clips' scores; each prompt then counts once, however many clips it has. Prompts
  are matched by their text, exactly as written.
- **The paired mean difference, B - A** (positive: B scores higher), the mean over prompts of
  ``score_B(prompt) - score_A(prompt)``, with a percentile-bootstrap interval that resamples
  prompts (:func:`humanclap.stats.mean_ci`, each prompt one unit).
- **Wins, losses and ties of B**: prompts where B's score is higher, lower, or exactly equal;
  ``win_rate``, ``loss_rate`` and ``tie_rate`` are their shares of all paired prompts (they sum
  to 1).
- **A two-sided sign test**: the exact binomial test of wins against losses with p = 1/2
  (:func:`scipy.stats.binomtest`); ties are excluded from it. None when every prompt is a tie.

Nothing is dropped silently. A prompt in only one table, or a row without a score (a clip
``humanclap score`` could not score: NaN), is an error naming them, unless
``drop_missing=True``: then those rows are dropped, prompts left without a score in either
table are dropped, and every dropped row and prompt is counted and listed in the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from humanclap.score.columns import TEXT_COLUMN
from humanclap.score.merge import model_fingerprints
from humanclap.score.systems import (
    ScoreTableError,
    _blank,
    _listed,
    _need_columns,
    _rows_named,
    _score_values,
)
from humanclap.stats.means import mean_ci

__all__ = ["SystemComparison", "compare_systems"]


@dataclass(frozen=True)
class SystemComparison:
    """Two systems compared on the same prompts (module doc). ``mean_a`` and ``mean_b`` are
    the means over the paired prompts of each prompt's score; ``difference`` is
    :func:`humanclap.stats.mean_ci`'s dict of the per-prompt differences B - A; ``warnings``
    says when the tables' ``model_fingerprint`` columns show that different models scored
    them (:func:`humanclap.score.merge.model_fingerprints`)."""

    names: tuple[str, str]
    columns: tuple[str, str]
    mean_a: float
    mean_b: float
    difference: dict[str, Any]
    wins: int
    losses: int
    ties: int
    sign_test_p: float | None
    rows: tuple[int, int]
    failed_rows_dropped: tuple[int, int]
    only_in_a: list[str]
    only_in_b: list[str]
    per_prompt: pd.DataFrame
    warnings: tuple[str, ...] = ()

    @property
    def n_prompts(self) -> int:
        """Prompts scored in both tables (the paired ones)."""
        return self.wins + self.losses + self.ties

    @property
    def win_rate(self) -> float:
        """Share of the paired prompts where B scores higher than A."""
        return self.wins / self.n_prompts

    @property
    def loss_rate(self) -> float:
        return self.losses / self.n_prompts

    @property
    def tie_rate(self) -> float:
        return self.ties / self.n_prompts

    def to_dict(self) -> dict[str, Any]:
        """Everything but the per-prompt table, JSON-serialisable."""
        return {
            "a": {"table": self.names[0], "column": self.columns[0], "rows": self.rows[0],
                  "mean": self.mean_a},
            "b": {"table": self.names[1], "column": self.columns[1], "rows": self.rows[1],
                  "mean": self.mean_b},
            "per_prompt": "the mean of each prompt's clips; each prompt counts once",
            "n_prompts": self.n_prompts,
            "difference": {"of": "B - A", **self.difference},
            "wins": self.wins, "losses": self.losses, "ties": self.ties,
            "win_rate": self.win_rate, "loss_rate": self.loss_rate, "tie_rate": self.tie_rate,
            "sign_test": {
                "p": self.sign_test_p, "n": self.wins + self.losses, "ties_excluded": self.ties,
                "test": "two-sided exact binomial test of wins vs losses, p = 1/2 "
                "(scipy.stats.binomtest); ties excluded",
            },
            "dropped": {
                "failed_rows_a": self.failed_rows_dropped[0],
                "failed_rows_b": self.failed_rows_dropped[1],
                "prompts_only_in_a": list(self.only_in_a),
                "prompts_only_in_b": list(self.only_in_b),
            },
            "warnings": list(self.warnings),
        }  # fmt: skip

    def lines(self) -> list[str]:
        """The comparison in a few lines of text (what ``humanclap compare`` prints)."""
        d = self.difference
        p = "n/a (every prompt a tie)" if self.sign_test_p is None else f"{self.sign_test_p:.4g}"
        out = [
            f"A: {self.names[0]} [{self.columns[0]}] mean {self.mean_a:.4f}",
            f"B: {self.names[1]} [{self.columns[1]}] mean {self.mean_b:.4f}",
            f"{self.n_prompts} prompts in both (each the mean of its clips)",
            f"mean difference B - A: {d['mean']:+.4f} [{d['lo']:+.4f}, {d['hi']:+.4f}] "
            f"({d['ci']:.0%} bootstrap CI, {d['n_boot']} resamples of prompts, seed {d['seed']})",
            f"B wins {self.wins} ({self.win_rate:.1%}), loses {self.losses} "
            f"({self.loss_rate:.1%}), ties {self.ties} ({self.tie_rate:.1%})",
            f"sign test (two-sided, ties excluded): p = {p}",
        ]
        dropped = [
            f"{n} failed rows of {name}"
            for n, name in zip(self.failed_rows_dropped, self.names, strict=True)
            if n
        ]
        for only, name in ((self.only_in_a, self.names[0]), (self.only_in_b, self.names[1])):
            if only:
                dropped.append(f"{len(only)} prompts only in {name}: {_listed(only)}")
        if dropped:
            out.append("dropped: " + "; ".join(dropped))
        return out + [f"warning: {w}" for w in self.warnings]


def _prompt_means(
    table: pd.DataFrame, column: str, text_col: str, source: str, drop_missing: bool
) -> tuple[pd.DataFrame, int]:
    """Each prompt's mean score and number of clips (in order of first appearance), and the
    number of rows without a score that were dropped."""
    _need_columns(table, [column, text_col], source)
    if len(table) == 0:
        raise ScoreTableError(f"{source}: no rows")
    texts = table[text_col]
    empty = texts.map(_blank).to_numpy()
    if empty.any():
        raise ScoreTableError(
            f"{source} {_rows_named(table, empty)}: empty prompt ({text_col!r}): its rows "
            "cannot be matched to the other table's"
        )
    scores = _score_values(table, column, source)
    failed = ~np.isfinite(scores)
    if failed.any() and not drop_missing:
        raise ScoreTableError(
            f"{source} {_rows_named(table, failed)}: no score in {column!r} ({int(failed.sum())} "
            "rows; e.g. clips that could not be scored); drop them with drop_missing=True "
            "(humanclap compare --drop-missing), counted in the result"
        )
    frame = pd.DataFrame({"text": texts.astype(str).to_numpy(), "score": scores})[~failed]
    means = frame.groupby("text", sort=False)["score"].agg(["mean", "size"])
    return means.rename(columns={"size": "clips"}), int(failed.sum())


def _model_warnings(
    a: pd.DataFrame, b: pd.DataFrame, columns: tuple[str, str], names: tuple[str, str]
) -> tuple[str, ...]:
    """A warning when the two tables' ``model_fingerprint`` columns say that their scores come
    from different weights (e.g. two checkpoints both called ``best.pt``)."""
    prints_a, prints_b = model_fingerprints(a, columns[0]), model_fingerprints(b, columns[1])
    if not prints_a or not prints_b or prints_a == prints_b:
        return ()
    return (
        f"the scores come from different models: {names[0]} {columns[0]!r} fingerprint "
        f"{', '.join(sorted(prints_a))}, {names[1]} {columns[1]!r} fingerprint "
        f"{', '.join(sorted(prints_b))}",
    )


def compare_systems(
    a: pd.DataFrame,
    b: pd.DataFrame,
    column: str,
    *,
    column_b: str | None = None,
    text_col: str = TEXT_COLUMN,
    drop_missing: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    names: tuple[str, str] = ("A", "B"),
) -> SystemComparison:
    """System B against system A on the same prompts (module doc: the rules).

    Parameters
    ----------
    a, b : pandas.DataFrame
        Score tables of systems A and B: a prompt column ``text_col`` and a score column.
        Their index labels name rows in messages (with the index's name, e.g. ``line``).
    column : str
        A's score column (and B's, unless ``column_b``).
    column_b : str, optional
        B's score column when it is named otherwise.
    text_col : str
        The prompt column of both tables.
    drop_missing : bool
        Drop rows without a score and prompts not scored in both tables, counting them;
        default: an error naming them.
    n_boot, seed, ci
        The bootstrap of the mean difference (:func:`humanclap.stats.mean_ci`).
    names : (str, str)
        How the tables are named in messages and in the result (e.g. their files).

    Returns
    -------
    SystemComparison
        ``per_prompt``: one row per paired prompt (``text``, ``a``, ``b``, ``clips_a``,
        ``clips_b``, ``difference`` = b - a), in A's order.

    Raises
    ------
    ScoreTableError
        A column missing, a table without rows, an empty prompt, a score that is not a number;
        without ``drop_missing``, rows without a score or prompts in only one table; no prompt
        scored in both.
    """
    column_b = column if column_b is None else column_b
    per_a, failed_a = _prompt_means(a, column, text_col, names[0], drop_missing)
    per_b, failed_b = _prompt_means(b, column_b, text_col, names[1], drop_missing)
    only_a = [p for p in per_a.index if p not in per_b.index]
    only_b = [p for p in per_b.index if p not in per_a.index]
    if (only_a or only_b) and not drop_missing:
        said = [f"{len(o)} only in {n}: {_listed([repr(p) for p in o])}"
                for o, n in ((only_a, names[0]), (only_b, names[1])) if o]  # fmt: skip
        raise ScoreTableError(
            f"{names[0]} and {names[1]}: prompts ({text_col!r}) not in both tables: "
            + "; ".join(said)
            + "; drop them with drop_missing=True (humanclap compare --drop-missing), counted "
            "in the result"
        )
    common = [p for p in per_a.index if p in per_b.index]
    if not common:
        raise ScoreTableError(f"{names[0]} and {names[1]}: no prompt is scored in both tables")
    score_a = per_a.loc[common, "mean"].to_numpy(dtype=float)
    score_b = per_b.loc[common, "mean"].to_numpy(dtype=float)
    diff = score_b - score_a
    wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
    p = scipy_stats.binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else None
    per_prompt = pd.DataFrame({
        "text": common, "a": score_a, "b": score_b,
        "clips_a": per_a.loc[common, "clips"].to_numpy(),
        "clips_b": per_b.loc[common, "clips"].to_numpy(), "difference": diff,
    })  # fmt: skip
    return SystemComparison(
        names=(str(names[0]), str(names[1])), columns=(column, column_b),
        mean_a=float(score_a.mean()), mean_b=float(score_b.mean()),
        difference=mean_ci(diff, common, n_boot=n_boot, seed=seed, ci=ci),
        wins=wins, losses=losses, ties=len(diff) - wins - losses,
        sign_test_p=None if p is None else float(p), rows=(len(a), len(b)),
        failed_rows_dropped=(failed_a, failed_b), only_in_a=only_a, only_in_b=only_b,
        per_prompt=per_prompt, warnings=_model_warnings(a, b, (column, column_b), names),
    )  # fmt: skip
