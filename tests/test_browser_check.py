"""tests/browser/check_book.py, the browser check of the built book, on a tiny fixture site.

The fixture site has one good page and one page per problem the check must catch (a console error
and an uncaught exception, broken images and audio, tables wider than the column, a missing and an
empty title), plus files it must leave out. A second fixture site has one page per figure rule: a
figure made by ``humanclap.plots.figure_html`` that passes, and figures with text under 10 px as
displayed, without alt text, with a path as alt text, without a numbered caption, and without a
recorded text size. The tests that open a browser are skipped when
Playwright (the ``browser`` extra) or Chromium is not installed, so ``make test`` needs neither;
``make check-book`` installs the extra and runs them.
"""

from __future__ import annotations

import base64
import io
import struct
import wave
import zlib
from pathlib import Path

import pytest
from conftest import load_script

check_book = load_script("tests/browser/check_book.py")


def _needs_browser() -> str:
    pytest.importorskip(
        "playwright.sync_api", reason="the browser extra (playwright) is not installed"
    )
    chromium = check_book.find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return chromium


def _png() -> bytes:
    """A 4x3 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * 4 for _ in range(3))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _wav() -> bytes:
    """0.1 s of 16-bit mono silence at 8 kHz."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


def _page(body: str, title: str | None = "A page", head: str = "") -> str:
    title_tag = "" if title is None else f"<title>{title}</title>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>{title_tag}{head}"
        "<style>body{margin:0} article.bd-article{width:600px;padding:0 20px}"
        " td,th{min-width:80px}</style></head>"
        f"<body><main><article class='bd-article'>{body}</article></main></body></html>"
    )


def _table(columns: int) -> str:
    head = "".join(f"<th>col_{i}</th>" for i in range(columns))
    row = "".join(f"<td>{i}</td>" for i in range(columns))
    return f"<table><thead><tr>{head}</tr></thead><tbody><tr>{row}</tr></tbody></table>"


def _write_site(root: Path, *, only_good: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pixel.png").write_bytes(_png())
    (root / "tone.wav").write_bytes(_wav())
    (root / "not-an-image.png").write_text("this is not a PNG")
    wav_uri = "data:audio/wav;base64," + base64.b64encode(_wav()).decode()
    (root / "good.html").write_text(
        _page(
            "<h1>Good</h1><p>Fine.</p>"
            "<img src='pixel.png' alt='pixel'>"
            "<img src='https://example.invalid/remote.png' alt='remote'>"
            "<audio controls src='tone.wav'></audio>"
            f"<audio controls><source src='{wav_uri}' type='audio/wav'></audio>"
            + _table(3)
            + f"<div style='overflow-x:auto'>{_table(2)}</div>",
            title="Good page",
        )
    )
    if only_good:
        return root
    (root / "console.html").write_text(
        _page(
            "<h1>Console</h1><script>console.error('boom from fixture');</script>"
            "<script>throw new Error('uncaught from fixture');</script>"
        )
    )
    (root / "broken_media.html").write_text(
        _page(
            "<h1>Broken media</h1>"
            "<img src='missing.png' alt='missing'><img src='not-an-image.png' alt='text'>"
            "<audio controls src='missing.wav'></audio>"
            "<audio controls><source src='data:audio/wav;base64,AAAAAAAA' type='audio/wav'></audio>"
        )
    )
    (root / "wide_table.html").write_text(
        _page(
            "<h1>Wide</h1><h2>Spilling</h2>"
            + _table(20)
            + "<h2>Scrolling</h2><div class='output text_html' style='overflow-x:auto'>"
            + _table(12)
            + "</div><h2>Narrow</h2>"
            + _table(2)
        )
    )
    (root / "no_title.html").write_text(
        _page(
            "<h1>No title</h1><svg width='10' height='10'><title>an SVG's</title></svg>", title=None
        )
    )
    (root / "empty_title.html").write_text(_page("<h1>Empty title</h1>", title="  "))
    (root / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=good.html" />')
    (root / "old.html").write_text('<meta http-equiv="refresh" content="0; URL=\'gone.html\'">')
    # Left out: Sphinx's generated pages and anything under a folder starting with "_".
    (root / "search.html").write_text(_page("<script>console.error('search')</script>", title=None))
    (root / "_static").mkdir()
    (root / "_static" / "fragment.html").write_text("<div>no title</div>")
    return root


# ------------------------------------------------------------------ without a browser


def test_list_pages_leaves_out_generated_pages_and_underscore_folders(tmp_path: Path) -> None:
    site = _write_site(tmp_path / "site")
    pages, skipped = check_book.list_pages(site)
    assert [p.as_posix() for p in pages] == [
        "broken_media.html",
        "console.html",
        "empty_title.html",
        "good.html",
        "index.html",
        "no_title.html",
        "old.html",
        "wide_table.html",
    ]
    assert skipped == ["_static/fragment.html", "search.html"]


def test_redirect_target(tmp_path: Path) -> None:
    site = _write_site(tmp_path / "site")
    assert check_book.redirect_target(site / "index.html") == "good.html"
    assert check_book.redirect_target(site / "old.html") == "gone.html"
    assert check_book.redirect_target(site / "good.html") is None


def test_main_without_a_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_book.main([str(tmp_path / "nowhere")]) == 2
    assert "make book" in capsys.readouterr().err


# ------------------------------------------------------------------ in Chromium


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    chromium = _needs_browser()
    site = _write_site(tmp_path_factory.mktemp("fixture-site") / "html")
    return check_book.check_site(site, chromium=chromium, media_timeout_ms=5000)


def _page_result(report, path: str):
    (page,) = [p for p in report.pages if p.path == path]
    return page


def test_every_page_is_checked_and_generated_ones_are_not(report) -> None:
    assert [p.path for p in report.pages] == [
        "broken_media.html",
        "console.html",
        "empty_title.html",
        "good.html",
        "index.html",
        "no_title.html",
        "old.html",
        "wide_table.html",
    ]
    assert report.skipped == ["_static/fragment.html", "search.html"]


def test_good_page_passes(report) -> None:
    good = _page_result(report, "good.html")
    assert good.problems == []
    assert good.counts == {"images": 2, "media": 2, "tables": 2, "column_px": 600}
    # The remote image was not fetched (no network): a note, not a problem.
    assert any("example.invalid/remote.png" in note for note in good.notes)


def test_console_error_and_uncaught_exception(report) -> None:
    problems = _page_result(report, "console.html").problems
    assert len(problems) == 2, problems
    assert any(p.startswith("console error: boom from fixture") for p in problems)
    assert any(p.startswith("uncaught Error: uncaught from fixture") for p in problems)


def test_broken_images_and_audio(report) -> None:
    problems = _page_result(report, "broken_media.html").problems
    text = "\n".join(problems)
    assert "broken image (naturalWidth 0, HTTP 404): missing.png" in text
    assert "broken image (naturalWidth 0, HTTP 200): not-an-image.png" in text
    assert any(
        p.startswith("broken audio #1 (missing.wav)") and "answers 404" in p for p in problems
    )
    assert any(p.startswith("broken audio #2 (data:audio/wav;base64,") for p in problems)
    # The 404s also show up as Chromium's console errors.
    assert any(p.startswith("console error: Failed to load resource") for p in problems)


def test_tables_wider_than_the_column(report) -> None:
    problems = [p for p in _page_result(report, "wide_table.html").problems if "table" in p]
    assert len(problems) == 2, problems
    spilling, scrolling = problems
    assert spilling.startswith("table #1 in 'Spilling' (20 columns: 'col_0 | col_1")
    assert "has 600px (the content column)" in spilling and "spilling out of the column" in spilling
    assert scrolling.startswith("table #2 in 'Scrolling' (12 columns")
    assert 'behind a horizontal scroll in <div class="output text_html">' in scrolling


def test_missing_and_empty_titles(report) -> None:
    assert _page_result(report, "no_title.html").problems == ["no <title>"]
    assert _page_result(report, "empty_title.html").problems == ["empty <title>"]


def test_redirect_stubs(report) -> None:
    index = _page_result(report, "index.html")
    assert index.problems == [] and "redirect stub to good.html" in index.notes[0]
    assert _page_result(report, "old.html").problems == [
        "redirect stub to a missing page: gone.html"
    ]


def test_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _needs_browser()
    good = _write_site(tmp_path / "good", only_good=True)
    assert check_book.main([str(good)]) == 0
    out = capsys.readouterr().out
    assert "ok    good.html" in out and "check_book: 1 pages checked" in out
    assert "0 problems on 0 pages" in out

    bad = _write_site(tmp_path / "bad")
    assert check_book.main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  console.html" in out and "7 pages" not in out


# ------------------------------------------------------------------ figures (issue 21)


def _figure_html(
    alt: str | None, caption: str | None, *, src: str = "pixel.png", extra: str = ""
) -> str:
    alt_attr = "" if alt is None else f" alt='{alt}'"
    caption_html = "" if caption is None else f"<figcaption>{caption}</figcaption>"
    return (
        f"<div class='cell_output'><figure><img src='{src}'{alt_attr} {extra}>"
        f"{caption_html}</figure></div>"
    )


def _write_figure_site(root: Path) -> Path:
    """One page per figure rule: a real figure of the book's style that passes, and one figure
    for each way to fail (text too small as displayed, no alt, a path as alt, no numbered caption,
    a notebook output image with no recorded text size)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import humanclap.plots as hp

    root.mkdir(parents=True, exist_ok=True)
    (root / "pixel.png").write_bytes(_png())
    hp.setup()
    fig, ax = plt.subplots(figsize=(hp.FIG_WIDTH, 3), layout="constrained")
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("CLAPScore")
    ax.set_ylabel("mean rating")
    good = hp.figure_html(
        hp.figure_image(fig),
        label="Figure 2.1",
        caption="A line.",
        alt="A line of the mean rating against CLAPScore.",
        anchor="figure-2-1",
    )
    plt.close(fig)
    pages = {
        # The book's own figure, 664 CSS px wide in a 600 px column: 12 px text shown at ~10.8 px.
        "figure_good.html": f"<div class='cell_output'>{good}</div>"
        + "<p><img src='pixel.png' alt='a small grey square'></p>",
        # 4 px natural width shown 2 px wide: 12 px text shown at 6 px.
        "figure_small_text.html": _figure_html(
            "A grey square standing in for a plot.", "Figure 1.1. Small text.",
            extra="width='2' data-min-text-px='12'",
        ),
        "figure_no_alt.html": _figure_html(
            None, "Figure 1.2. No alt.", extra="width='40' data-min-text-px='12'"
        )
        + _figure_html(" ", "Figure 1.3. Blank alt.", extra="width='40' data-min-text-px='12'"),
        "figure_path_alt.html": _figure_html(
            "../../_images/0f3a.png", "Figure 1.4. Path as alt.",
            extra="width='40' data-min-text-px='12'",
        ),
        "figure_no_caption.html": _figure_html(
            "A grey square standing in for a plot.", "A caption without a number.",
            extra="width='40' data-min-text-px='12'",
        )
        + _figure_html("Another grey square standing in.", None, extra="width='40' data-min-text-px='12'"),
        "figure_unrecorded.html": _figure_html(
            "A grey square shown without Chapter.figure.", "Figure 1.5. Size unknown.", extra="width='40'"
        ),
    }  # fmt: skip
    for name, body in pages.items():
        (root / name).write_text(_page(f"<h1>{name}</h1>{body}", title=name))
    return root


def _image(**overrides) -> dict:
    image = {
        "index": 1, "src": "data:image/png;base64,AAAA", "alt": "A line of y against x.",
        "inOutput": True, "inFigure": True, "caption": "Figure 2.3. A line.", "minTextPx": 24.0,
        "naturalWidth": 1328, "displayedWidth": 664.0, "rendered": True,
    }  # fmt: skip
    return {**image, **overrides}


def test_figure_rules_without_a_browser() -> None:
    problems, notes, measured = check_book.figure_problems([_image()])
    assert (problems, notes, measured) == ([], [], [("Figure 2.3", 12.0)])
    problems, _, measured = check_book.figure_problems([_image(displayedWidth=500.0)])
    assert measured == [("Figure 2.3", pytest.approx(24 * 500 / 1328))]
    assert problems == [
        "Figure 2.3: smallest text 9.0px as displayed (under 10px: 24px at its natural 1328px "
        "width, shown 500px wide)"
    ]
    for alt in (None, "", "   "):
        assert check_book.figure_problems([_image(alt=alt)])[0] == ["Figure 2.3: no alt text"]
    for alt in ("../../_images/abc.png", "figure.png", "C:\\plots\\a"):
        (problem,) = check_book.figure_problems([_image(alt=alt)])[0]
        assert problem.startswith("Figure 2.3: alt text is a file name or path")
    (problem,) = check_book.figure_problems([_image(caption="A line.")])[0]
    assert (
        problem.startswith("image #1 (data:image/png;base64,") and "without a numbered" in problem
    )
    assert check_book.figure_problems([_image(caption="Figure A.1 The world.")])[0] == []
    assert check_book.figure_problems([_image(caption="Fig. 4 Sphinx's numbering.")])[0] == []
    # Not a figure (a Markdown image with alt text): no caption or size needed.
    plain = _image(inOutput=False, inFigure=False, caption=None, minTextPx=None)
    assert check_book.figure_problems([plain]) == ([], [], [])
    # A notebook output's figure with no recorded size fails; a Markdown figure's is a note.
    (problem,) = check_book.figure_problems([_image(minTextPx=None)])[0]
    assert "text size not recorded" in problem
    problems, notes, _ = check_book.figure_problems([_image(minTextPx=None, inOutput=False)])
    assert problems == [] and "text size not recorded" in notes[0]
    problems, notes, measured = check_book.figure_problems([_image(rendered=False)])
    assert problems == [] and "not rendered" in notes[0] and measured == [("Figure 2.3", None)]


@pytest.fixture(scope="module")
def figure_report(tmp_path_factory: pytest.TempPathFactory):
    chromium = _needs_browser()
    site = _write_figure_site(tmp_path_factory.mktemp("figure-site") / "html")
    return check_book.check_site(site, chromium=chromium, media_timeout_ms=5000)


def test_the_books_figure_passes_in_a_narrower_column(figure_report) -> None:
    page = _page_result(figure_report, "figure_good.html")
    assert page.problems == [] and page.notes == []
    ((label, shown),) = page.figures
    assert label == "Figure 2.1" and 10.0 <= shown < 12.0  # scaled down to the 600 px column


def test_figure_with_small_text_fails(figure_report) -> None:
    (problem,) = _page_result(figure_report, "figure_small_text.html").problems
    assert problem.startswith("Figure 1.1: smallest text 6.0px as displayed (under 10px")


def test_figure_without_alt_text_fails(figure_report) -> None:
    problems = _page_result(figure_report, "figure_no_alt.html").problems
    assert problems == ["Figure 1.2: no alt text", "Figure 1.3: no alt text"]


def test_figure_with_a_path_as_alt_text_fails(figure_report) -> None:
    problems = _page_result(figure_report, "figure_path_alt.html").problems
    assert problems == ["Figure 1.4: alt text is a file name or path ('../../_images/0f3a.png')"]


def test_figure_without_a_numbered_caption_fails(figure_report) -> None:
    first, second = _page_result(figure_report, "figure_no_caption.html").problems
    assert first == (
        "image #1 (pixel.png): a figure without a numbered caption "
        "(caption 'A caption without a number.')"
    )
    assert second == "image #2 (pixel.png): a figure without a numbered caption (no <figcaption>)"


def test_notebook_figure_without_a_recorded_text_size_fails(figure_report) -> None:
    (problem,) = _page_result(figure_report, "figure_unrecorded.html").problems
    assert problem.startswith("Figure 1.5: text size not recorded")


def test_main_fails_on_a_figure_and_reports_the_smallest_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _needs_browser()
    site = _write_figure_site(tmp_path / "figures")
    for name in list(site.glob("figure_*.html")):
        if name.name != "figure_good.html":
            name.unlink()
    assert check_book.main([str(site)]) == 0
    assert "1 figures, smallest text 1" in capsys.readouterr().out
    (site / "figure_small.html").write_text(
        _page(_figure_html("A grey square standing in for a plot.", "Figure 1.1. Small.",
                           extra="width='2' data-min-text-px='12'"))
    )  # fmt: skip
    assert check_book.main([str(site)]) == 1
    assert "FAIL  figure_small.html" in capsys.readouterr().out
