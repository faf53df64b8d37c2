"""Reading a small JSON object file (settings, lock files) with one error message."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["read_json_object"]


def read_json_object(path: str | os.PathLike, what: str = "", fix: str = "") -> dict[str, Any]:
    """The JSON object in ``path``; ``{}`` when there is no such file.

    Parameters
    ----------
    path : path-like
    what : str
        What the file is, for the message (``"humanclap's Hub lock file"``).
    fix : str
        What to do about a bad file, appended to the message (``"delete it to record anew"``).

    Raises
    ------
    ValueError
        The file is not readable JSON or not an object, naming it.
    """
    path = Path(path)
    if not path.is_file():
        return {}
    name = f"{path}: {what + ' ' if what else ''}"
    tail = f"; {fix}" if fix else ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{name}not readable JSON ({err}){tail}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{name}not a JSON object{tail}")
    return data
