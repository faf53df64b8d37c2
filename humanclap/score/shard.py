"""Scoring split across processes: which rows each rank scores (:func:`shard_rows`) and the one
table the ranks' outputs make again (:func:`merge_shards`).

A shard is a *contiguous* slice of the rows: rank ``r`` of ``W`` scores rows
``[r * n // W, (r + 1) * n // W)`` (sizes differ by at most one, the larger ones first), so
the merge is a concatenation in rank order and restores the input's order. Contiguous rather
than round-robin because tables of pairs keep the rows of one clip or one caption together
(RELATE, a folder matched with its prompts): a slice embeds each such clip once on one rank,
where round-robin would embed it on every rank that holds one of its rows; and a slice embeds
runs of the same clips together as one process does. The embedding cache is keyed by content
(:mod:`humanclap.embed.cache`), so a rerun resumes whichever rank holds a row, whatever the
number of ranks.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from humanclap.embed import EmbedInfo
from humanclap.score.pairs import ScoreInfo

__all__ = ["merge_infos", "merge_shards", "shard_rows"]


def shard_rows(n: int, rank: int, world_size: int) -> slice:
    """The rows rank ``rank`` of ``world_size`` scores: a contiguous slice of ``range(n)``.

    Parameters
    ----------
    n : int
        Rows in the table (>= 0).
    rank : int
        This process's rank, ``0 <= rank < world_size``.
    world_size : int
        Processes sharing the rows (>= 1).

    Returns
    -------
    slice
        ``slice(start, stop)``; the ranks' slices are disjoint, in rank order, cover
        ``range(n)``, and their sizes differ by at most one (a rank gets an empty slice when
        ``n < world_size``).

    Raises
    ------
    ValueError
        Naming the parameter that is not an integer in its range.
    """
    for name, value, low in (("n", n, 0), ("world_size", world_size, 1), ("rank", rank, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    if rank >= world_size:
        raise ValueError(f"rank: expected 0 <= rank < world_size = {world_size}, got {rank}")
    size, extra = divmod(n, world_size)
    start = rank * size + min(rank, extra)
    return slice(start, start + size + (rank < extra))


def merge_infos(infos: Sequence[EmbedInfo]) -> EmbedInfo:
    """One :class:`~humanclap.embed.EmbedInfo` for the shards' items, in rank order.

    Counts are summed (``n_unique`` counts a clip or caption once per rank that embedded it);
    the row indices of ``errors`` and ``warnings`` are shifted by the items of the ranks before,
    so they index the items of all shards in order.

    Raises
    ------
    ValueError
        No info, or infos of different kinds.
    """
    if not infos:
        raise ValueError("infos: no shard to merge")
    kinds = {info.kind for info in infos}
    if len(kinds) != 1:
        raise ValueError(f"infos: shards of different kinds {sorted(kinds)}")
    merged = EmbedInfo(kind=infos[0].kind)
    for info in infos:
        offset = merged.n_items
        merged.errors.update({offset + row: why for row, why in info.errors.items()})
        merged.warnings.update({offset + row: list(w) for row, w in info.warnings.items()})
        merged.n_items += info.n_items
        merged.n_unique += info.n_unique
        merged.n_cached += info.n_cached
        merged.n_embedded += info.n_embedded
        merged.n_rebuilt += info.n_rebuilt
        merged.cache_path = merged.cache_path or info.cache_path
    return merged


def merge_shards(
    tables: Sequence[pd.DataFrame], infos: Sequence[ScoreInfo] | None = None, n: int | None = None
) -> tuple[pd.DataFrame, ScoreInfo | None]:
    """The table one process would have written, from the ranks' tables in rank order.

    Parameters
    ----------
    tables : sequence of W pandas.DataFrame
        :func:`humanclap.score.score_pairs`'s output for each rank's :func:`shard_rows` slice,
        in rank order.
    infos : sequence of W ScoreInfo, optional
        The ranks' :class:`~humanclap.score.ScoreInfo` (``return_info=True``), merged with
        :func:`merge_infos`.
    n : int, optional
        The rows of the whole table, checked when given.

    Returns
    -------
    (pandas.DataFrame, ScoreInfo or None)
        The rows of all shards in the input's order (empty shards add nothing), with the index
        the shards carried; the merged info (None without ``infos``).

    Raises
    ------
    ValueError
        No table, ``infos`` not one per table, tables whose columns differ (naming the rank),
        or not ``n`` rows in all.
    """
    if not tables:
        raise ValueError("tables: no shard to merge")
    if infos is not None and len(infos) != len(tables):
        raise ValueError(f"infos: {len(infos)} for {len(tables)} shard tables")
    columns = list(tables[0].columns)
    for rank, table in enumerate(tables):
        if list(table.columns) != columns:
            raise ValueError(
                f"shard {rank}: columns {list(table.columns)} differ from shard 0's {columns}"
            )
    filled = [t for t in tables if len(t)] or [tables[0]]
    merged = pd.concat(filled) if len(filled) > 1 else filled[0].copy()
    if n is not None and len(merged) != n:
        raise ValueError(f"shards: {len(merged)} rows in all, expected {n}")
    if infos is None:
        return merged, None
    info = ScoreInfo(merge_infos([i.audio for i in infos]), merge_infos([i.text for i in infos]))
    return merged, info
