"""Papermill smoke runs of every book notebook, with small parameters."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from conftest import load_script

from humanclap.book import runner as nbrun
from humanclap.data import synthetic

ROOT = Path(__file__).resolve().parents[1]
SMOKE = {
    "01_human_ratings": {"n_boot": 20, "n_splits": 5, "seed": 1},
    "02_clapscore_vs_humans": {
        "world_size": 40,
        "model": "tiny:random",
        "n_boot": 20,
        "min_cell": 5,
    },
    "03_human_clap": {
        "world_size": 40,
        "model": "tiny:random",
        "lr_grid": [1e-3, 3e-3],
        "lambda_grid": [1.0, 3.0],
        "select_seeds": [0],
        "seeds": [0, 1],
        "num_epochs": 1,
        "n_boot": 20,
    },
    "04_loss_study": {
        "world_size": 40,
        "model": "tiny:random",
        "losses": ["mae", "wsce", "wsce+mae"],
        "ranking": ["wsce+listnet"],
        "lr_grid": [1e-3],
        "lambda_grid": [1.0, 3.0],
        "select_seeds": [0],
        "seeds": [0, 1],
        "num_epochs": 1,
        "n_boot": 20,
    },
    "05_score_your_audio": {
        "world_size": 40,
        "model": "tiny:random",
        "n_demo": 6,
        "lr_grid": [1e-3],
        "lambda_grid": [1.0, 3.0],
        "select_seeds": [0],
        "num_epochs": 1,
    },
    "06_any_metric": {"n_boot": 20},
    "90_embedded_world": {"n_captions": 40, "num_epochs": 2, "n_examples": 1},
    "95_results": {},
}


def test_every_book_notebook_has_smoke_parameters() -> None:
    assert sorted(nbrun.book_notebooks(ROOT / "_toc.yml")) == sorted(SMOKE)


def test_source_notebooks_are_stripped() -> None:
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), path
        nbrun.declared_parameters(path)  # raises without a parameters cell
        # valid for its own nbformat version (cell ids in 4.5, none in 4.4)
        nbformat.validate(nbformat.reads(path.read_text(), as_version=4))


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMOKE))
def test_notebook_runs(
    name: str, tmp_path: Path, relate_dir, categories_path, ontology_path, xacle_predictions
) -> None:
    params = dict(SMOKE[name])
    declared = nbrun.declared_parameters(ROOT / "notebooks" / f"{name}.ipynb")
    real = {
        "relate_dir": str(relate_dir),
        "categories_path": str(categories_path),
        "ontology_path": str(ontology_path),
        "predictions": str(xacle_predictions),
    }
    params.update({k: v for k, v in real.items() if k in declared})
    out = nbrun.run_notebook(
        ROOT / "notebooks" / f"{name}.ipynb", tmp_path / f"{name}.ipynb", params
    )
    text = out.read_text()
    assert "World:" in text


@pytest.mark.parametrize("params_file", sorted((ROOT / "params").glob("*.yaml")), ids=str)
def test_params_files_name_only_declared_parameters(params_file: Path) -> None:
    """Every parameters file is usable: each key reaches a notebook that declares it."""
    params = nbrun.load_params(params_file)
    declared = {
        name: nbrun.declared_parameters(ROOT / "notebooks" / f"{name}.ipynb")
        for name in nbrun.book_notebooks(ROOT / "_toc.yml")
    }
    assert set(params["notebooks"]) <= set(declared), params_file
    for name, own in params["notebooks"].items():
        assert set(own) <= set(declared[name]), (params_file, name)
        nbrun.resolve_parameters(name, declared[name], params)  # raises on unknown keys
    every = set().union(*map(set, declared.values()))
    assert set(params["common"]) <= every, params_file


@pytest.mark.notebook
@pytest.mark.slow
def test_chapter_1_never_falls_back_to_the_simulation(tmp_path: Path, monkeypatch) -> None:
    """Offline, without RELATE's rating files, chapter 1 stops with where to put them."""
    monkeypatch.delenv("HUMANCLAP_RELATE_DIR", raising=False)
    monkeypatch.delenv("HUMANCLAP_CATEGORIES", raising=False)
    for dataset in ({}, {"dataset": "auto"}):
        with pytest.raises(nbrun.NotebookError) as err:
            nbrun.run_notebook(
                ROOT / "notebooks" / "01_human_ratings.ipynb", tmp_path / "01.ipynb", dataset
            )
        assert "RelateDataError" in str(err.value) and "HUMANCLAP_RELATE_DIR" in str(err.value)


compare_book = load_script("tools/compare_book.py")

#: Small settings of the chapters that write result tables (world presented as RELATE's layout).
RESULT_CHAPTERS = {
    "02_clapscore_vs_humans": {"n_boot": 20, "min_cell": 5},
    "03_human_clap": {
        "num_epochs": 1,
        "lr_grid": [1e-3],
        "select_seeds": [0],
        "seeds": [0, 1],
        "lambda_grid": [1.0, 3.0],
        "n_boot": 20,
    },
    "04_loss_study": {
        "num_epochs": 1,
        "lr_grid": [1e-3],
        "select_seeds": [0],
        "seeds": [0],
        "losses": ["mae", "wsce+mae"],
        "ranking": [],
        "listener_z": False,
        "lambda_grid": [1.0, 3.0],
        "mask_study": False,
        "n_boot": 20,
    },
}


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RESULT_CHAPTERS))
def test_a_chapter_rebuilds_from_its_result_tables(name: str, tmp_path: Path) -> None:
    """First run: computes on "RELATE" (a world in RELATE's layout) and writes its tables.
    Second run: reads them, with a model spec that cannot be loaded; same numbers."""
    world = synthetic.ensure_world(n_captions=40)
    params = {
        **RESULT_CHAPTERS[name],
        "dataset": "relate",
        "relate_dir": str(world),
        "results_dir": str(tmp_path / "results"),
    }
    src = ROOT / "notebooks" / f"{name}.ipynb"
    first = nbrun.run_notebook(src, tmp_path / "first.ipynb", {**params, "model": "tiny:random"})
    assert sorted(p.name for p in (tmp_path / "results").iterdir())  # tables written
    second = nbrun.run_notebook(
        src, tmp_path / "second.ipynb", {**params, "model": "laion:/no/such/checkpoint.pt"}
    )
    mask = compare_book.masker(compare_book.DEFAULT_MASKS, None)
    old = [mask(t) for t in compare_book.notebook_outputs(first)]
    new = [mask(t) for t in compare_book.notebook_outputs(second)]
    assert "results read from" in "".join(new[:2])  # the banner says where the numbers come from
    assert old[2:] == new[2:]  # everything after the banner is the same
