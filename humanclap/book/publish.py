"""An executed chapter made ready for the published book.

After papermill has run a chapter, :func:`publish_notebook` rewrites the executed copy so that the
book shows what a reader needs and nothing of the machine it ran on:

- papermill's injected-parameters cell is tagged ``remove-cell`` (the chapter's banner states the
  values it ran with; the cell tagged ``parameters`` stays, as the list of what can be set);
- machine paths in outputs and in papermill's metadata are replaced (:func:`path_replacements`):
  the book's root becomes a relative path, the library's cache ``$HUMANCLAP_CACHE``, a folder
  named by another ``HUMANCLAP_*`` variable ``$NAME``, the temporary folder ``<tmp>`` and the
  home folder ``~``.

The rewrite is deterministic, and writing is atomic.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from humanclap.utils import atomic_write_text, user_cache_dir

__all__ = ["path_replacements", "prepare_for_book", "publish_notebook", "scrub_paths"]

#: Tag papermill gives the cell it injects.
INJECTED_TAG = "injected-parameters"
#: Jupyter Book's tag for a cell neither shown nor collapsible.
REMOVE_TAG = "remove-cell"


#: A folder matches only where a path can start and end (not inside a longer path).
_START = r"(?<![\w./~-])"
_END = r"(?=$|[/\s'\"`<>),;:\]])"


def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(os.path.expanduser(str(path)))


def path_replacements(
    root: str | os.PathLike | None = None, env: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """What each machine folder is written as in the published book, longest folder first.

    Parameters
    ----------
    root : path, optional
        The book's root (the kernels' working directory); its paths become relative.
    env : mapping, optional
        The environment (default ``os.environ``): ``HUMANCLAP_*`` variables naming folders or
        files, ``HUMANCLAP_CACHE``, ``HOME``, ``TMPDIR``.

    Returns
    -------
    list of (str, str)
        ``(folder, replacement)``; a folder is also matched through its resolved symlinks.
    """
    env = os.environ if env is None else env
    pairs: list[tuple[str, str]] = []
    for name, value in sorted(env.items()):
        if name.startswith("HUMANCLAP_") and name != "HUMANCLAP_CACHE" and value.startswith("/"):
            pairs.append((value.rstrip("/"), f"${name}"))
    pairs.append((str(user_cache_dir()), "$HUMANCLAP_CACHE"))
    if root is not None:
        pairs.append((str(Path(root).absolute()), "."))
    pairs.append((tempfile.gettempdir(), "<tmp>"))
    home = env.get("HOME") or os.path.expanduser("~")
    if home and home != "/":
        pairs.append((home, "~"))
    found: dict[str, str] = {}
    for folder, label in pairs:
        for form in (folder.rstrip("/"), _real(folder)):
            if len(form) > 1:
                found.setdefault(form, label)
    return sorted(found.items(), key=lambda item: (-len(item[0]), item[0]))


def scrub_paths(text: str, replacements: Sequence[tuple[str, str]]) -> str:
    """``text`` with each folder of ``replacements`` written as its replacement.

    A folder matches only as a whole path component (``/tmp/a`` does not match ``/tmp/ab``);
    the root's replacement ``"."`` turns ``<root>/x`` into ``x``.
    """
    for folder, label in replacements:
        start = _START + re.escape(folder)
        if label == ".":
            text = re.sub(start + "/", "", text)
        text = re.sub(start + _END, lambda _m, label=label: label, text)
    return text


def _scrub(value: Any, replacements: Sequence[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        return scrub_paths(value, replacements)
    if isinstance(value, list):
        return [_scrub(v, replacements) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, replacements) for k, v in value.items()}
    return value


def _is_text(mime: str) -> bool:
    return mime.startswith("text/") or mime in {"application/json", "image/svg+xml"}


def prepare_for_book(nb: dict, replacements: Sequence[tuple[str, str]]) -> dict:
    """An executed notebook (nbformat 4, as a dict) made ready for the book (see module doc).

    Returns
    -------
    dict
        A new notebook; ``nb`` is left as it was.
    """
    nb = json.loads(json.dumps(nb))
    for cell in nb.get("cells", []):
        tags = cell.setdefault("metadata", {}).get("tags", [])
        if INJECTED_TAG in tags and REMOVE_TAG not in tags:
            cell["metadata"]["tags"] = [*tags, REMOVE_TAG]
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _scrub(output["text"], replacements)
            if "traceback" in output:
                output["traceback"] = _scrub(output["traceback"], replacements)
            data = output.get("data", {})
            for mime in list(data):
                if _is_text(mime):
                    data[mime] = _scrub(data[mime], replacements)
    papermill = nb.get("metadata", {}).get("papermill")
    if isinstance(papermill, dict):
        nb["metadata"]["papermill"] = _scrub(papermill, replacements)
    return nb


def publish_notebook(path: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """Rewrite an executed notebook in place for the book (atomically).

    Parameters
    ----------
    path : path
        The executed notebook.
    root : path, optional
        The book's root, as for :func:`path_replacements`.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    ready = prepare_for_book(nb, path_replacements(root))
    atomic_write_text(path, json.dumps(ready, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return path
