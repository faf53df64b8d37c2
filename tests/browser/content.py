"""Two checks of the built book's content that need no browser: internal links whose anchor
does not exist, and real systems' names on a simulated page.

``make check-book`` runs both through ``check_book.py`` (:func:`content_problems`), which adds
the problems to its per-page report.

* **Anchors.** Every ``<a href>`` to a page of the site with a ``#fragment`` (the landing page's
  key findings link to chapter sections by hand) must reach a page that exists and holds an
  element with that ``id``.
* **Simulated names.** A page that ran on the embedded world (its banner says "the embedded
  simulation, NOT RELATE") shows its four text-to-audio sources as ``sim-audioldm`` ...
  (``humanclap.data.SIMULATED_SOURCES``); the appendix says "the embedded simulation (NOT
  RELATE)". A table cell, figure caption or alt text there that
  names ``audioldm``, ``audioldm2``, ``tango`` or ``tango2`` as a word (not ``sim-tango``, not a
  folder in a path such as ``/tango/test/1.wav``) is a problem: a simulated row must not be one
  screenshot away from being quoted as a real system's. Prose is not checked: the appendix says
  where the world keeps its files.

The HTML is read with :class:`html.parser.HTMLParser` (the standard library, as
``citations.py`` does).
"""

from __future__ import annotations

import html.parser
import re
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

#: What a chapter's banner says on the embedded world (humanclap.data.Dataset.label; the
#: appendix's own banner puts it in brackets).
SIMULATED_MARK = re.compile(r"the embedded simulation[ ,(]+NOT RELATE")
#: A real system's name as a word: not after "sim-" or inside a path, not before "/".
REAL_NAME = re.compile(r"(?<![-/\w])(audioldm2?|tango2?)(?![/\w-])", re.IGNORECASE)
_SKIPPED = frozenset({"search.html", "genindex.html", "py-modindex.html"})


class _Page(html.parser.HTMLParser):
    """Ids, internal links, and the text of table cells, captions and alt texts of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.labelled: list[str] = []  # cell, caption and alt texts
        self.text: list[str] = []
        self._depth = 0  # inside td/th/figcaption/caption

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag == "img" and values.get("alt"):
            self.labelled.append(str(values["alt"]))
        if tag in ("td", "th", "figcaption", "caption"):
            self._depth += 1
            self.labelled.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "figcaption", "caption") and self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._depth:
            self.labelled[-1] += data


def _read(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def _pages(site: Path, names: Iterable[str] | None) -> list[str]:
    if names is not None:
        return list(names)
    return sorted(
        p.relative_to(site).as_posix() for p in site.rglob("*.html") if p.name not in _SKIPPED
    )


def content_problems(site: str | Path, names: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Broken anchors and real systems' names on simulated pages, by page.

    Parameters
    ----------
    site : path
        The built HTML.
    names : iterable of str, optional
        Pages to check, relative to ``site`` (default every page).

    Returns
    -------
    dict
        ``{page: [problem, ...]}`` for the pages with problems.

    Raises
    ------
    FileNotFoundError
        ``site`` is not a folder.
    """
    site = Path(site)
    if not site.is_dir():
        raise FileNotFoundError(f"{site} is not a folder (build the book first: make book)")
    parsed: dict[str, _Page] = {}

    def page_of(name: str) -> _Page | None:
        if name not in parsed and (site / name).is_file():
            parsed[name] = _read(site / name)
        return parsed.get(name)

    found: dict[str, list[str]] = {}
    for name in _pages(site, names):
        page = page_of(name)
        if page is None:
            continue
        problems = _broken_anchors(name, page, page_of)
        if SIMULATED_MARK.search("".join(page.text)):
            problems += [
                f"a real system's name on a simulated page: {match.group(1)!r} in {text[:80]!r}"
                for text in page.labelled
                for match in REAL_NAME.finditer(text)
            ]
        if problems:
            found[name] = problems
    return found


def _broken_anchors(name: str, page: _Page, page_of) -> list[str]:
    problems = []
    for href in page.links:
        parts = urllib.parse.urlsplit(href)
        if parts.scheme or parts.netloc or not parts.fragment or not parts.path:
            continue  # external, or on the same page (Sphinx's own)
        target = urllib.parse.urljoin(name, urllib.parse.unquote(parts.path))
        other = page_of(target)
        if other is None:
            problems.append(f"link to a missing page: {href}")
        elif urllib.parse.unquote(parts.fragment) not in other.ids:
            problems.append(f"link to a missing anchor: {href}")
    return problems
