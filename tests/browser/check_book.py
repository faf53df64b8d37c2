"""Open every page of the built book in headless Chromium and report what a reader would hit.

Usage::

    python tests/browser/check_book.py [SITE] [--chromium PATH] [--viewport 1280x900]

``SITE`` is the built HTML (default ``_build/html``). It is served by Python's ``http.server`` on a
loopback port, and each page (``SITE/**/*.html`` except ``search.html``, ``genindex.html``,
``py-modindex.html`` and anything under a folder whose name starts with ``_``, such as the theme's
template fragments in ``_static/``) is opened in Debian's Chromium (``/usr/bin/chromium``, else
``$CHROMIUM``, else ``chromium``/``google-chrome`` on ``PATH``), driven by Playwright for Python
(no browser download). Chromium gets the flags that keep it off the network, a fresh
``--user-data-dir``, and every request that is not to the loopback server, ``data:`` or ``blob:``
is aborted, so the check never tries the network.

A page FAILS on (the exact rules):

* console: a console message of type ``error`` (this includes Chromium's "Failed to load resource"
  for a local file that answers 404), or an uncaught exception (``pageerror``). A "Failed to load
  resource" error for a request that was aborted because it left the loopback server is not a
  failure but a note, as is the aborted request itself: the book is checked offline, and a CDN
  (MathJax, say) is a reader's business.
* image: an ``<img>`` with a ``src`` that is not complete after 10 s (lazy images are made eager
  and ``<details>`` opened first), or that has ``naturalWidth == 0`` and whose ``decode()`` fails
  (an SVG without an intrinsic size decodes, and passes). An image outside the loopback server is
  a note (it was not loaded). An ``<img>`` without a ``src`` is not checked.
* media: an ``<audio>`` (or ``<video>``) whose source cannot be loaded: each is asked to load
  (``preload="auto"``) and must reach ``readyState >= 1`` (its metadata decoded) within 10 s
  without ``error`` and without ``networkState == NETWORK_NO_SOURCE``; a source URL on the loopback
  server must also answer 200 to a GET. ``data:`` sources (IPython's ``Audio``) are decoded by
  Chromium like any other.
* table: a rendered ``<table>`` inside the content column (``article.bd-article``, else ``main``,
  else ``body``) whose width (``max(scrollWidth, bounding width)``) exceeds by more than 1 px the
  room it has: the smallest content-box width (``clientWidth`` less padding) of the column and of
  each block ancestor between the table and the column. A table that scrolls inside a
  horizontal-scroll wrapper (``overflow-x: auto``/``scroll``, like pydata-sphinx-theme's
  ``pst-scrollable-table-container``) is reported too: the issue wants no column cut off behind a
  horizontal scroll, so a scroll wrapper is not an excuse. Tables nested in another table are
  measured through the outer one; tables not rendered at all (``display: none``) are a note.
* title: no ``<title>`` element, or one that is empty after stripping whitespace.
* figure: for every ``<img>`` in the content column, an ``alt`` that is missing, blank, or a file
  name or path (no space and a ``/`` or ``\\``, or ending in an image extension: MyST-NB's
  default alt is the image's path). An image in a notebook's output (``.cell_output``), in a
  ``<figure>`` or with ``data-min-text-px`` is a *figure*, and also fails when it has no numbered
  caption (a ``<figcaption>`` starting "Figure 2.3." / "Fig. 4"), and when its smallest text as
  displayed is under :data:`MIN_TEXT_PX` (10 px): ``data-min-text-px`` (written by
  ``humanclap.plots.figure_html``: the smallest font size drawn, in the image's pixels at its
  natural size) times the displayed width over ``naturalWidth``. A figure in a notebook output
  without ``data-min-text-px`` fails (it was not shown through ``Chapter.figure``); one written
  in Markdown without it is a note (not measured), as is a figure that is not rendered.

A page that is only a redirect stub (``<meta http-equiv="refresh">``, like Jupyter Book's root
``index.html``) is not opened: it passes when the page it points to exists, and fails otherwise.

Prints each page (``ok``/``FAIL`` with its problems and notes) and a summary; exits 1 when any page
has a problem, 2 when the site or Chromium cannot be found, else 0.
"""

from __future__ import annotations

import argparse
import functools
import html.parser
import http.server
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: Flags for Chromium on a machine with no network (the environment's "Known to work" list).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Generated pages that are not the book's content.
SKIPPED_NAMES = {"search.html", "genindex.html", "py-modindex.html"}
MEDIA_TIMEOUT_MS = 10_000
PAGE_TIMEOUT_MS = 30_000
#: The smallest text a figure may show, in CSS px as displayed.
MIN_TEXT_PX = 10.0
#: A numbered caption: "Figure 2.3. ...", "Figure A.1 ...", Sphinx's "Fig. 4 ...".
NUMBERED_CAPTION = re.compile(r"^(Figure|Fig\.)\s+[A-Z0-9]+(\.[0-9]+)*[.:]?(\s|$)")
#: Alt text that is a file name or a path, not a description.
PATH_LIKE_ALT = re.compile(r"^\S*[/\\]\S*$|\.(png|jpe?g|gif|svg|webp|pdf)$", re.IGNORECASE)


@dataclass
class PageResult:
    path: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    #: Each figure's label and smallest displayed text (px; None when not measured).
    figures: list[tuple[str, float | None]] = field(default_factory=list)


@dataclass
class Report:
    site: Path
    pages: list[PageResult]
    skipped: list[str]
    browser_version: str
    seconds: float

    @property
    def failed(self) -> list[PageResult]:
        return [page for page in self.pages if page.problems]


def find_chromium(explicit: str | None = None) -> str | None:
    """``explicit``, else ``$CHROMIUM``, else Debian's ``/usr/bin/chromium``, else one on PATH."""
    for candidate in (explicit, os.environ.get("CHROMIUM")):
        if candidate:
            return candidate if Path(candidate).exists() else shutil.which(candidate)
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def list_pages(site: Path) -> tuple[list[Path], list[str]]:
    """The pages to open, and the HTML files left out (relative to ``site``)."""
    pages: list[Path] = []
    skipped: list[str] = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site)
        if rel.name in SKIPPED_NAMES or any(part.startswith("_") for part in rel.parts[:-1]):
            skipped.append(rel.as_posix())
        else:
            pages.append(rel)
    return pages, skipped


class _RefreshFinder(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.target: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key.lower(): (value or "") for key, value in attrs}
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            content = values.get("content", "")
            _, _, rest = content.partition(";")
            rest = rest.strip()
            if rest.lower().startswith("url="):
                rest = rest[4:]
            self.target = rest.strip().strip("'\"")


def redirect_target(path: Path) -> str | None:
    """The URL of a ``<meta http-equiv="refresh">`` redirect stub, else None."""
    finder = _RefreshFinder()
    finder.feed(path.read_text(encoding="utf-8", errors="replace"))
    return finder.target


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` on a free loopback port; yields the base URL (ending in ``/``)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _http_status(url: str) -> int | str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError as error:
        return f"{type(error).__name__}: {error}"


def _short(url: str | None, limit: int = 100) -> str:
    if not url:
        return "(none)"
    if url.startswith("data:"):
        return f"{url[: url.find(',') + 1]}... ({len(url)} chars)"
    return url if len(url) <= limit else url[: limit - 3] + "..."


# Runs in the page once it has loaded; returns what the rules above need.
_PAGE_SCRIPT = """
async ({mediaTimeoutMs}) => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const until = async (done, ms) => {
    const end = Date.now() + ms;
    while (!done() && Date.now() < end) await sleep(50);
  };
  const clean = (text) => (text || '').replace(/[#\\u00b6]\\s*$/, '').replace(/\\s+/g, ' ').trim();
  const describe = (el) => '<' + el.tagName.toLowerCase()
    + (el.id ? ' id="' + el.id + '"' : '')
    + (el.className && typeof el.className === 'string' ? ' class="' + el.className + '"' : '') + '>';

  document.querySelectorAll('details').forEach((d) => { d.open = true; });

  // Images.
  const imgs = [...document.querySelectorAll('img')];
  imgs.forEach((img) => { if (img.loading === 'lazy') img.loading = 'eager'; });
  await until(() => imgs.every((img) => img.complete), mediaTimeoutMs);
  const images = [];
  for (const img of imgs) {
    const item = {src: img.getAttribute('src'), url: img.currentSrc || img.src, complete: img.complete,
                  naturalWidth: img.naturalWidth, decodes: null};
    if (img.complete && img.naturalWidth === 0 && item.src) {
      item.decodes = await Promise.race([img.decode().then(() => true, () => false), sleep(2000).then(() => false)]);
    }
    images.push(item);
  }

  // Audio and video.
  const media = [...document.querySelectorAll('audio, video')];
  const settled = (m) => m.readyState >= 1 || m.error !== null || m.networkState === 3;
  media.forEach((m) => { if (!settled(m)) { m.preload = 'auto'; m.load(); } });
  await until(() => media.every(settled), mediaTimeoutMs);
  const medias = media.map((m) => ({
    tag: m.tagName.toLowerCase(),
    sources: [m.getAttribute('src'), ...[...m.querySelectorAll('source')].map((s) => s.getAttribute('src'))]
      .filter((s) => s),
    urls: [m.src, ...[...m.querySelectorAll('source')].map((s) => s.src)].filter((s) => s),
    readyState: m.readyState, networkState: m.networkState,
    error: m.error ? {code: m.error.code, message: m.error.message} : null,
    duration: m.duration,
  }));

  // Tables.
  const column = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const contentWidth = (el) => {
    const cs = getComputedStyle(el);
    return el.clientWidth - parseFloat(cs.paddingLeft || 0) - parseFloat(cs.paddingRight || 0);
  };
  const columnWidth = contentWidth(column);
  const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')];
  const tables = [];
  [...column.querySelectorAll('table')].forEach((t, index) => {
    if (t.parentElement && t.parentElement.closest('table')) return;
    const rows = [...t.rows];
    const head = t.querySelector('caption') ? clean(t.querySelector('caption').innerText)
      : rows.length ? [...rows[0].cells].map((c) => clean(c.innerText)).join(' | ') : '';
    const before = headings.filter((h) => h.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING);
    const item = {index: index + 1, head, section: before.length ? clean(before[before.length - 1].innerText) : '',
                  columns: Math.max(0, ...rows.map((r) => r.cells.length)), rendered: t.getClientRects().length > 0,
                  width: 0, room: columnWidth, limiter: 'the content column', scroller: null, clipper: null};
    if (item.rendered) {
      item.width = Math.max(t.scrollWidth, t.getBoundingClientRect().width);
      for (let a = t.parentElement; a && a !== column && a !== document.body; a = a.parentElement) {
        const cs = getComputedStyle(a);
        if (cs.display.startsWith('inline') || cs.display.startsWith('table') || cs.display === 'contents') continue;
        const w = contentWidth(a);
        if (w > 0 && w < item.room - 0.5) { item.room = w; item.limiter = describe(a); }
        if (!item.scroller && (cs.overflowX === 'auto' || cs.overflowX === 'scroll')) item.scroller = describe(a);
        if (!item.clipper && (cs.overflowX === 'hidden' || cs.overflowX === 'clip')) item.clipper = describe(a);
      }
    }
    tables.push(item);
  });

  // Images of the content column, as figures: alt text, caption, displayed and natural width.
  const figures = [...column.querySelectorAll('img')].map((img, index) => {
    const figure = img.closest('figure');
    const caption = figure ? figure.querySelector('figcaption') : null;
    const size = img.getAttribute('data-min-text-px');
    return {index: index + 1, src: img.getAttribute('src'), alt: img.getAttribute('alt'),
            inOutput: img.closest('.cell_output') !== null, inFigure: figure !== null,
            caption: caption ? clean(caption.innerText) : null,
            minTextPx: size === null ? null : parseFloat(size),
            naturalWidth: img.naturalWidth, displayedWidth: img.getBoundingClientRect().width,
            rendered: img.getClientRects().length > 0};
  });

  // The document's title element, as document.title finds it (not an SVG <title>).
  const titleElement = [...document.getElementsByTagName('title')]
    .find((t) => t.namespaceURI === 'http://www.w3.org/1999/xhtml');
  return {
    title: titleElement ? titleElement.textContent : null,
    images, medias, tables, figures, columnWidth,
    columnElement: describe(column),
  };
}
"""


def figure_problems(
    figures: Sequence[dict],
) -> tuple[list[str], list[str], list[tuple[str, float | None]]]:
    """The figure rules (module docstring) for the content column's images, as the page script
    reports them: ``(problems, notes, measured)``, ``measured`` holding each figure's label and
    its smallest displayed text in px (None when not measured)."""
    problems: list[str] = []
    notes: list[str] = []
    measured: list[tuple[str, float | None]] = []
    for image in figures:
        caption = image["caption"] or ""
        numbered = NUMBERED_CAPTION.match(caption)
        label = numbered.group(0).strip().rstrip(".:") if numbered else (
            f"image #{image['index']} ({_short(image['src'], 60)})"
        )  # fmt: skip
        alt = (image["alt"] or "").strip()
        if not alt:
            problems.append(f"{label}: no alt text")
        elif PATH_LIKE_ALT.search(alt) or alt == (image["src"] or "").strip():
            problems.append(f"{label}: alt text is a file name or path ({alt[:80]!r})")
        is_figure = image["inOutput"] or image["inFigure"] or image["minTextPx"] is not None
        if not is_figure:
            continue
        if not numbered:
            problems.append(
                f"{label}: a figure without a numbered caption "
                f"({'caption ' + repr(caption[:60]) if caption else 'no <figcaption>'})"
            )
        size = image["minTextPx"]
        if size is None:
            (problems if image["inOutput"] else notes).append(
                f"{label}: text size not recorded (no data-min-text-px; a notebook's figure is "
                "shown through Chapter.figure)"
            )
            measured.append((label, None))
        elif not image["rendered"] or not image["naturalWidth"] or not image["displayedWidth"]:
            notes.append(f"{label} is not rendered (hidden or not decoded), text not measured")
            measured.append((label, None))
        else:
            shown = size * image["displayedWidth"] / image["naturalWidth"]
            measured.append((label, shown))
            if shown < MIN_TEXT_PX:
                problems.append(
                    f"{label}: smallest text {shown:.1f}px as displayed (under {MIN_TEXT_PX:g}px: "
                    f"{size:g}px at its natural {image['naturalWidth']}px width, shown "
                    f"{image['displayedWidth']:.0f}px wide)"
                )
    return problems, notes, measured


def _forget_visit(context, page) -> None:
    """Close ``page`` and forget its storage, so that every page is checked as a first visit."""
    try:
        page.evaluate(
            "() => { try { localStorage.clear(); sessionStorage.clear(); } catch (e) {} }"
        )
    except Exception:
        pass  # a page that failed to load has nothing stored
    page.close()
    context.clear_cookies()


def _check_page(
    context, base: str, rel: Path, result: PageResult, *, media_timeout_ms: int
) -> None:
    console: list[str] = []
    external: list[str] = []

    def on_route(route) -> None:
        url = route.request.url
        if url.startswith(base) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            external.append(url)
            route.abort("blockedbyclient")

    def on_console(message) -> None:
        if message.type != "error":
            return
        location = message.location or {}
        url = location.get("url") or ""
        if message.text.startswith("Failed to load resource") and url and not url.startswith(base):
            return  # an external request this check aborted: noted below
        where = f" ({url.removeprefix(base)}:{location.get('lineNumber', 0) + 1})" if url else ""
        console.append(f"console error: {message.text}{where}")

    def on_page_error(error) -> None:
        name = getattr(error, "name", "") or "Error"
        console.append(f"uncaught {name}: {getattr(error, 'message', str(error))}")

    page = context.new_page()
    page.route("**/*", on_route)
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    try:
        page.goto(base + urllib.parse.quote(rel.as_posix()), wait_until="load")
        data = page.evaluate(_PAGE_SCRIPT, {"mediaTimeoutMs": media_timeout_ms})
        page.wait_for_timeout(100)  # late console messages
    except Exception as error:  # a page that cannot be opened is a problem of that page
        result.problems.append(f"could not be checked: {type(error).__name__}: {error}")
        data = None
    finally:
        _forget_visit(context, page)
    if data is None:
        return

    result.problems.extend(console)
    elements = {image["url"] for image in data["images"]}
    elements.update(url for media in data["medias"] for url in media["urls"])
    for url in dict.fromkeys(external):
        if url not in elements:  # those get their own note below
            result.notes.append(f"external request not loaded (offline check): {_short(url)}")

    if data["title"] is None:
        result.problems.append("no <title>")
    elif not data["title"].strip():
        result.problems.append("empty <title>")

    for image in data["images"]:
        url = image["url"] or ""
        if not image["src"]:
            continue
        if not url.startswith((base, "data:", "blob:")):
            result.notes.append(f"external image not loaded (offline check): {_short(url)}")
        elif not image["complete"]:
            result.problems.append(f"image did not load in time: {_short(image['src'])}")
        elif image["naturalWidth"] == 0 and not image["decodes"]:
            status = _http_status(url) if url.startswith(base) else "data: URL"
            result.problems.append(
                f"broken image (naturalWidth 0, HTTP {status}): {_short(image['src'])}"
            )

    for number, media in enumerate(data["medias"], start=1):
        what = f"{media['tag']} #{number} ({', '.join(_short(s, 60) for s in media['sources']) or 'no source'})"
        why = []
        if not media["sources"]:
            why.append("no src and no <source>")
        if media["error"]:
            why.append(f"MediaError {media['error']['code']} {media['error']['message']}".strip())
        elif media["networkState"] == 3:
            why.append("no source could be loaded (NETWORK_NO_SOURCE)")
        elif media["readyState"] < 1:
            why.append(f"metadata not loaded within {media_timeout_ms // 1000} s")
        for url in media["urls"]:
            if url.startswith(base):
                status = _http_status(url)
                if status != 200:
                    why.append(f"{url.removeprefix(base)} answers {status}")
            elif not url.startswith(("data:", "blob:")):
                result.notes.append(
                    f"external {media['tag']} source not loaded (offline check): {_short(url)}"
                )
        if why:
            result.problems.append(f"broken {what}: {'; '.join(why)}")

    for table in data["tables"]:
        label = f"table #{table['index']}"
        if table["section"]:
            label += f" in '{table['section'][:60]}'"
        label += f" ({table['columns']} columns: {table['head'][:70]!r})"
        if not table["rendered"]:
            result.notes.append(f"{label} is not rendered (hidden), not measured")
            continue
        if table["width"] > table["room"] + 1:
            if table["scroller"]:
                how = f"behind a horizontal scroll in {table['scroller']}"
            elif table["clipper"]:
                how = f"cut off by overflow hidden in {table['clipper']}"
            else:
                how = "spilling out of the column"
            result.problems.append(
                f"{label} is {table['width']:.0f}px wide but has {table['room']:.0f}px "
                f"({table['limiter']}): {table['width'] - table['room']:.0f}px {how}"
            )

    problems, notes, measured = figure_problems(data["figures"])
    result.problems.extend(problems)
    result.notes.extend(notes)
    result.figures.extend(measured)

    result.counts = {
        "images": len(data["images"]),
        "media": len(data["medias"]),
        "tables": len(data["tables"]),
        "column_px": round(data["columnWidth"]),
    }


def check_site(
    site: Path,
    *,
    chromium: str,
    viewport: tuple[int, int] = (1280, 900),
    media_timeout_ms: int = MEDIA_TIMEOUT_MS,
) -> Report:
    """Check every page of ``site`` (see the module docstring for the rules)."""
    from playwright.sync_api import sync_playwright

    start = time.monotonic()
    site = Path(site).resolve()
    pages, skipped = list_pages(site)
    results: list[PageResult] = []
    to_open: list[Path] = []
    for rel in pages:
        target = redirect_target(site / rel)
        if target is None:
            to_open.append(rel)
            continue
        result = PageResult(rel.as_posix())
        local = urllib.parse.urlsplit(target)
        if local.scheme or local.netloc:
            result.notes.append(f"redirect stub to an external URL, not opened: {target}")
        else:
            dest = (site / rel).parent / urllib.parse.unquote(local.path)
            if dest.is_dir():
                dest = dest / "index.html"
            if dest.is_file():
                result.notes.append(f"redirect stub to {target} (checked as its own page)")
            else:
                result.problems.append(f"redirect stub to a missing page: {target}")
        results.append(result)

    with (
        serve(site) as base,
        sync_playwright() as playwright,
        tempfile.TemporaryDirectory(prefix="check-book-profile-") as profile,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": viewport[0], "height": viewport[1]},
            service_workers="block",
        )
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        version = context.browser.version if context.browser else "?"
        try:
            for rel in to_open:
                result = PageResult(rel.as_posix())
                _check_page(context, base, rel, result, media_timeout_ms=media_timeout_ms)
                results.append(result)
        finally:
            context.close()

    results.sort(key=lambda r: r.path)
    return Report(site, results, skipped, version, time.monotonic() - start)


def print_report(report: Report, out=None) -> None:
    out = out or sys.stdout
    for page in report.pages:
        print(f"{'FAIL' if page.problems else 'ok  '}  {page.path}", file=out)
        for problem in page.problems:
            print(f"        - {problem}", file=out)
        for note in page.notes:
            print(f"        . note: {note}", file=out)
    totals = {
        key: sum(p.counts.get(key, 0) for p in report.pages)
        for key in ("images", "media", "tables")
    }
    columns = sorted({p.counts["column_px"] for p in report.pages if "column_px" in p.counts})
    n_problems = sum(len(p.problems) for p in report.pages)
    figures = [size for p in report.pages for _, size in p.figures]
    sizes = [size for size in figures if size is not None]
    smallest = f", smallest text {min(sizes):.1f} px as displayed" if sizes else ""
    print(
        f"check_book: {len(report.pages)} pages checked in Chromium {report.browser_version} "
        f"({totals['images']} images, {len(figures)} figures{smallest}, "
        f"{totals['media']} audio/video, {totals['tables']} tables; "
        f"content column {'/'.join(map(str, columns)) or '?'} px); "
        f"skipped {len(report.skipped)} non-content HTML files; "
        f"{n_problems} problems on {len(report.failed)} pages; {report.seconds:.1f} s",
        file=out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "site", nargs="?", default="_build/html", help="built HTML (default: %(default)s)"
    )
    parser.add_argument(
        "--chromium", help="Chromium executable (default: $CHROMIUM, /usr/bin/chromium)"
    )
    parser.add_argument(
        "--viewport", default="1280x900", help="WIDTHxHEIGHT (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    site = Path(args.site)
    if not site.is_dir():
        print(
            f"check_book: {site} is not a folder (build the book first: make book)", file=sys.stderr
        )
        return 2
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print(
            "check_book: no Chromium found (apt-get install chromium, or --chromium PATH)",
            file=sys.stderr,
        )
        return 2
    try:
        width, height = (int(v) for v in args.viewport.lower().split("x"))
    except ValueError:
        parser.error(f"--viewport: expected WIDTHxHEIGHT, got {args.viewport!r}")
    if not list_pages(site)[0]:
        print(f"check_book: no HTML pages in {site}", file=sys.stderr)
        return 2
    report = check_site(site, chromium=chromium, viewport=(width, height))
    # Citations and glossary terms that did not resolve (tests/browser/citations.py, beside this
    # script; it reads the HTML itself): added to each page's problems.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from citations import unresolved_references
    from content import content_problems

    # ... and internal links to anchors that do not exist, real systems' names on simulated
    # pages (tests/browser/content.py): each page's problems added to its report.
    names = [page.path for page in report.pages]
    for find in (unresolved_references, content_problems):
        found = find(site, names)
        for page in report.pages:
            page.problems.extend(found.get(page.path, []))
    print_report(report)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
