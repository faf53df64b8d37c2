"""The files of a synthetic world and their columns, and how its tables are written.

Layout written by :func:`humanclap.data.synthetic.generate` (``<root>/...``)::

    scores/REL.csv, scores/IS.csv, scores/OS.csv     RELATE's columns and value conventions
    listener_attributes/REL.csv, IS_and_OS.csv        listener_id, question1..question12
    <source>/<train|test>/<audiocap_id>.wav           16 kHz mono 16-bit PCM
    audiocaps_categories.csv                          the XACLE category table's 12 columns
    truth.csv                                         per pair: latent relevance and its parts
    listeners.csv                                     per listener: parameters, careless, screened
    world.json                                        generator version, seed, params, fingerprint
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "CATEGORY_COLUMNS",
    "ISOS_COLUMNS",
    "LISTENER_COLUMNS",
    "REL_COLUMNS",
    "TRUTH_COLUMNS",
    "write_csv",
]

REL_COLUMNS: tuple[str, ...] = (
    "wavname",
    "text",
    "score",
    "listener_id",
    "audio type",
    "anchor label",
    "in RELATE dataset",
    "in AudioCaps",
)
ISOS_COLUMNS: tuple[str, ...] = tuple(c for c in REL_COLUMNS if c != "in RELATE dataset")
ATTRIBUTE_COLUMNS: tuple[str, ...] = ("listener_id", *(f"question{i}" for i in range(1, 13)))
CATEGORY_COLUMNS: tuple[str, ...] = (
    "audiocaps_id",
    "caption",
    "file_path",
    "youtube_id",
    "start_seconds",
    "caption_label",
    "anchor_filepath",
    "rel_anchor_youtube_id",
    "rel_anchor_start_seconds",
    "syn1",
    "syn2",
    "q_anchor",
)
TRUTH_COLUMNS: tuple[str, ...] = (
    "wavname",
    "text",
    "anchor",
    "source",
    "audio_type",
    "audiocap_id",
    "caption_index",
    "split",
    "in_audiocaps",
    "caption_label",
    "category",
    "caption_events",
    "audio_events",
    "failures",
    "inclusion",
    "order",
    "quality",
    "w_order",
    "w_quality",
    "relevance",
    "relevance_10",
    "offset",
    "expected_rel",
    "var_rel",
    "expected_is",
    "var_is",
    "expected_os",
    "var_os",
)
LISTENER_COLUMNS: tuple[str, ...] = (
    "listener_id",
    "pool",
    "scale",
    "bias",
    "noise",
    "snap",
    "careless",
    "careless_type",
    "constant",
    "screened",
    "n_ratings",
)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as a world writes every table: no index, ``\\n`` line ends, floats ``%.6g``;
    parent folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")
