"""The book's path to Colab and Binder, and pages that match what ran.

- Launch buttons: ``_config.yml``'s one ``repository`` setting gives sphinx-book-theme's Colab and
  Binder buttons, which ``book/_ext/launch_sources.py`` points at the source notebooks
  (``notebooks/<stem>.ipynb``, in git) instead of the executed copies (``book/chapters/``, build
  output). Checked on a small book built with Jupyter Book and the real settings.
- Binder: repo2docker builds ``environment.yml`` (nothing that takes precedence over it).
- Every notebook's first code cell installs humanclap from ``repository.url`` in Colab, is hidden
  in the book and does nothing elsewhere.
- Parameter cells are hidden in the book (the banner states what ran); chapter 5's calls to copy
  (``score_pairs``, ``humanclap score``) are visible, its glue hidden.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import load_script
from IPython.core.inputtransformer2 import TransformerManager

from humanclap.book.parameters import check_parameter_names, load_params
from humanclap.book.publish import prepare_for_book

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
HIDDEN = {"remove-cell", "remove-input", "hide-input", "hide-cell"}


def _extension() -> types.ModuleType:
    folder = CONFIG["sphinx"]["local_extensions"]["launch_sources"]
    return load_script(f"{folder}/launch_sources.py")


ext = _extension()


def _repo() -> tuple[str, str, str, str]:
    """(url, org, name, branch) of ``_config.yml``'s repository."""
    url, branch = CONFIG["repository"]["url"].rstrip("/"), CONFIG["repository"]["branch"]
    org, name = url.removeprefix("https://github.com/").split("/")[:2]
    return url, org, name, branch


def _launch_urls(stem: str) -> dict[str, str]:
    """The Colab and Binder URLs a chapter should get: its source notebook, from the config."""
    _, org, name, branch = _repo()
    buttons = CONFIG["launch_buttons"]
    ui = {"classic": "tree", "jupyterlab": "lab/tree"}[buttons.get("notebook_interface", "classic")]
    path = f"notebooks/{stem}.ipynb"
    return {
        "Colab": f"{buttons['colab_url'].rstrip('/')}/github/{org}/{name}/blob/{branch}/{path}",
        "Binder": f"{buttons['binderhub_url'].rstrip('/')}/v2/gh/{org}/{name}/{branch}"
        f"?urlpath={ui}/{path}",
    }


def _cells(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict[str, Any]) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _tags(cell: dict[str, Any]) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


# ---------------------------------------------------------------------- the extension
def test_launch_source_maps_executed_chapters_to_their_sources(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "02_x.ipynb").write_text("{}")
    sources = {"book/chapters": "notebooks"}
    assert ext.launch_source("book/chapters/02_x", sources, tmp_path) == "notebooks/02_x.ipynb"
    assert (
        ext.launch_source("book/chapters/02_x", sources, tmp_path, "docs/")
        == "docs/notebooks/02_x.ipynb"
    )
    assert ext.launch_source("book/intro", sources, tmp_path) is None
    with pytest.raises(FileNotFoundError, match="notebooks/03_y.ipynb"):
        ext.launch_source("book/chapters/03_y", sources, tmp_path)


def test_retarget_replaces_the_page_path_of_each_launch_url():
    old, new = "book/chapters/02_x.ipynb", "notebooks/02_x.ipynb"
    buttons = [
        {"label": "download-buttons", "buttons": [{"url": f"_sources/{old}"}]},
        {
            "label": ext.LAUNCH_GROUP,
            "buttons": [
                {"text": "Binder", "url": f"https://mybinder.org/v2/gh/o/r/main?urlpath=tree/{old}"},
                {"text": "Colab", "url": f"https://colab.research.google.com/github/o/r/blob/main/{old}"},
                {"text": "Live Code", "javascript": "initThebeSBT()"},
                {"text": "Other", "url": "https://example.org/elsewhere"},
            ],
        },
    ]  # fmt: skip
    unchanged = ext.retarget_launch_buttons(buttons, old, new)
    urls = [b.get("url") for b in buttons[1]["buttons"]]
    assert urls[:2] == [
        f"https://mybinder.org/v2/gh/o/r/main?urlpath=tree/{new}",
        f"https://colab.research.google.com/github/o/r/blob/main/{new}",
    ]
    assert unchanged == ["https://example.org/elsewhere"]
    assert buttons[0]["buttons"][0]["url"] == f"_sources/{old}"  # not a launch button


def test_config_turns_the_buttons_on_for_every_chapter():
    buttons, sphinx = CONFIG["launch_buttons"], CONFIG["sphinx"]
    assert buttons["colab_url"] and buttons["binderhub_url"]
    assert "launch_sources" in sphinx["config"]["extensions"]  # the explicit list replaces JB's
    assert (ROOT / sphinx["local_extensions"]["launch_sources"] / "launch_sources.py").is_file()
    sources = sphinx["config"]["launch_sources"]
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    chapters = re.findall(r"file:\s*(book/chapters/\S+)", toc)
    assert chapters
    for page in chapters:
        assert ext.launch_source(page, sources, ROOT) == f"notebooks/{Path(page).name}.ipynb"


def test_binder_builds_environment_yml():
    """repo2docker uses environment.yml unless a binder/ folder or a Dockerfile takes over; its
    pip section installs the project, and its local references (-c constraints.txt, -e .) make
    repo2docker copy the repository before building the environment."""
    for first in ("binder", ".binder", "Dockerfile"):
        assert not (ROOT / first).exists(), f"{first} would replace environment.yml on Binder"
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    deps = env["dependencies"]
    assert any(isinstance(d, str) and d.startswith("python") for d in deps)
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-c constraints.txt" in pip and any(line.startswith("-e .[") for line in pip)
    assert (ROOT / "constraints.txt").is_file()


# --------------------------------------------------------------- the Colab install cell
def _first_code_cell(path: Path) -> dict[str, Any]:
    return next(c for c in _cells(path) if c["cell_type"] == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_installs_from_the_repository_in_colab(path, monkeypatch):
    cell = _first_code_cell(path)
    assert "remove-cell" in _tags(cell) and "parameters" not in _tags(cell)
    source = _source(cell)
    url, _, _, branch = _repo()
    found = re.findall(r"git\+(\S+?)@([\w./-]+)\"", source)
    assert found == [(url, branch)], f"{path.name}: install URL is not {url}@{branch}"
    code = TransformerManager().transform_cell(source)
    magics: list[tuple[str, str]] = []
    shell = types.SimpleNamespace(run_line_magic=lambda name, line: magics.append((name, line)))
    exec(compile(code, path.name, "exec"), {"get_ipython": lambda: shell})
    assert magics == [], f"{path.name}: the install cell acts outside Colab"
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(compile(code, path.name, "exec"), {"get_ipython": lambda: shell})
    assert magics == [("pip", f'install -q "humanclap[all] @ git+{url}@{branch}"')]


def test_colab_page_clones_the_repository_and_runs_existing_parameter_files():
    """book/reproduce.md's Colab cells: the clone URL is repository.url, and each chapter-2 run
    names a parameters file that exists, is valid for chapter 2 and writes the result folder the
    page says."""
    page = (ROOT / "book" / "reproduce.md").read_text(encoding="utf-8")
    colab = page[page.index("(reproduce-on-colab)=") :]
    assert re.findall(r"git clone --depth 1 (\S+)", colab) == [_repo()[0]]
    runs = re.findall(
        r"run-notebooks --params (\S+) --only 02_clapscore_vs_humans --output-dir book/(\S+)", colab
    )
    assert len(runs) == 3
    for params_file, folder in runs:
        params = load_params(ROOT / params_file)
        check_parameter_names(["02_clapscore_vs_humans"], ROOT / "notebooks", params, {})
        results_dir = params["common"]["results_dir"]
        assert results_dir == f"results/{folder}" and f"`{results_dir}/02_clapscore.csv`" in colab
        assert params["common"]["device"] == "cuda" and params["common"]["dataset"] == "relate"


# ------------------------------------------------------------ pages that match what ran
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameter_cells_are_hidden_in_the_book(path):
    params = [c for c in _cells(path) if "parameters" in _tags(c)]
    assert len(params) == 1 and "remove-cell" in _tags(params[0])


def test_injected_parameters_are_hidden_in_the_book():
    injected = {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "outputs": []}
    nb = {"cells": [injected], "metadata": {}}
    assert "remove-cell" in _tags(prepare_for_book(nb, [])["cells"][0])


def test_chapter_5_shows_the_calls_to_copy_and_hides_its_glue():
    code = [c for c in _cells(ROOT / "notebooks" / "05_score_your_audio.ipynb")]
    code = [c for c in code if c["cell_type"] == "code"]
    shown = [c for c in code if not _tags(c) & HIDDEN]
    assert len(shown) == 2, [_source(c)[:60] for c in shown]
    api, cli = (_source(c) for c in shown)
    assert "score.score_pairs(clap, prompts" in api and "score.score_pairs(human, prompts" in api
    assert '"humanclap", "score"' in cli and '"--pairs"' in cli and '"--model"' in cli


# ----------------------------------------------------------------------- a built book
def _notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 4}


def _code(source: str, tags: list[str], text: str = "") -> dict[str, Any]:
    outputs = [{"name": "stdout", "output_type": "stream", "text": [text]}] if text else []
    return {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {"tags": tags},
        "outputs": outputs,
        "source": source,
    }


@pytest.mark.slow
def test_built_page_launches_its_source_notebook_and_hides_parameters(tmp_path):
    """A two-page book with the real repository, launch and extension settings, built with
    Jupyter Book: the chapter's Colab and Binder links open notebooks/<stem>.ipynb under
    repository.url, and neither parameter cell is on the page."""
    stem = "01_demo"
    (tmp_path / "book" / "chapters").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    executed = _notebook(
        [
            {"cell_type": "markdown", "metadata": {}, "source": "# Demo"},
            _code("n_boot = 200  # DEFAULT-MARK", ["parameters", "remove-cell"]),
            _code("n_boot = 1000  # INJECTED-MARK", ["injected-parameters"]),
            _code("print('VISIBLE-MARK')", [], "VISIBLE-MARK\n"),
        ]
    )
    executed = prepare_for_book(executed, [])  # as the runner publishes a chapter
    (tmp_path / "book" / "chapters" / f"{stem}.ipynb").write_text(json.dumps(executed))
    (tmp_path / "notebooks" / f"{stem}.ipynb").write_text(json.dumps(_notebook([])))
    toc = {
        "format": "jb-book",
        "root": "book/intro",
        "chapters": [{"file": f"book/chapters/{stem}"}],
    }
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    sphinx = copy.deepcopy(CONFIG["sphinx"])
    sphinx["local_extensions"] = {"launch_sources": str(ROOT / "book" / "_ext")}
    sphinx["config"] = {
        "launch_sources": sphinx["config"]["launch_sources"],
        "extensions": ["myst_nb", "jupyter_book", "sphinx_external_toc", "sphinx_comments",
                       "sphinx_togglebutton", "sphinx_book_theme", "launch_sources"],
    }  # fmt: skip
    config = {
        "title": "launch test",
        "execute": {"execute_notebooks": "off"},
        "only_build_toc_files": True,
        "repository": CONFIG["repository"],
        "html": CONFIG["html"],
        "launch_buttons": CONFIG["launch_buttons"],
        "sphinx": sphinx,
    }
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    jb = Path(sys.executable).with_name("jupyter-book")
    done = subprocess.run(
        [str(jb), "build", str(tmp_path), "--warningiserror", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    page = (tmp_path / "_build" / "html" / "book" / "chapters" / f"{stem}.html").read_text()
    for name, url in _launch_urls(stem).items():
        assert f'href="{url}"' in page, f"no {name} link {url}"
    assert f"book/chapters/{stem}.ipynb" not in re.sub(r'href="[^"]*_sources/[^"]*"', "", page)
    assert "VISIBLE-MARK" in page
    assert "DEFAULT-MARK" not in page and "INJECTED-MARK" not in page
