"""Sphinx extension: launch buttons (Colab, Binder) that open a chapter's source notebook.

Jupyter Book's launch buttons (sphinx-book-theme's ``add_launch_buttons``, configured by
``launch_buttons`` and ``repository`` in ``_config.yml``) link to the page's own file in the
repository, ``book/chapters/<stem>.ipynb``. Those files are papermill's executed copies: build
output, not in git. The notebooks a reader should open are the output-stripped sources,
``notebooks/<stem>.ipynb``. This extension runs after the theme (``html-page-context`` at a later
priority) and, on a page whose document lies in a folder named by the ``launch_sources`` setting
(``{"book/chapters": "notebooks"}``: executed folder -> source folder, both relative to the
book's root), puts the source notebook's path in place of the page's in every launch URL. Host,
repository and branch stay what the theme derived from ``repository`` and ``launch_buttons``.

The theme has no setting for this: it builds the path from the page's own name
(``{path_to_docs}/{pagename}{suffix}``), so the extension rewrites that tail of each URL. A page
whose source notebook is missing loses its launch buttons, and a launch URL that does not end
with the page's path (a theme that builds them otherwise) is left alone; both log a warning,
which the book's ``--warningiserror`` build turns into an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

__all__ = ["LAUNCH_GROUP", "launch_source", "retarget_launch_buttons", "setup"]

#: The label sphinx-book-theme gives its group of launch buttons.
LAUNCH_GROUP = "launch-buttons"
#: After the theme's own ``html-page-context`` handlers (priority 501).
_PRIORITY = 502

_log = logging.getLogger(__name__)


def _repo_path(path_to_docs: str, path: str) -> str:
    """``path`` (relative to the book's root) relative to the repository's root."""
    root = path_to_docs.strip("/")
    return f"{root}/{path}" if root else path


def launch_source(
    pagename: str, sources: Mapping[str, str], root: Path, path_to_docs: str = ""
) -> str | None:
    """The repository path of the source notebook a page should launch, if it has one.

    Parameters
    ----------
    pagename : str
        Sphinx's document name, e.g. ``"book/chapters/02_clapscore_vs_humans"``.
    sources : mapping of str to str
        Executed folder -> source folder, relative to the book's root
        (``{"book/chapters": "notebooks"}``).
    root : Path
        The book's root on disk (Sphinx's source folder), where the source must exist.
    path_to_docs : str
        The book's folder within the repository (``repository.path_to_book``).

    Returns
    -------
    str or None
        ``"notebooks/02_clapscore_vs_humans.ipynb"`` (prefixed by ``path_to_docs``); None for a
        page outside every executed folder.

    Raises
    ------
    FileNotFoundError
        The page lies in an executed folder but its source notebook does not exist.
    """
    page = PurePosixPath(pagename)
    for executed, source in sources.items():
        folder = PurePosixPath(executed.strip("/"))
        if page.parent != folder:
            continue
        relative = f"{PurePosixPath(source.strip('/')) / page.name}.ipynb"
        if not (root / relative).is_file():
            raise FileNotFoundError(
                f"{pagename}: no source notebook {relative} (launch_sources maps {executed} to "
                f"{source})"
            )
        return _repo_path(path_to_docs, relative)
    return None


def retarget_launch_buttons(header_buttons: list[dict[str, Any]], old: str, new: str) -> list[str]:
    """Point the theme's launch buttons at ``new`` instead of ``old``, in place.

    Parameters
    ----------
    header_buttons : list of dict
        The page context's ``header_buttons`` (the theme's launch group has the label
        :data:`LAUNCH_GROUP` and its links in ``buttons``).
    old, new : str
        Repository paths: the page's own file, and the source notebook to open instead.

    Returns
    -------
    list of str
        The launch URLs that do not end with ``old`` (left as they were).
    """
    unchanged = []
    for group in header_buttons:
        if group.get("label") != LAUNCH_GROUP:
            continue
        for button in group.get("buttons", []):
            url = button.get("url")
            if url is None:
                continue  # a javascript button (Thebe) has no URL
            if url.endswith("/" + old):
                button["url"] = url[: -len(old)] + new
            else:
                unchanged.append(url)
    return unchanged


def _on_page(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    buttons = context.get("header_buttons") or []
    if not any(group.get("label") == LAUNCH_GROUP for group in buttons):
        return
    options = app.config.html_theme_options
    try:
        new = launch_source(
            pagename,
            app.config.launch_sources,
            Path(app.srcdir),
            options.get("path_to_docs", ""),
        )
    except FileNotFoundError as err:
        context["header_buttons"] = [g for g in buttons if g.get("label") != LAUNCH_GROUP]
        _log.warning(f"launch buttons removed: {err}", location=pagename)
        return
    if new is None:
        return
    suffix = Path(app.env.doc2path(pagename)).suffix
    if suffix != ".ipynb" and Path(app.env.doc2path(pagename)).with_suffix(".ipynb").exists():
        suffix = ".ipynb"  # as the theme does for a text notebook paired with an .ipynb
    old = _repo_path(options.get("path_to_docs", ""), f"{pagename}{suffix}")
    for url in retarget_launch_buttons(buttons, old, new):
        _log.warning(f"launch URL {url} does not end with {old}; not retargeted", location=pagename)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the ``launch_sources`` setting and the page hook."""
    app.add_config_value("launch_sources", {}, "html", types=[dict])
    app.connect("html-page-context", _on_page, priority=_PRIORITY)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
