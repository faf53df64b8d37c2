"""humanclap.utils.PinnedFile, and the XACLE baseline's predictions found through it."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_download import _closed_port_url, _sha, online, served  # noqa: F401

from humanclap.data import RelateDataError, find_xacle_predictions
from humanclap.data import xacle as xacle_module
from humanclap.utils import PinnedFile, user_cache_dir


def _pinned(url: str, sha256: str) -> PinnedFile:
    return PinnedFile("test file", "t.csv", url, sha256, ("pinned-test", "abc"), "HC_T", "HC_T_URL")


def test_order_path_env_cache_download(served, online, monkeypatch, tmp_path):  # noqa: F811
    folder, server = served
    (folder / "t.csv").write_text("a,b\n1,2\n")
    pinned = _pinned(f"{server.url}/t.csv", _sha(b"a,b\n1,2\n"))
    mine = tmp_path / "mine.csv"
    mine.write_text("x\n")
    assert pinned.find(mine) == mine
    monkeypatch.setenv("HC_T", str(mine))
    assert pinned.find() == mine
    monkeypatch.delenv("HC_T")
    assert pinned.cache_path() == user_cache_dir() / "pinned-test" / "abc" / "t.csv"
    assert pinned.find() == pinned.cache_path()  # downloaded and checked
    server.stop()
    assert pinned.find() == pinned.cache_path()  # then the cache is enough


def test_errors(served, online, monkeypatch, tmp_path):  # noqa: F811
    folder, server = served
    (folder / "t.csv").write_text("tampered\n")
    pinned = _pinned(f"{server.url}/t.csv", _sha(b"original\n"))
    with pytest.raises(ValueError, match="checksum mismatch"):
        pinned.find(error=ValueError)
    assert not pinned.cache_path().exists()
    with pytest.raises(FileNotFoundError, match=r"test file not found: .*nope\.csv"):
        pinned.find(tmp_path / "nope.csv")
    monkeypatch.setenv("HC_T", str(tmp_path / "nope.csv"))
    with pytest.raises(FileNotFoundError, match="from \\$HC_T"):
        pinned.find()
    monkeypatch.delenv("HC_T")
    dead = _pinned(_closed_port_url(), "0" * 64)
    assert dead.find() is None  # unreachable: None, and the caller says what to put where
    assert "HC_T" in dead.not_found_message() and str(dead.cache_path()) in dead.not_found_message()


def test_xacle_predictions(xacle_predictions: Path, monkeypatch) -> None:
    monkeypatch.setenv("HUMANCLAP_XACLE_PREDICTIONS", str(xacle_predictions))
    assert find_xacle_predictions() == xacle_predictions
    assert xacle_module.XACLE_PREDICTIONS.sha256 == _sha(xacle_predictions.read_bytes())
    monkeypatch.delenv("HUMANCLAP_XACLE_PREDICTIONS")
    with pytest.raises(RelateDataError, match="HUMANCLAP_XACLE_PREDICTIONS"):
        find_xacle_predictions()  # offline (the autouse fixture), nothing cached


def test_xacle_download(served, online, monkeypatch, xacle_predictions: Path) -> None:  # noqa: F811
    folder, server = served
    (folder / "inference_results.csv").write_bytes(xacle_predictions.read_bytes())
    monkeypatch.delenv("HUMANCLAP_XACLE_PREDICTIONS", raising=False)
    monkeypatch.setenv("HUMANCLAP_XACLE_PREDICTIONS_URL", f"{server.url}/inference_results.csv")
    path = find_xacle_predictions()
    assert path.read_bytes() == xacle_predictions.read_bytes()
