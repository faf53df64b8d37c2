"""Find the citations and glossary terms of the built book that did not resolve.

Usage::

    python tests/browser/citations.py [SITE]

``SITE`` is the built HTML (default ``_build/html``); every ``*.html`` under it is read (no
browser is needed). ``make check-book`` runs this through ``check_book.py``, which adds the
problems to its per-page report.

How the book's roles render, and what counts as unresolved (the exact rules):

* ``{cite:p}`key``` / ``{cite:t}`key``` (sphinxcontrib-bibtex): a ``<span class="bibtex-citation">``
  holding one ``<a href="references.html#...">`` per key it found. A key it could not find leaves
  no link in the span: **a citation span without a link** is a problem, and so is **a link whose
  target page or anchor does not exist** (a references page left out of the build, say).
* ``{term}`name``` (Sphinx's glossary): an ``<a>`` around ``<span class="xref std std-term">``.
  A term not in the glossary stays a bare span: **a ``std-term`` span outside any link** is a
  problem, as is **a term link whose target page or anchor does not exist**.
* A role that was not parsed at all (the extension missing from ``_config.yml``, a misspelt role
  name): docutils marks it ``class="problematic"``, or the role's text shows literally. **An
  element of class ``problematic``**, and **the text ``{cite`` or ``{term}`` outside ``<pre>``
  and ``<code>``**, are problems.

Sphinx warns about the first two cases too, so ``make book`` (``-W``) already fails on them; this
check finds them in whatever HTML it is given (a build made without ``-W``, an old build, one
made with another configuration).

The HTML is read with :class:`html.parser.HTMLParser` (the standard library, as ``check_book.py``
does, so the check needs no package beyond Python): Sphinx writes well-formed markup, so a stack
of open elements is enough to know what encloses what.
"""

from __future__ import annotations

import argparse
import html.parser
import posixpath
import re
import sys
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Elements without an end tag, never pushed on the stack.
VOID_TAGS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
#: Role text that shows literally when a role was not parsed.
LITERAL_ROLE = re.compile(r"\{(?:cite(?::[a-z]+)*|term)\}")
#: Generated pages that hold no roles (Sphinx's search and index pages).
SKIPPED_NAMES = frozenset({"search.html", "genindex.html", "py-modindex.html"})


@dataclass
class _Element:
    tag: str
    classes: frozenset[str]
    href: str | None
    links: int = 0  # <a href> elements seen inside (counted for a citation span)
    unlinked_term: bool = False  # a glossary-term span outside any link
    text: list[str] = field(default_factory=list)  # its text (kept for the two above)


@dataclass
class PageScan:
    """What one page holds: its anchors, its links to check and the problems seen in it."""

    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, str]] = field(default_factory=list)  # (kind, href)
    problems: list[str] = field(default_factory=list)


class _Scanner(html.parser.HTMLParser):
    """Collect anchors, citation and term links, and unresolved roles of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = PageScan()
        self.stack: list[_Element] = []

    def _inside(self, tag: str | None = None, cls: str | None = None) -> _Element | None:
        for element in reversed(self.stack):
            if (tag is None or element.tag == tag) and (cls is None or cls in element.classes):
                return element
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        for key in ("id", "name"):
            if values.get(key) and (key == "id" or tag == "a"):
                self.scan.ids.add(values[key])
        classes = frozenset(values.get("class", "").split())
        element = _Element(tag, classes, values.get("href") if tag == "a" else None)
        if "problematic" in classes:
            self.scan.problems.append(f"unparsed role or markup (class problematic): <{tag}>")
        if element.href is not None:
            citation = self._inside(cls="bibtex-citation")
            if citation is not None:
                citation.links += 1
                self.scan.links.append(("citation", element.href))
        if "std-term" in classes:
            link = self._inside(tag="a")
            if link is None or link.href is None:
                element.unlinked_term = True  # reported with its text on the end tag
            else:
                self.scan.links.append(("term", link.href))
        if tag not in VOID_TAGS:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS and self.stack and self.stack[-1].tag == tag:
            self._close(self.stack.pop())

    def handle_endtag(self, tag: str) -> None:
        if not any(element.tag == tag for element in self.stack):
            return  # a stray end tag: nothing to close
        while self.stack:
            element = self.stack.pop()
            self._close(element)
            if element.tag == tag:
                break

    def _close(self, element: _Element) -> None:
        text = " ".join("".join(element.text).split())
        if "bibtex-citation" in element.classes and element.links == 0:
            self.scan.problems.append(f"unresolved citation (no link): {text or '(empty)'!r}")
        if element.unlinked_term:
            self.scan.problems.append(f"term not in the glossary: {text!r}")

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            if element.unlinked_term or "bibtex-citation" in element.classes:
                element.text.append(data)
        if self._inside(tag="pre") is None and self._inside(tag="code") is None:
            if self._inside(tag="script") is None and self._inside(tag="style") is None:
                for match in LITERAL_ROLE.finditer(data):
                    start = max(0, match.start() - 30)
                    context = " ".join(data[start : match.end() + 40].split())
                    self.scan.problems.append(f"role shown as text: {context!r}")


def scan_page(text: str) -> PageScan:
    """Scan one page's HTML (see the module docstring for the rules).

    Parameters
    ----------
    text : str
        The page's HTML.

    Returns
    -------
    PageScan
        Its ids, its citation and term links (not yet checked against their targets) and the
        problems found in the page alone.
    """
    scanner = _Scanner()
    scanner.feed(text)
    scanner.close()
    for element in reversed(scanner.stack):  # elements left open at the end of the file
        scanner._close(element)
    return scanner.scan


def list_pages(site: Path) -> list[str]:
    """The HTML pages of ``site`` to scan, relative POSIX paths, sorted.

    Pages under a folder whose name starts with ``_`` (the theme's ``_static``, the sources in
    ``_sources``) and Sphinx's generated search and index pages are left out.
    """
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site)
        if rel.name in SKIPPED_NAMES or any(part.startswith("_") for part in rel.parts[:-1]):
            continue
        pages.append(rel.as_posix())
    return pages


def _target_problem(page: str, href: str, site: Path, ids: dict[str, set[str]]) -> str | None:
    """Why ``href`` (a link on ``page``) does not lead to an existing page and anchor, or None."""
    parts = urllib.parse.urlsplit(href)
    if parts.scheme or parts.netloc:
        return None  # an external link (a DOI, say) is not the book's to resolve
    target = page
    if parts.path:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page), parts.path))
    if target not in ids:
        if not (site / target).is_file():
            return f"missing page {target}"
        ids[target] = scan_page((site / target).read_text(encoding="utf-8", errors="replace")).ids
    fragment = urllib.parse.unquote(parts.fragment)
    if fragment and fragment not in ids[target]:
        return f"no anchor #{fragment} in {target}"
    return None


def unresolved_references(
    site: Path | str, pages: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """The unresolved citations and glossary terms of a built book, page by page.

    Parameters
    ----------
    site : path
        The built HTML (``_build/html``).
    pages : iterable of str, optional
        Pages to scan, relative POSIX paths; default :func:`list_pages`.

    Returns
    -------
    dict of str -> list of str
        Each page with at least one problem, and its problems in the order found.

    Raises
    ------
    FileNotFoundError
        ``site`` is not a folder, or a page in ``pages`` does not exist (named).
    """
    site = Path(site)
    if not site.is_dir():
        raise FileNotFoundError(f"{site}: not a folder (build the book first: make book)")
    pages = list_pages(site) if pages is None else list(pages)
    scans: dict[str, PageScan] = {}
    for page in pages:
        path = site / page
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such page")
        scans[page] = scan_page(path.read_text(encoding="utf-8", errors="replace"))
    ids = {page: scan.ids for page, scan in scans.items()}
    found: dict[str, list[str]] = {}
    for page, scan in scans.items():
        problems = list(scan.problems)
        for kind, href in scan.links:
            why = _target_problem(page, href, site, ids)
            if why:
                problems.append(f"{kind} link {href!r} leads nowhere: {why}")
        if problems:
            found[page] = problems
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", default="_build/html", help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        found = unresolved_references(args.site)
    except FileNotFoundError as error:
        print(f"citations: {error}", file=sys.stderr)
        return 2
    for page, problems in found.items():
        print(f"FAIL  {page}")
        for problem in problems:
            print(f"        - {problem}")
    total = sum(len(problems) for problems in found.values())
    print(
        f"citations: {len(list_pages(Path(args.site)))} pages, {total} unresolved on {len(found)}"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
