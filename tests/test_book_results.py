"""Result tables of heavy runs (humanclap.book.results), chapters reading them, and the plan of
the real run (humanclap.book.relate_run)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from humanclap import models
from humanclap.book import chapter as chapter_module
from humanclap.book import open_chapter, relate_run
from humanclap.book.results import (
    ResultTables,
    provenance,
    run_histories,
    run_summary,
    scores_from_table,
    scores_table,
)
from humanclap.book.runner import load_params
from humanclap.data import Dataset
from humanclap.plots import SIMULATED_TAG
from humanclap.train import HISTORY_COLUMNS, FinetuneResult

PAIRS = pd.DataFrame({"wavname": ["/a/1.wav", "/a/2.wav", "/b/1.wav"], "text": ["x", "y", "x"]})


def test_tables_are_computed_once_then_read(tmp_path: Path) -> None:
    tables = ResultTables(tmp_path / "results")
    calls = []

    def compute() -> pd.DataFrame:
        calls.append(1)
        return PAIRS.assign(score=[0.1, 1 / 3, np.pi])

    first = tables.get("02_clapscore", compute, lambda: {"seed": 3})
    again = tables.get("02_clapscore", compute, lambda: {"seed": 4})
    assert len(calls) == 1 and tables.has("02_clapscore")
    pd.testing.assert_frame_equal(first, again, check_exact=True)  # floats survive the CSV
    assert again.attrs["provenance"] == {"seed": 3}
    assert not tables.has("02_clapscore", "missing")


def test_no_folder_computes_and_keeps_nothing(tmp_path: Path) -> None:
    tables = ResultTables(None)
    out = tables.get("x", lambda: PAIRS, lambda: {})
    assert out is PAIRS and not tables.has("x")
    with pytest.raises(ValueError, match="no results_dir"):
        tables.path("x")


def test_provenance_records_model_checkpoint_and_packages(tmp_path: Path) -> None:
    model = models.load("tiny:random")
    path = model.save(tmp_path / "m.pt")
    about = provenance(models.load(path), seeds=[0, 1], device="cpu", note="x")
    assert about["model"]["fingerprint"] == model.fingerprint
    assert about["seeds"] == [0, 1] and about["device"] == "cpu" and about["note"] == "x"
    assert about["packages"]["torch"] == torch.__version__.split("+")[0] or about["packages"][
        "torch"
    ].startswith(torch.__version__.split("+")[0])
    assert provenance(model)["model"]["checkpoint_sha256"] is None  # "tiny:random": no file


def test_scores_table_round_trip_and_alignment() -> None:
    base = np.array([0.1, 0.2, 0.3])
    seeded = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    table = scores_table(PAIRS, {"CLAPScore": base, "Human-CLAP": seeded}, seeds=[7, 9])
    assert list(table.columns) == [
        "wavname",
        "text",
        "CLAPScore",
        "Human-CLAP | seed 7",
        "Human-CLAP | seed 9",
    ]
    shuffled = PAIRS.iloc[[2, 0, 1]].reset_index(drop=True)
    back = scores_from_table(table, shuffled, ["CLAPScore", "Human-CLAP"], [7, 9])
    np.testing.assert_array_equal(back["CLAPScore"], base[[2, 0, 1]])
    np.testing.assert_array_equal(back["Human-CLAP"], seeded[:, [2, 0, 1]])
    other = pd.DataFrame({"wavname": ["/c/9.wav"], "text": ["z"]})
    with pytest.raises(ValueError, match="no score"):
        scores_from_table(table, other, ["CLAPScore"], [7, 9])


def _result(epochs: int, seed: int) -> FinetuneResult:
    history = pd.DataFrame(
        {c: np.arange(epochs + 1, dtype=float) + seed for c in HISTORY_COLUMNS}
    ).astype({"epoch": int})
    return FinetuneResult(None, history, 1, 0.5 + seed, Path(f"/runs/{seed}"), False, 12.0)


def test_run_summary_and_histories() -> None:
    runs = {"wsce+mae": [_result(2, 0), _result(2, 1)]}
    summary = run_summary(runs, seeds=[0, 1])
    assert summary[["name", "seed", "best_val_srcc", "out_dir"]].values.tolist() == [
        ["wsce+mae", 0, 0.5, "/runs/0"],
        ["wsce+mae", 1, 1.5, "/runs/1"],
    ]
    history = run_histories(runs, seeds=[0, 1])
    assert len(history) == 6 and set(history["seed"]) == {0, 1}


def test_a_chapter_with_all_its_tables_loads_no_model_and_no_audio(tmp_path, fake_relate) -> None:
    relate = tmp_path / "RELATE"
    fake_relate(relate)
    results = tmp_path / "results"
    model = models.load("tiny:random")
    ResultTables(results).write("02_clapscore", PAIRS.assign(clapscore=0.5), provenance(model))
    namespace = {
        "dataset": "relate",
        "relate_dir": str(relate),
        "model": "laion:no-such-checkpoint",  # loading it would fail: it must not be loaded
        "results_dir": str(results),
        "device": "cpu",
    }
    ch = open_chapter(namespace, tables=("02_clapscore",))
    assert ch.from_results and ch.model is None and ch.data.kind == "relate"
    assert ch.data.audio_dir is None  # no audio needed
    assert model.fingerprint in ch.model_label(table="02_clapscore")
    assert ch.model_spec("02_clapscore") == "tiny:random"
    with pytest.raises(FileNotFoundError, match="audio"):  # a missing table: compute, audio needed
        open_chapter(namespace, tables=("02_clapscore", "02_other"))


def test_the_world_never_reads_or_writes_result_tables(tmp_path: Path) -> None:
    results = tmp_path / "results"
    ResultTables(results).write("02_clapscore", PAIRS.assign(clapscore=0.5), {})
    namespace = {"dataset": "synthetic", "world_size": 40, "results_dir": str(results)}
    ch = open_chapter(namespace, tables=("02_clapscore",), load_model=False)
    assert ch.data.is_simulated and not ch.from_results and ch.results.folder is None


def test_relate_plan(relate_dir: Path, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    params = tmp_path / "p.yaml"
    params.write_text(
        "common:\n  results_dir: " + str(tmp_path / "res") + "\n  num_epochs: 4\n"
        "  lr_grid: [0.001, 0.003]\n  select_seeds: [0]\n  seeds: [0, 1]\n"
        "notebooks:\n  03_human_clap:\n    lambda_grid: [1.0, 3.0]\n"
        "  04_loss_study:\n    losses: [mae, wsce+mae]\n    ranking: [wsce+margin]\n"
        "    lr_seeds: [0]\n"
    )
    ResultTables(tmp_path / "res").write("02_clapscore", PAIRS, {})
    plan = relate_run.plan(params, root / "notebooks", tmp_path / "no-bench", relate_dir)
    rows = plan.steps.set_index("chapter")
    # λ = 1 at 2 learning rates and λ = 3 at the chosen one, with seed 0; then both λ with seed 1
    assert rows.loc["03_human_clap", ["fine-tuning runs", "of which choosing"]].tolist() == [5, 3]
    assert rows.loc["03_human_clap", "test pairs scored"] == 1311 * 5  # 2 recipes x 2 seeds + 1
    # mae and wsce+margin: 2 learning rates with seed 0, then seed 1 at the chosen one; listener_z
    # and the unmasked reference with both seeds; wsce+mae is chapter 3's
    assert rows.loc["04_loss_study", ["fine-tuning runs", "of which choosing"]].tolist() == [10, 4]
    assert rows.loc["04_loss_study", "epochs each"] == 4
    assert "learning rates [0.001, 0.003], λ [1.0, 3.0]" in plan.design["03_human_clap"]
    assert rows.loc["02_clapscore_vs_humans", "done"] and not rows["done"].iloc[1:].any()
    assert "assumed, not measured" in plan.report()
    assert plan.throughput["pairs per split"] == {"train": 2862, "test": 1311, "validation": 1287}


def test_cell_defaults_reads_values_written_over_several_lines(tmp_path: Path) -> None:
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": [
        "grid = [\n", "    0.3,\n", "    3.0,\n", "]  # a comment\n", "name = 'x'\n"]}]}  # fmt: skip
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    assert relate_run.cell_defaults(path) == {"grid": [0.3, 3.0], "name": "x"}


def test_base_check_warns_when_the_base_differs(monkeypatch) -> None:
    monkeypatch.setattr(relate_run, "released_base", lambda spec: "hf:laion/clap-htsat-fused")
    assert "as the released" in relate_run.base_check("hf:laion/clap-htsat-fused")
    warning = relate_run.base_check("hf:laion/clap-htsat-unfused")
    assert warning.startswith("WARNING") and "set model: hf:laion/clap-htsat-fused" in warning

    def offline(spec: str) -> str:
        raise FileNotFoundError("config.json is not in the local Hugging Face cache\nmore")

    monkeypatch.setattr(relate_run, "released_base", offline)
    assert "not checked" in relate_run.base_check("hf:laion/clap-htsat-fused")


def test_simulated_chapters_tag_figures_takeaways_and_captions(monkeypatch) -> None:
    shown: list = []
    monkeypatch.setattr(chapter_module, "display", lambda obj, **_: shown.append(obj))
    for kind, simulated in [("synthetic", True), ("relate", False)]:
        shown.clear()
        ch = chapter_module.Chapter({}, Dataset(kind, Path("."), None), None)
        fig, _ = plt.subplots()
        ch.figure(
            fig,
            caption="Residual by category",
            alt="An empty set of axes standing in for a chapter's figure.",
            takeaway="CLAPScore under-rates speech.",
        )
        plain = f"Figure 1. {'Simulated: ' * simulated}Residual by category"
        assert shown[0]["text/plain"] == plain
        ch.table(pd.DataFrame({"srcc": [0.1234]}), caption="Agreement", csv="agreement")
        takeaway, bundle, link = shown[1].data, shown[2], shown[3].data
        tagged = any(t.get_text() == SIMULATED_TAG for t in fig.texts)
        assert (tagged, "(simulated world)" in takeaway) == (simulated, simulated)
        assert takeaway.endswith("CLAPScore under-rates speech.")
        caption = "Simulated: Agreement" if simulated else "Agreement"
        assert f"<caption>{caption}</caption>" in bundle["text/html"]
        assert bundle["text/plain"].split() == ["SRCC", "0.123"]
        assert 'download="agreement.csv"' in link and not plt.fignum_exists(fig.number)


#: What chapter 5's "auto" Human-CLAP shares with chapter 3's choice (so that it re-derives it).
_CHAPTER_3_DESIGN = (
    "loss", "lr_grid", "lambda_grid", "select_seeds", "weight_decay", "num_epochs",
    "batch_size", "trainable", "patience", "precision",
)  # fmt: skip


@pytest.mark.parametrize("params_file", ["params/book.yaml", "params/relate-gpu.yaml"])
def test_chapter_5_takes_chapter_3s_design_not_a_copied_lambda(params_file: str) -> None:
    """Chapter 5 declares chapter 3's grids, not a λ or a learning rate, and every parameters
    file gives both chapters the same values."""
    root = Path(__file__).resolve().parents[1]
    ch3 = relate_run.cell_defaults(root / "notebooks" / "03_human_clap.ipynb")
    ch5 = relate_run.cell_defaults(root / "notebooks" / "05_score_your_audio.ipynb")
    assert "lambdas" not in ch5 and "lr" not in ch5
    params = load_params(root / params_file)
    for name in _CHAPTER_3_DESIGN:
        values = [relate_run._value(name, ch, params, d) for ch, d in
                  (("03_human_clap", ch3), ("05_score_your_audio", ch5))]  # fmt: skip
        assert values[0] == values[1], (params_file, name, values)
