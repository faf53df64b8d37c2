"""The planned contrasts of the fine-tuning study's test split (chapters 3 and 4): each
contrast of mean test SRCC over seeds computed from its two recipes alone, so that a contrast
two chapters report has the same numbers in both, Holm within a planned family, and
leave-one-term-out (what each term of a combined loss adds)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from humanclap import stats
from humanclap.losses import parse_loss_name

__all__ = ["contrasts", "leave_one_term_out", "loto_candidates", "term_contributions"]


def contrasts(
    scores: Mapping[str, Any],
    target,
    pairs: Sequence[tuple[str, str]],
    *,
    clusters=None,
    unit: str = "caption",
    family: bool = False,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Planned contrasts of mean test SRCC over seeds, one :func:`humanclap.stats.seed_comparison`
    of two recipes each.

    Each contrast is computed from its two recipes alone (its bootstrap draws do not depend on
    which other contrasts are listed), so a contrast listed in two chapters with the same
    inputs and ``seed`` has the same numbers in both.

    Parameters
    ----------
    scores : mapping of name -> array-like, shape (n_seeds, n) or (n,)
    target : array-like, shape (n,)
    pairs : sequence of (a, b)
        The contrasts ``b - a``; ``a`` and ``b`` must differ, and no contrast may be listed
        twice.
    clusters, unit
        The first level of the bootstrap (:func:`humanclap.stats.seed_comparison`): the caption
        of each test pair, all pairs of a caption resampled together (``"caption"``), or
        ``"pair"``.
    family : bool
        The contrasts are one planned family: Holm-adjust their p-values
        (:func:`humanclap.stats.holm`). Otherwise ``p_holm`` is absent.
    n_boot, ci, seed
        Resamples, interval level and seed of every contrast.

    Returns
    -------
    pd.DataFrame
        One row per contrast: ``against`` (a), ``name`` (b), ``mean_against``, ``mean`` (seed
        means of test SRCC), ``sd`` (b's, over seeds), ``lo``, ``hi`` (the interval of b's
        mean), ``diff`` (b - a), ``diff_lo``,
        ``diff_hi``, ``p_value``, with ``family``: ``p_holm`` and ``significant``
        (``p_holm < 1 - ci``), and ``resampled``.
    """
    keys = [tuple(pair) for pair in pairs]
    if any(a == b for a, b in keys):
        raise ValueError(f"pairs: a recipe compared with itself in {keys}")
    if len(set(keys)) != len(keys):
        raise ValueError(f"pairs: a contrast listed twice in {keys}")
    rows = []
    for a, b in keys:
        out = stats.seed_comparison(
            {a: scores[a], b: scores[b]}, target, reference=a, n_boot=n_boot, ci=ci,
            seed=seed, clusters=clusters, unit=unit,
        ).set_index("name")  # fmt: skip
        row = out.loc[b]
        rows.append(
            {
                "against": a,
                "name": b,
                "mean_against": out.loc[a, "mean"],
                **{k: row[k] for k in ("mean", "sd", "lo", "hi", "diff", "diff_lo", "diff_hi")},
                "p_value": row["p_value"],
                "resampled": row["resampled"],
            }
        )
    table = pd.DataFrame(rows)
    if family and len(table):
        table.insert(len(table.columns) - 1, "p_holm", stats.holm(table["p_value"].to_numpy()))
        table.insert(len(table.columns) - 1, "significant", table["p_holm"] < 1.0 - ci)
    return table


def _terms(name: str) -> frozenset[str] | None:
    try:
        return frozenset(parse_loss_name(name))
    except ValueError:
        return None


def leave_one_term_out(full: str, names: Iterable[str]) -> dict[str, str]:
    """For each term of the combination ``full``, the recipe among ``names`` with every term of
    ``full`` but that one (names compare as sets of terms: ``"mae+wsce"`` is ``"wsce+mae"``).

    Raises
    ------
    ValueError
        ``full`` has fewer than two terms, or a recipe without one of its terms is not among
        ``names`` (naming it).
    """
    terms = parse_loss_name(full)
    if len(terms) < 2:
        raise ValueError(f"full: expected a combination of terms, got {full!r}")
    by_terms = {t: n for n in names if (t := _terms(n)) is not None}
    out = {}
    for term in terms:
        rest = frozenset(terms) - {term}
        if rest not in by_terms:
            raise ValueError(f"names: no recipe {'+'.join(t for t in terms if t != term)!r}")
        out[term] = by_terms[rest]
    return out


def loto_candidates(names: Iterable[str]) -> list[str]:
    """The combinations among ``names`` whose every leave-one-term-out recipe is there too,
    the ones with more terms first."""
    names = list(names)
    found = [n for n in names if (t := _terms(n)) is not None and len(t) >= 2]
    ok = []
    for name in found:
        try:
            leave_one_term_out(name, names)
        except ValueError:
            continue
        ok.append(name)
    return sorted(ok, key=lambda n: -len(parse_loss_name(n)))


def term_contributions(
    scores: Mapping[str, Any], target, full: str, names: Iterable[str], **kwargs: Any
) -> pd.DataFrame:
    """What each term of ``full`` adds: its test SRCC minus that of the recipe without the term
    (:func:`leave_one_term_out`, :func:`contrasts`; ``kwargs`` go to :func:`contrasts`).

    Returns
    -------
    pd.DataFrame
        :func:`contrasts`' columns with ``term`` first; ``diff`` is ``full`` minus the recipe
        without ``term`` (``against``).
    """
    subs = leave_one_term_out(full, names)
    table = contrasts(scores, target, [(sub, full) for sub in subs.values()], **kwargs)
    table.insert(0, "term", list(subs))
    return table
