"""Recipe choice on the validation split (humanclap.book.analyses)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from humanclap.book import choose_on_validation, validation_table

SUMMARY = pd.DataFrame(
    {
        "name": ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
        "seed": [0, 1, 2] * 3,
        "best_epoch": [3, 0, 5, 2, 2, 4, 0, 0, 0],
        "best_val_srcc": [0.50, 0.30, 0.55, 0.45, 0.46, 0.47, 0.60, 0.20, 0.40],
    }
)


def test_validation_table_by_hand() -> None:
    table = validation_table(SUMMARY).set_index("name")
    assert list(table.index) == ["a", "b", "c"]
    np.testing.assert_allclose(table["val_srcc"], [0.45, 0.46, 0.40])
    np.testing.assert_allclose(table.loc["b", "val_srcc_sd"], np.std([0.45, 0.46, 0.47], ddof=1))
    assert table["never_trained"].tolist() == [1, 0, 3] and table["n_seeds"].tolist() == [3, 3, 3]


def test_choice_uses_the_mean_over_seeds_and_only_the_candidates() -> None:
    strict = {"tolerance": 0}
    assert choose_on_validation(SUMMARY, ["a", "b", "c"], **strict) == "b"  # c's best seed: 0.60
    assert choose_on_validation(SUMMARY, ["a", "c"], **strict) == "a"
    tied = SUMMARY.assign(best_val_srcc=0.5)
    assert choose_on_validation(tied, ["c", "a"]) == "c"  # a tie goes to the first listed
    # the default tolerance is the seeds' pooled standard error of a difference (0.113 here):
    # a (0.45) is within it of b (0.46), and listed first
    assert choose_on_validation(SUMMARY, ["a", "b", "c"]) == "a"
    assert choose_on_validation(SUMMARY, ["b", "a", "c"]) == "b"
    with pytest.raises(ValueError, match=r"no runs for \['z'\]"):
        choose_on_validation(SUMMARY, ["a", "z"])
    with pytest.raises(ValueError, match="missing column"):
        validation_table(SUMMARY.drop(columns="best_epoch"))
