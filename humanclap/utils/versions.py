"""The installed versions of packages, as result files and summaries record them."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata

__all__ = ["package_versions"]


def package_versions(names: Iterable[str]) -> dict[str, str | None]:
    """``{name: version}`` of the distributions ``names`` (import names: ``laion_clap`` is the
    distribution ``laion-clap``); None for one that is not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
