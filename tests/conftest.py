"""Shared pytest fixtures.

Every test runs with a private, empty download cache (``$HUMANCLAP_CACHE``) and with
``$HUMANCLAP_OFFLINE=1``, so nothing in a test can reach the internet or touch the user's
cache. A test that exercises downloads (against a loopback server) must
``monkeypatch.delenv("HUMANCLAP_OFFLINE")`` itself.

The real RELATE ratings and the category table are found through ``$HUMANCLAP_RELATE_DIR`` and
``$HUMANCLAP_CATEGORIES``, else in ``../shared`` beside the project root; the fixtures
:func:`relate_dir` and :func:`categories_path` skip the test when neither exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_SHARED = Path(__file__).resolve().parents[1].parent / "shared"
_CATEGORIES_FILE = "tempo_notempo_2_2024-12-11.csv"


@pytest.fixture(autouse=True)
def _isolated_offline_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUMANCLAP_CACHE", str(tmp_path_factory.mktemp("humanclap-cache")))
    monkeypatch.setenv("HUMANCLAP_OFFLINE", "1")


def _real_path(env: str, fallback: Path, what: str) -> Path:
    value = os.environ.get(env)
    if value:
        path = Path(value).expanduser()
        if not path.exists():
            pytest.fail(f"${env}={value} does not exist")
        return path
    if fallback.exists():
        return fallback
    pytest.skip(f"{what} not found: set ${env} or provide {fallback}")


@pytest.fixture(scope="session")
def relate_dir() -> Path:
    """Folder with the real RELATE files (``scores/REL.csv`` ...), or skip."""
    return _real_path("HUMANCLAP_RELATE_DIR", _SHARED / "relate", "real RELATE ratings")


@pytest.fixture(scope="session")
def categories_path() -> Path:
    """The real XACLE category table (``tempo_notempo_2_2024-12-11.csv``), or skip."""
    return _real_path(
        "HUMANCLAP_CATEGORIES",
        _SHARED / "audiocaps-categories" / _CATEGORIES_FILE,
        "AudioSet category table",
    )
