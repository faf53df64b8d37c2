"""The book's scholarly apparatus: CITATION.cff, the "Cite this book" block, the bibliography,
the glossary, and tests/browser/citations.py (the unresolved-reference check of make check-book).

CITATION.cff and the landing page's BibTeX block must state the version of pyproject.toml, the
repository URL and title of _config.yml; every {cite} key used in notebooks/*.ipynb and book/*.md
must be in book/references.bib, every entry there must carry a DOI, an arXiv id or a URL, and every
{term} must be defined in book/glossary.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import load_script

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"
GLOSSARY = ROOT / "book" / "glossary.md"
CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)*\}`([^`]*)`")
TERM_ROLE = re.compile(r"\{term\}`([^`]*)`")
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
ARXIV_ID = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")


citations = load_script("tests/browser/citations.py", "book_citations")


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _pyproject_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def _markdown_sources() -> list[tuple[str, str]]:
    """(where, text) of every Markdown the book renders: book/*.md and the notebooks' cells."""
    sources = [
        (p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
        for p in sorted((ROOT / "book").glob("*.md"))
    ]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for number, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                where = f"{path.relative_to(ROOT).as_posix()} cell {number}"
                sources.append((where, "".join(cell["source"])))
    return sources


def _bib_entries() -> dict:
    pybtex_database = pytest.importorskip("pybtex.database", reason="the book extra is needed")
    return pybtex_database.parse_file(str(BIB), bib_format="bibtex").entries


def _glossary_terms() -> set[str]:
    text = GLOSSARY.read_text(encoding="utf-8")
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    assert block, f"{GLOSSARY}: no {{glossary}} block"
    return {
        line.strip().lower()
        for line in block.group(1).splitlines()
        if line.strip() and not line.startswith((" ", "\t"))
    }


def _book_bibtex() -> dict[str, str]:
    """The fields of the BibTeX block under "Cite this book" in book/intro.md."""
    text = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    section = text.split("## Cite this book", 1)
    assert len(section) == 2, "book/intro.md: no '## Cite this book' section"
    block = re.search(r"```bibtex\n(.*?)\n```", section[1], re.S)
    assert block, "book/intro.md: no ```bibtex block under 'Cite this book'"
    pybtex_database = pytest.importorskip("pybtex.database", reason="the book extra is needed")
    entries = pybtex_database.parse_string(block.group(1), "bibtex").entries
    assert len(entries) == 1, "the 'Cite this book' block must hold exactly one entry"
    (entry,) = entries.values()
    fields = {key.lower(): value for key, value in entry.fields.items()}
    fields["author"] = " and ".join(str(p) for p in entry.persons.get("author", []))
    return fields


def test_citation_cff_states_the_version_url_and_title_of_the_project() -> None:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    config = _config()
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version"):
        assert cff.get(key), f"CITATION.cff: '{key}' is required here"
    assert str(cff["version"]) == _pyproject_version(), "CITATION.cff version != pyproject's"
    url = config["repository"]["url"]
    assert cff["repository-code"] == url, "CITATION.cff repository-code != _config.yml's url"
    assert cff["url"] == url
    assert cff["title"] == config["title"]
    assert cff["authors"] == [{"name": config["author"]}]


def test_cite_this_book_block_matches_citation_cff() -> None:
    fields = _book_bibtex()
    config = _config()
    assert fields["version"] == _pyproject_version()
    assert fields["url"] == config["repository"]["url"]
    assert config["repository"]["url"] in fields["howpublished"]
    assert fields["year"] == str(config["copyright"])
    assert fields["title"].replace("{", "").replace("}", "") == config["title"]
    assert fields["author"].strip("{}") == config["author"]


def test_every_bib_entry_has_a_doi_an_arxiv_id_or_a_url() -> None:
    entries = _bib_entries()
    assert len(entries) >= 16, "the works issue 21 names are missing from references.bib"
    for key, entry in entries.items():
        fields = {name.lower(): value for name, value in entry.fields.items()}
        assert fields.get("doi") or fields.get("eprint") or fields.get("url"), (
            f"{BIB.name}: entry {key} has no doi, eprint or url"
        )
        if "doi" in fields:
            assert DOI.match(fields["doi"]), f"{BIB.name}: {key}: malformed doi {fields['doi']!r}"
        if "eprint" in fields:
            assert fields.get("archiveprefix", "").lower() == "arxiv", f"{key}: eprint not arXiv"
            assert ARXIV_ID.match(fields["eprint"]), f"{key}: bad arXiv id {fields['eprint']!r}"
        assert entry.persons.get("author"), f"{BIB.name}: entry {key} has no author"
        assert fields.get("year"), f"{BIB.name}: entry {key} has no year"


def test_every_cited_key_is_in_the_bibliography() -> None:
    keys = set(_bib_entries())
    cited: dict[str, list[str]] = {}
    for where, text in _markdown_sources():
        for match in CITE_ROLE.finditer(text):
            for key in match.group(1).split(","):
                cited.setdefault(key.strip(), []).append(where)
    assert cited, "no {cite} role anywhere: the chapters cite no work"
    missing = {key: places for key, places in cited.items() if key not in keys}
    assert not missing, f"cited keys not in {BIB.name}: {missing}"
    for work in ("kanamori2025relate", "takano2025humanclap", "wu2023laionclap"):
        assert work in cited, f"{work} is never cited"


def test_every_term_is_in_the_glossary() -> None:
    terms = _glossary_terms()
    assert {"srcc", "lcc", "ktau", "icc(1,1)", "icc(1,k)", "k_hm", "noise ceiling"} <= terms
    assert {"clapscore", "wsce", "sce", "mae", "holm", "q-value (bh)"} <= terms
    used = 0
    for where, text in _markdown_sources():
        for match in TERM_ROLE.finditer(text):
            role = match.group(1)
            target = re.search(r"<([^<>]+)>\s*$", role)
            term = (target.group(1) if target else role).strip().lower()
            assert term in terms, f"{where}: {{term}}`{role}` is not in {GLOSSARY.name}"
            used += 1
    assert used >= 20, "the chapters should link the glossary from the terms' first uses"


# --- tests/browser/citations.py on a fixture site ------------------------------------------


def _html(body: str) -> str:
    return f"<!doctype html><html><head><title>t</title></head><body>{body}</body></html>"


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    (tmp_path / "book").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "book" / "references.html").write_text(
        _html('<div class="citation" id="id2"><p>Kanamori et al.</p></div>'), encoding="utf-8"
    )
    (tmp_path / "book" / "glossary.html").write_text(
        _html('<dl class="glossary"><dt id="term-SRCC">SRCC</dt><dd>rank</dd></dl>'),
        encoding="utf-8",
    )
    good_citation = (
        '<span class="bibtex-citation">[<a class="reference internal" href="references.html#id2">'
        "Kanamori <em>et al.</em>, 2025</a>]</span>"
    )
    good_term = (
        '<a class="reference internal" href="glossary.html#term-SRCC">'
        '<span class="xref std std-term">SRCC</span></a>'
    )
    (tmp_path / "book" / "good.html").write_text(
        _html(
            f"<p>RELATE {good_citation} and {good_term}.</p>"
            "<pre>{cite:p}`kanamori2025relate` in a code block</pre>"
            "<p><code>{term}`SRCC`</code></p><script>var x = '{cite}';</script>"
        ),
        encoding="utf-8",
    )
    (tmp_path / "book" / "bad.html").write_text(
        _html(
            '<p>A <span class="bibtex-citation">[]</span> key not found.</p>'
            '<p><span class="xref std std-term">KTAU</span> not defined.</p>'
            '<p><span class="bibtex-citation">[<a href="references.html#id99">X, 2020</a>]</span>'
            '<a href="missing.html#term-LCC"><span class="xref std std-term">LCC</span></a></p>'
            "<p>Shown as text: {cite:p}`kim2019audiocaps` here.</p>"
            '<p><span class="problematic">{unknown}`x`</span></p>'
        ),
        encoding="utf-8",
    )
    # Left out: theme fragments and generated pages.
    (tmp_path / "_static" / "frag.html").write_text(
        _html('<span class="bibtex-citation"></span>'), encoding="utf-8"
    )
    (tmp_path / "genindex.html").write_text(_html("{term}"), encoding="utf-8")
    return tmp_path


def test_citation_check_passes_resolved_references(site: Path) -> None:
    found = citations.unresolved_references(site)
    assert "book/good.html" not in found
    assert "book/references.html" not in found and "book/glossary.html" not in found
    assert citations.list_pages(site) == [
        "book/bad.html",
        "book/glossary.html",
        "book/good.html",
        "book/references.html",
    ]


def test_citation_check_reports_each_unresolved_reference(site: Path) -> None:
    problems = citations.unresolved_references(site)["book/bad.html"]
    text = "\n".join(problems)
    assert len(problems) == 6, text
    assert "unresolved citation (no link): '[]'" in text
    assert "term not in the glossary: 'KTAU'" in text
    assert "citation link 'references.html#id99' leads nowhere: no anchor #id99" in text
    assert "term link 'missing.html#term-LCC' leads nowhere: missing page book/missing.html" in text
    assert "role shown as text" in text and "kim2019audiocaps" in text
    assert "class problematic" in text


def test_citation_check_runs_on_its_own(site: Path, capsys) -> None:
    found = citations.unresolved_references(site, ["book/good.html", "book/bad.html"])
    assert list(found) == ["book/bad.html"] and len(found["book/bad.html"]) == 6
    assert citations.main([str(site)]) == 1
    assert "6 unresolved on 1" in capsys.readouterr().out
    (site / "book" / "bad.html").unlink()
    assert citations.main([str(site)]) == 0
    assert citations.main([str(site / "nowhere")]) == 2
    with pytest.raises(FileNotFoundError, match="no such page"):
        citations.unresolved_references(site, ["book/bad.html"])
