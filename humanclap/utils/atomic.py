"""Atomic writes: a file or folder appears complete at its path, or not at all.

Everything is first written to a temporary name beside the target (same folder, so the final
:func:`os.replace` is a rename on one file system) and moved onto the target only when complete.
On any error, including ``KeyboardInterrupt``, the temporary file or folder is removed and the
target is left as it was. Concurrent writers of the same target never see each other's partial
files: the last complete one wins.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "atomic_folder",
    "atomic_path",
    "atomic_torch_save",
    "atomic_write_bytes",
    "atomic_write_csv",
    "atomic_write_text",
]


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.{suffix}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary file path beside ``path``; move it onto ``path`` when the block ends.

    The caller writes the temporary file (it does not exist yet). Parent folders are created.
    With ``keep_suffix`` the temporary name ends with ``path``'s suffix too (for writers that
    look at it, such as papermill's ``.ipynb``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp" + (path.suffix if keep_suffix else ""))
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists() or tmp.is_symlink():
            _remove(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_path(path) as tmp, open(tmp, "xb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically; return ``path``."""
    with atomic_path(path) as tmp, open(tmp, "x", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return Path(path)


def atomic_write_csv(frame: pd.DataFrame, path: str | os.PathLike, **to_csv: Any) -> Path:
    """``frame.to_csv(path, **to_csv)`` atomically; return ``path``."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **to_csv)
    return Path(path)


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)`` atomically; return ``path``."""
    import torch  # lazy: torch is heavy and only this writer of the utility layer needs it

    with atomic_path(path) as tmp, open(tmp, "xb") as handle:
        torch.save(obj, handle)
    return Path(path)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a new, empty temporary folder beside ``path``; move it onto ``path`` at the end.

    Parameters
    ----------
    path : path-like
        The folder to create.
    overwrite : bool
        Replace an existing ``path`` (it is moved aside first and put back if the final move
        fails). Without it, an existing ``path`` (for example one another process finished
        first) raises :class:`FileExistsError` and is left alone.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, old = _sibling(path, "tmp"), _sibling(path, "old")
    tmp.mkdir()
    try:
        yield tmp
        if path.is_file() or path.is_symlink():
            raise FileExistsError(f"{path}: exists and is not a folder")
        if path.exists():
            if not overwrite:
                raise FileExistsError(f"{path}: exists (appeared while writing); not replaced")
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if old.exists():
                os.replace(old, path)  # put the previous folder back
            raise
    finally:
        _remove(tmp)
        _remove(old)
