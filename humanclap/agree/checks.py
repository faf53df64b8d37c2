"""What :func:`humanclap.agree.agreement_report` refuses in its inputs, and why (a ValueError
naming the column or the pairs)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from humanclap.stats import PAIR

__all__ = ["check_events", "check_joined"]


def check_joined(joined: pd.DataFrame, pred: str, target: str, against: str | None) -> None:
    """Raise ValueError naming the column or pairs when ``joined`` cannot be analysed."""
    needed = [*PAIR, "source", pred, target] + ([against] if against else [])
    missing = [c for c in needed if c not in joined.columns]
    if missing:
        raise ValueError(f"joined: missing column(s) {missing}; has {list(joined.columns)}")
    for col in (pred, target, *([against] if against else [])):
        values = pd.to_numeric(joined[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) if col != against else np.isinf(values)
        if bad.any():
            shown = joined.loc[bad, list(PAIR)].head(3).to_dict("records")
            raise ValueError(f"joined[{col!r}]: {int(bad.sum())} non-finite value(s), e.g. {shown}")
    dup = joined.duplicated(list(PAIR))
    if dup.any():
        shown = joined.loc[dup, list(PAIR)].head(3).to_dict("records")
        raise ValueError(f"joined: {int(dup.sum())} pair(s) occur twice, e.g. {shown}")


def check_events(events: pd.DataFrame | None) -> pd.DataFrame | None:
    """``events`` with its columns checked (``wavname``, ``text``, ``event``), rows without an
    event (NaN or ``""``, as :func:`humanclap.data.events.explode_events` marks them) dropped."""
    if events is None:
        return None
    missing = [c for c in [*PAIR, "event"] if c not in events.columns]
    if missing:
        raise ValueError(f"events: missing column(s) {missing}; has {list(events.columns)}")
    keep = events["event"].notna() & (events["event"].astype(str).str.strip() != "")
    return events[keep]  # a pair without an event type (NaN or "") is in no event group
