"""The official RELATE benchmark model's predictions on RELATE's test split (a real metric).

The first XACLE challenge's baseline (BYOL-A audio encoder + RoBERTa text encoder, trained on
RELATE's train split; MIT licence) published its predictions for every pair of RELATE's test
split as ``result/inference_results.csv``: 1,311 rows, ``wav_path`` (``./datasets/data/wav`` +
RELATE's wavname), ``pred_mos`` (0-10) and ``gt_mos`` (the pair's mean screened REL rating,
rounded to 2 decimals). Its authors report SRCC 0.3606 and LCC 0.3678 for it. The file is found
or downloaded as a :class:`~humanclap.utils.PinnedFile`; read it with
:func:`humanclap.agree.read_predictions` (``pred_col="pred_mos"``).
"""

from __future__ import annotations

import os
from pathlib import Path

from humanclap.data.files import RelateDataError
from humanclap.utils import PinnedFile

__all__ = ["XACLE_COMMIT", "XACLE_PREDICTIONS", "XACLE_PUBLISHED", "find_xacle_predictions"]

XACLE_COMMIT = "e85c4f1acc651801f75fced104f8dbb7da88e86f"
#: The predictions file as a pinned public file.
XACLE_PREDICTIONS = PinnedFile(
    "XACLE baseline predictions (inference_results.csv)",
    "inference_results.csv",
    "https://raw.githubusercontent.com/XACLE-Challenge/the_first_XACLE_challenge_baseline_model/"
    f"{XACLE_COMMIT}/result/inference_results.csv",
    "9dcf2f3e29343687c3fc5b29f3121027857953f45676b478eecaa105ccdfd401",
    ("xacle-baseline", XACLE_COMMIT[:7]),
    "HUMANCLAP_XACLE_PREDICTIONS",
    "HUMANCLAP_XACLE_PREDICTIONS_URL",
)
#: What the baseline's authors publish for it (against ``gt_mos``, RELATE's test split).
XACLE_PUBLISHED: dict[str, float] = {"srcc": 0.3606, "lcc": 0.3678, "ktau": 0.2511, "mse": 6.8688}


def find_xacle_predictions(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The XACLE baseline's predictions file: ``path``, ``$HUMANCLAP_XACLE_PREDICTIONS``, the
    cache, or a sha256-checked download at the pinned commit.

    Raises
    ------
    RelateDataError
        It is nowhere and cannot be downloaded (offline): the message says what to put where.
    """
    found = XACLE_PREDICTIONS.find(path, download, error=RelateDataError)
    if found is None:
        raise RelateDataError(XACLE_PREDICTIONS.not_found_message())
    return found
