"""Where humanclap keeps files it downloads or computes (RELATE's ratings, worlds, models,
embeddings, fine-tuning runs).

The root is ``$HUMANCLAP_CACHE`` if set, else ``$XDG_CACHE_HOME/humanclap``, else
``~/.cache/humanclap``; it is read from the environment at every call, so tests and users can
move it at any time. Nothing here creates folders.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_CACHE", "cache_dir", "user_cache_dir"]

#: Environment variable naming the cache root.
ENV_CACHE = "HUMANCLAP_CACHE"


def user_cache_dir() -> Path:
    """The cache root (not created here).

    Returns
    -------
    Path
        ``$HUMANCLAP_CACHE``, else ``$XDG_CACHE_HOME/humanclap``, else ``~/.cache/humanclap``.
    """
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "humanclap"


def cache_dir(*parts: str) -> Path:
    """A folder below the cache root, e.g. ``cache_dir("embeddings")`` (not created here)."""
    return user_cache_dir().joinpath(*parts)
