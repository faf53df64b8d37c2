"""Chapter 1's reliability estimator against the embedded world's known truth."""

from __future__ import annotations

from pathlib import Path

import pytest

import humanclap.data as hd
import humanclap.stats as hs
from humanclap.data import synthetic


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reliability_estimator_lands_within_its_ci_of_the_truth(tmp_path: Path, seed: int) -> None:
    root = synthetic.generate(tmp_path / "world", n_captions=300, seed=seed, write_audio=False)
    ratings = hd.load_relate(root)
    est = hs.reliability(ratings)
    truth = synthetic.true_noise_ceiling(root)
    assert est["ceiling_lcc_lo"] <= truth["ceiling_lcc"] <= est["ceiling_lcc_hi"]
    assert est["icc1_lo"] <= truth["icc1"] <= est["icc1_hi"]
    # the estimate is informative, not just a wide interval
    assert est["ceiling_lcc_hi"] - est["ceiling_lcc_lo"] < 0.1
