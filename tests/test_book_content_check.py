"""tests/browser/content.py: internal links to missing anchors, and real systems' names on
simulated pages, found in a built site (fixture sites; no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_script

content = load_script("tests/browser/content.py", "book_content")

BANNER = (
    "<blockquote><p>World: the embedded simulation, NOT RELATE: synthesised audio</p></blockquote>"
)


def _site(tmp_path: Path, pages: dict[str, str]) -> Path:
    for name, body in pages.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    return tmp_path


def test_links_to_missing_anchors_and_pages_are_found(tmp_path: Path) -> None:
    site = _site(tmp_path, {
        "book/intro.html": '<a href="chapters/one.html#ceiling">ok</a>'
                           '<a href="chapters/one.html#gone">bad</a>'
                           '<a href="chapters/two.html#x">missing page</a>'
                           '<a href="https://example.org/#x">external</a><a href="#local">here</a>',
        "book/chapters/one.html": '<section id="ceiling"><h2>Ceiling</h2></section>',
    })  # fmt: skip
    found = content.content_problems(site)
    assert found == {
        "book/intro.html": [
            "link to a missing anchor: chapters/one.html#gone",
            "link to a missing page: chapters/two.html#x",
        ]
    }


def test_real_names_on_a_simulated_page_are_found_in_tables_and_figures(tmp_path: Path) -> None:
    table = "<table><tr><td>tango</td><td>sim-tango2</td><td>/audioldm/test/1.wav</td></tr></table>"
    figure = '<figure><img alt="SRCC by source: audioldm2 and sim-tango"><figcaption>Figure 2.1. sim-audioldm</figcaption></figure>'
    site = _site(tmp_path, {
        "sim.html": BANNER + table + figure + "<p>the folders audioldm and tango keep RELATE's names</p>",
        "appendix.html": "<p>World: the embedded simulation (NOT RELATE)</p>" + table,
        "real.html": table + figure,
    })  # fmt: skip
    found = content.content_problems(site)
    assert list(found) == ["appendix.html", "sim.html"]  # RELATE's pages name the real systems
    assert found["sim.html"] == [
        "a real system's name on a simulated page: 'tango' in 'tango'",
        "a real system's name on a simulated page: 'audioldm2' in "
        "'SRCC by source: audioldm2 and sim-tango'",
    ]  # not sim-*, not a folder in a path, not prose


def test_only_the_pages_asked_for_and_a_missing_site(tmp_path: Path) -> None:
    site = _site(tmp_path, {"a.html": '<a href="b.html#nope">x</a>', "b.html": "<p>b</p>"})
    assert content.content_problems(site, ["b.html", "gone.html"]) == {}
    assert content.content_problems(site, ["a.html"]) == {
        "a.html": ["link to a missing anchor: b.html#nope"]
    }
    with pytest.raises(FileNotFoundError, match="make book"):
        content.content_problems(tmp_path / "none")
