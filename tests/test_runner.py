"""The notebook runner, on tiny fixture notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from humanclap import cli
from humanclap.book import Headline, collect_headlines
from humanclap.book import runner as nbrun
from humanclap.book.publish import scrub_paths
from humanclap.runtime import CPU_PIN_ENV


def _write_nb(path: Path, cells: list[tuple[str, list[str]]]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def book(tmp_path: Path) -> Path:
    src = tmp_path / "notebooks"
    src.mkdir()
    _write_nb(
        src / "01_ok.ipynb",
        [
            ("x = 1  # a number\nlabel = 'a'  # a label", ["parameters"]),
            ("y = x * 10\nprint(f'y={y} label={label}')", []),
        ],
    )
    _write_nb(
        src / "02_fails.ipynb",
        [("x = 1  # a number", ["parameters"]), ("raise ValueError('boom ' + str(x))", [])],
    )
    _write_nb(src / "03_noparams.ipynb", [("x = 1", [])])
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: C\n    chapters:\n"
        "      - file: book/chapters/01_ok\n      - file: book/chapters/02_fails\n"
        "      - file: book/other/not_a_chapter\n"
    )
    return tmp_path


def _outputs(path: Path) -> str:
    nb = json.loads(path.read_text())
    return "".join(
        "".join(o.get("text", ""))
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c["outputs"]
    )


def test_book_notebooks_reads_toc_in_order(book: Path) -> None:
    assert nbrun.book_notebooks(book / "_toc.yml") == ["01_ok", "02_fails"]


def test_declared_parameters(book: Path) -> None:
    declared = nbrun.declared_parameters(book / "notebooks/01_ok.ipynb")
    assert set(declared) == {"x", "label"}
    with pytest.raises(nbrun.NotebookError, match="no cell is tagged 'parameters'"):
        nbrun.declared_parameters(book / "notebooks/03_noparams.ipynb")
    with pytest.raises(nbrun.NotebookError, match="not found"):
        nbrun.declared_parameters(book / "notebooks/missing.ipynb")


def test_run_notebook_injects_parameters(book: Path) -> None:
    dst = nbrun.run_notebook(
        book / "notebooks/01_ok.ipynb", book / "out/01_ok.ipynb", {"x": 4, "label": "b"}
    )
    assert "y=40 label=b" in _outputs(dst)
    assert not list((book / "out").glob(".*"))  # no temp file left behind


def test_unknown_parameter_is_an_error(book: Path) -> None:
    with pytest.raises(
        nbrun.NotebookError, match=r"unknown parameter\(s\) 'z'; declared: label, x"
    ):
        nbrun.run_notebook(book / "notebooks/01_ok.ipynb", book / "out/01_ok.ipynb", {"z": 1})
    assert not (book / "out/01_ok.ipynb").exists()


def test_misspelled_parameters_are_refused_before_anything_runs(book: Path) -> None:
    def run(params=None, overrides=None):
        return nbrun.run_notebooks(
            ["01_ok"],
            source_dir=book / "notebooks",
            output_dir=book / "out",
            params=params,
            overrides=overrides,
            echo=False,
        )

    with pytest.raises(
        nbrun.NotebookError, match=r"-p \(overrides\).*'lable' \(did you mean 'label'\?\)"
    ):
        run(overrides={"lable": "b"})
    with pytest.raises(nbrun.NotebookError, match=r"common.*'xx' \(did you mean 'x'\?\)"):
        run(params={"common": {"xx": 2}, "notebooks": {}})
    (failed,) = run(params={"common": {}, "notebooks": {"01_ok": {"lable": "b"}}})
    assert "01_ok: unknown parameter(s) 'lable' (did you mean 'label'?)" in failed.error
    assert not (book / "out").exists()  # nothing ran
    # an override some notebook of the run declares is applied where declared only
    assert run(overrides={"label": "c"})[0].parameters == {"label": "c"}
    assert cli.main(["run-notebooks", "--toc", str(book / "_toc.yml"), "--source-dir",
                     str(book / "notebooks"), "--only", "01_ok", "-p", "lable", "b"]) == 2  # fmt: skip


def test_a_parameter_papermill_cannot_read_is_refused(book: Path) -> None:
    # papermill skips "n = 3  # n = the count" (it cannot parse the line) and would leave n at
    # its default whatever a parameters file says
    path = _write_nb(
        book / "notebooks/04_comment.ipynb",
        [("n = 3  # n = the count\nk = [\n    1,\n]  # a list\nm = 1", ["parameters"])],
    )
    with pytest.raises(nbrun.NotebookError, match=r"papermill cannot read parameter\(s\) \['n'\]"):
        nbrun.declared_parameters(path)
    path.write_text(path.read_text().replace("# n = the count", "# the count"))
    assert set(nbrun.declared_parameters(path)) == {"n", "k", "m"}


def test_failure_keeps_previous_output_and_failed_copy(book: Path) -> None:
    dst = book / "out/02_fails.ipynb"
    dst.parent.mkdir()
    dst.write_text("previous good output")
    with pytest.raises(nbrun.NotebookError, match="ValueError: boom 3"):
        nbrun.run_notebook(book / "notebooks/02_fails.ipynb", dst, {"x": 3})
    assert dst.read_text() == "previous good output"  # atomic: never half-written
    assert "boom 3" in (book / "out/02_fails.failed.ipynb").read_text()


def test_run_notebooks_keeps_going_and_reports(book: Path) -> None:
    params = {"common": {"label": "common"}, "notebooks": {"01_ok": {"x": 2}}}
    results = nbrun.run_notebooks(
        ["02_fails", "01_ok"],
        source_dir=book / "notebooks",
        output_dir=book / "out",
        params=params,
        echo=False,
    )
    assert [r.ok for r in results] == [False, True]
    assert results[1].parameters == {"label": "common", "x": 2}
    assert "y=20 label=common" in _outputs(book / "out/01_ok.ipynb")


def test_load_params_validates(tmp_path: Path) -> None:
    good = tmp_path / "p.yaml"
    good.write_text("common:\n  seed: 1\nnotebooks:\n  a:\n    n: 2\n")
    assert nbrun.load_params(good) == {"common": {"seed": 1}, "notebooks": {"a": {"n": 2}}}
    bad = tmp_path / "bad.yaml"
    bad.write_text("comon:\n  seed: 1\n")
    with pytest.raises(nbrun.NotebookError, match="unknown top-level keys"):
        nbrun.load_params(bad)


def test_cli_exit_status(book: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(book)
    assert cli.main(["run-notebooks", "--only", "01_ok", "-p", "x", "5"]) == 0
    assert "y=50" in _outputs(book / "book/chapters/01_ok.ipynb")
    assert cli.main(["run-notebooks"]) == 1  # 02_fails fails, 01_ok still ran
    err = capsys.readouterr().err
    assert "FAILED 02_fails" in err


@pytest.mark.slow
def test_the_runner_says_when_a_chapter_ran_on_the_simulation(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    src = tmp_path / "notebooks"
    src.mkdir()
    banner = (
        "from pathlib import Path\n"
        "from humanclap.book import Chapter\n"
        "from humanclap.data import Dataset\n"
        "data = Dataset({kind!r}, Path('.'), None, reason={reason!r})\n"
        "Chapter({{'x': x}}, data, None).show_banner(model='none')"
    )
    for name, kind, reason in [
        ("01_sim", "synthetic", "RELATE's audio is not on this machine."),
        ("02_real", "relate", ""),
    ]:
        _write_nb(
            src / f"{name}.ipynb",
            [("x = 1  # a number", ["parameters"]), (banner.format(kind=kind, reason=reason), [])],
        )
    results = nbrun.run_notebooks(["01_sim", "02_real"], source_dir=src, output_dir=tmp_path / "o")
    assert [r.simulated for r in results] == [True, False]
    cpu = results[0].world.pop("cpu")  # the kernel's CPU settings: pinned (humanclap.runtime)
    assert results[0].world == {
        "dataset": "synthetic",
        "simulated": True,
        "reason": "RELATE's audio is not on this machine.",
    }
    assert cpu["pinned"] is True and cpu["threads"] == 1
    log = capsys.readouterr().out
    assert (
        "01_sim: ok; ran on the embedded SIMULATION: RELATE's audio is not on this machine. ("
        in log
    )
    assert "02_real: ok (" in log
    assert nbrun.ran_on(src / "01_sim.ipynb") == {}  # the source notebook has no outputs
    # with the pin turned off, the log says that the numbers are this machine's
    monkeypatch.setenv("HUMANCLAP_PIN_CPU", "0")
    for key in CPU_PIN_ENV:  # tests/conftest.py pinned this process
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    nbrun.run_notebooks(["02_real"], source_dir=src, output_dir=tmp_path / "o")
    assert "02_real: ok; computed with this machine's CPU settings (" in capsys.readouterr().out


def test_published_chapter_hides_injected_cell_and_machine_paths(
    book: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = book / "cache"
    monkeypatch.setenv("HUMANCLAP_CACHE", str(cache))
    monkeypatch.setenv("HUMANCLAP_RELATE_AUDIO", str(book / "relate-audio"))
    monkeypatch.chdir(book)
    _write_nb(
        book / "notebooks/04_paths.ipynb",
        [
            ("x = 1  # a number", ["parameters"]),
            (
                "import os, tempfile\n"
                "print(os.path.join(os.environ['HUMANCLAP_CACHE'], 'worlds', 'w.npz'))\n"
                "print(os.environ['HUMANCLAP_RELATE_AUDIO'] + '/a.wav')\n"
                "print(os.path.join(os.getcwd(), 'book', 'x.csv'))\n"
                "print(os.path.expanduser('~/data'), x)",
                [],
            ),
        ],
    )
    dst = nbrun.run_notebook(
        book / "notebooks/04_paths.ipynb", book / "out/04.ipynb", {"x": 2}, cwd=book
    )
    nb = json.loads(dst.read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0]["metadata"]["tags"]
    text = _outputs(dst)
    assert text.splitlines() == [
        "$HUMANCLAP_CACHE/worlds/w.npz",
        "$HUMANCLAP_RELATE_AUDIO/a.wav",
        "book/x.csv",
        "~/data 2",
    ]
    assert str(book) not in dst.read_text()  # papermill's metadata too


def test_scrub_paths_matches_whole_components_only() -> None:
    rules = [("/tmp/ab", "$B"), ("/tmp/a", "$A"), ("/srv/book", ".")]
    assert scrub_paths("/tmp/a/x /tmp/ab/y /tmp/abc", rules) == "$A/x $B/y /tmp/abc"
    assert scrub_paths("'/tmp/a', /tmp/a:", rules) == "'$A', $A:"
    assert scrub_paths("/mnt/tmp/a/x", rules) == "/mnt/tmp/a/x"  # inside a longer path
    assert scrub_paths("see /srv/book/b/c.csv or /srv/book", rules) == "see b/c.csv or ."


def test_headlines_are_read_back_from_executed_chapters(tmp_path: Path) -> None:
    src = tmp_path / "notebooks"
    src.mkdir()
    code = (
        "from pathlib import Path\n"
        "from humanclap.book import Chapter\n"
        "from humanclap.data import Dataset\n"
        "ch = Chapter({}, Dataset('synthetic', Path('.'), None), None)\n"
        "ch.headline('clapscore_srcc', 'SRCC of CLAPScore', 0.29912, 0.185, 0.4, n=282)\n"
        "ch.headline('ceiling', 'noise ceiling', x)\n"
        "ch.headline('ceiling', 'noise ceiling', x + 0.5)  # restated: the last value counts"
    )
    _write_nb(src / "07_h.ipynb", [("x = 0.25  # a number", ["parameters"]), (code, [])])
    dst = nbrun.run_notebook(src / "07_h.ipynb", tmp_path / "out/07_h.ipynb", {"x": 0.1})
    assert "**Simulated: SRCC of CLAPScore: 0.299 [0.185, 0.400]**" in dst.read_text()
    table = collect_headlines([dst])
    assert table[["key", "estimate", "world", "simulated"]].to_dict("records") == [
        {"key": "clapscore_srcc", "estimate": 0.29912, "world": "synthetic", "simulated": True},
        {"key": "ceiling", "estimate": 0.6, "world": "synthetic", "simulated": True},
    ]
    assert table.loc[0, "n"] == 282 and pd.isna(table.loc[1, "n"])
    assert table.loc[0, ["chapter", "lo", "hi"]].tolist() == ["07_h", 0.185, 0.4]
    assert pd.isna(table.loc[1, "lo"])
    with pytest.raises(ValueError, match="key must be"):
        Headline("bad key", "x", 1.0)
