"""The parameters of the book's notebooks: parameter files, what a notebook declares in its
cell tagged ``parameters`` (as papermill reads it, and refused where papermill would silently
skip a line), and misspelled names refused with the closest declared one."""

from __future__ import annotations

import ast
import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "NotebookError",
    "check_parameter_names",
    "declared_parameters",
    "load_params",
    "resolve_parameters",
    "unknown_parameters",
]


class NotebookError(RuntimeError):
    """A notebook could not be run: missing, unparameterised, bad parameters or a failing cell."""


def load_params(path: str | os.PathLike | None) -> dict[str, Any]:
    """Read a parameters file (``common`` and ``notebooks`` sections).

    Returns
    -------
    dict
        ``{"common": {...}, "notebooks": {stem: {...}}}``; empty sections when ``path`` is None.
    """
    if path is None:
        return {"common": {}, "notebooks": {}}
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise NotebookError(f"{path}: cannot read the parameters file ({exc})") from exc
    unknown = set(data) - {"common", "notebooks"}
    if unknown:
        raise NotebookError(
            f"{path}: unknown top-level keys {sorted(unknown)}; expected 'common' and 'notebooks'"
        )
    common = data.get("common") or {}
    notebooks = data.get("notebooks") or {}
    if not isinstance(common, dict) or not isinstance(notebooks, dict):
        raise NotebookError(f"{path}: 'common' and 'notebooks' must be mappings")
    for name, values in notebooks.items():
        if not isinstance(values, dict):
            raise NotebookError(f"{path}: notebooks.{name} must be a mapping of parameters")
    return {"common": common, "notebooks": notebooks}


def declared_parameters(notebook: str | os.PathLike) -> dict[str, Any]:
    """The parameters a notebook declares in its cell tagged ``parameters``.

    Returns
    -------
    dict
        ``{name: {"default": str, "inferred_type_name": str, "help": str}}`` as papermill infers
        them.

    Raises
    ------
    NotebookError
        If the notebook is missing, unreadable or has no cell tagged ``parameters``.
    """
    import nbformat  # lazy: papermill and nbformat take a second to import
    import papermill as pm  # lazy: as above

    path = Path(notebook)
    if not path.is_file():
        raise NotebookError(f"{path}: notebook not found")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        raise NotebookError(f"{path}: not a readable notebook ({exc})") from exc
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise NotebookError(f"{path}: no cell is tagged 'parameters'")
    declared = dict(pm.inspect_notebook(str(path)))
    unread = sorted(_assigned_names(cells[0].source, path) - set(declared))
    if unread:
        # papermill reads the cell line by line and skips a line it cannot parse (for example a
        # comment holding " = "); the parameter would then be silently left at its default.
        raise NotebookError(
            f"{path}: papermill cannot read parameter(s) {unread} of the cell tagged "
            "'parameters' (reword the line, e.g. a comment with ' = ' in it)"
        )
    return declared


def _assigned_names(source: str, path: Path) -> set[str]:
    """Names the ``parameters`` cell assigns at its top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise NotebookError(f"{path}: the cell tagged 'parameters' is not Python ({exc})") from exc
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def unknown_parameters(
    where: object, given: Iterable[str], declared: Iterable[str]
) -> NotebookError | None:
    """The error for names in ``given`` that are not in ``declared`` (``None`` when all are),
    naming the closest declared name of each (:func:`difflib.get_close_matches`)."""
    declared = sorted(set(declared))
    unknown = sorted(set(given) - set(declared))
    if not unknown:
        return None
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, declared, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return NotebookError(
        f"{where}: unknown parameter(s) {', '.join(hints)}; declared: {', '.join(declared)}"
    )


def resolve_parameters(
    name: str, declared: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, Any]:
    """The values notebook ``name`` runs with: the ``common`` ones it declares, then its own
    (an own value it does not declare is a :class:`NotebookError`)."""
    common = {k: v for k, v in params.get("common", {}).items() if k in declared}
    own = dict(params.get("notebooks", {}).get(name, {}))
    error = unknown_parameters(name, own, declared)
    if error is not None:
        raise error
    return {**common, **own}


def check_parameter_names(
    names: list[str], source_dir: Path, params: Mapping[str, Any], overrides: Mapping[str, Any]
) -> None:
    """Refuse a misspelled parameter before anything runs: an override that no notebook of
    ``names`` declares, or a ``common`` value that no notebook of ``source_dir`` declares.

    Raises
    ------
    NotebookError
        Naming the closest declared name of each unknown one.
    """

    def declared_in(stems: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for stem in stems:
            try:
                found |= set(declared_parameters(source_dir / f"{stem}.ipynb"))
            except NotebookError:
                continue  # reported when that notebook runs
        return found

    every = [path.stem for path in sorted(source_dir.glob("*.ipynb"))]
    for where, given, stems in (
        ("-p (overrides)", overrides, names),
        ("common (parameters file)", params.get("common", {}), every),
    ):
        error = unknown_parameters(where, given, declared_in(stems)) if given else None
        if error is not None:
            raise error
