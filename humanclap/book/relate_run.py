"""The real run (``make relate``): what it will do, and about how long it takes on a GPU.

:func:`plan` reads a parameters file (``params/relate-gpu.yaml``) and the chapters' declared
defaults, counts RELATE's pairs per split from its rating files, and estimates the GPU time of
every fine-tuning run and scoring pass from measured throughputs: the GPU benchmark results in
``bench/results/`` when present (``bench/gpu_check.py`` writes them), else stated assumptions
(labelled as such in the plan). Result tables already in ``results_dir`` are skipped, as the
chapters skip them.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from humanclap.book.results import ResultTables, results_folder
from humanclap.book.runner import load_params
from humanclap.data import load_relate, pair_table
from humanclap.models.hf import released_base

__all__ = ["ASSUMED", "RELEASED", "RunPlan", "base_check", "plan"]

#: Throughputs assumed when no GPU benchmark has been run (NOT measured).
ASSUMED: dict[str, float] = {
    "train_pairs_per_s": 100.0,  # fine-tuning, all weights, bf16, batch 32
    "embed_clips_per_s": 300.0,  # inference, bf16
}
#: The chapters `make relate` runs and the result tables each writes.
CHAPTERS: dict[str, tuple[str, ...]] = {
    "02_clapscore_vs_humans": ("02_clapscore",),
    "03_human_clap": ("03_selection", "03_runs", "03_history", "03_test_scores"),
    "04_loss_study": ("04_selection", "04_runs", "04_test_scores"),
}


#: The released Human-CLAP checkpoint whose config says which public base the paper used.
RELEASED = "hf:sarulab-speech/human-clap-wsce-mae"


def base_check(configured: str, released: str = RELEASED) -> str:
    """Whether the configured base model is the one the released checkpoints were fine-tuned
    from (:func:`humanclap.models.hf.released_base` on ``released``'s ``config.json``).

    Returns
    -------
    str
        A line for the plan: "matches", a WARNING naming both, or why it cannot be checked
        (offline and not cached, a config of another shape).
    """
    try:
        base = released_base(released)
    except (OSError, ValueError) as err:
        return f"base model: not checked against {released} ({str(err).splitlines()[0]})"
    if base == configured:
        return f"base model: {configured}, as the released {released} (its config.json)"
    return (
        f"WARNING: base model {configured}, but the released {released} was fine-tuned from "
        f"{base} (its config.json); set model: {base} in the parameters to match the paper"
    )


@dataclass
class RunPlan:
    """What ``make relate`` will run.

    Attributes
    ----------
    steps : pd.DataFrame
        One row per chapter: fine-tuning runs, epochs, scored pairs, estimated GPU seconds,
        and whether its tables are already there (then skipped).
    throughput : dict
        The throughputs used, and where each comes from (measured file or assumption).
    base : str
        Whether the base model is the released checkpoints' (:func:`base_check`).
    design : dict
        Per fine-tuning chapter, its grids and seeds in words.
    """

    steps: pd.DataFrame
    throughput: dict[str, Any]
    base: str = ""
    design: dict[str, str] = field(default_factory=dict)

    @property
    def total_hours(self) -> float:
        todo = self.steps[~self.steps["done"]]
        return float(todo["gpu_seconds"].sum()) / 3600

    def report(self) -> str:
        lines = [self.steps.to_string(index=False), ""]
        for chapter, design in self.design.items():
            lines.append(f"{chapter}: {design}")
        for key, value in self.throughput.items():
            lines.append(f"{key}: {value}")
        lines.append(f"estimated GPU time still to run: {self.total_hours:.1f} h")
        if self.base:
            lines.append(self.base)
        return "\n".join(lines)


def _measured(bench_dir: Path) -> dict[str, Any]:
    """Throughputs from GPU benchmark results, else the assumptions."""
    out: dict[str, Any] = {k: (v, "assumed, not measured") for k, v in ASSUMED.items()}
    finetune = bench_dir / "finetune-cuda.json"
    if finetune.is_file():
        configs = json.loads(finetune.read_text()).get("configs", [])
        best = [c for c in configs if c.get("trainable") == "all" and c.get("pairs_per_s")]
        if best:
            out["train_pairs_per_s"] = (max(c["pairs_per_s"] for c in best), str(finetune))
    for path in sorted(bench_dir.glob("embed-cuda*.json")):
        ours = json.loads(path.read_text()).get("ours", {}).get("cold_clips_per_s")
        if ours:
            out["embed_clips_per_s"] = (float(ours), str(path))
    return out


def cell_defaults(notebook: str | os.PathLike) -> dict[str, Any]:
    """The literal values assigned in a notebook's ``parameters`` cell, parsed with ``ast``
    (papermill's own inference cuts a value written over several lines)."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    out: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                out[target.id] = ast.literal_eval(node.value)
    return out


def _value(name: str, chapter: str, params: Mapping[str, Any], defaults: Mapping) -> Any:
    own = params["notebooks"].get(chapter) or {}
    if name in own:
        return own[name]
    if name in params["common"]:
        return params["common"][name]
    return defaults[name]


def _runs(chapter: str, params: Mapping[str, Any], defaults: Mapping) -> dict[str, Any]:
    """Fine-tuning runs a chapter adds, at most (the study's design, :mod:`humanclap.book.study`).

    Chapter 3 trains the paper's λ at every learning rate of ``lr_grid`` and every other λ of
    ``lambda_grid`` at the chosen one, with the ``select_seeds``, then the paper's and the chosen
    λ with the other ``seeds`` (fewer when the paper's λ is chosen). Chapter 4 re-reads those
    and adds, for every other loss and ranking recipe, its ``lr_grid`` with the ``lr_seeds``
    and its chosen learning rate with the other ``seeds``, and listener_z and
    the unmasked run (at the reference's learning rate) with every seed.

    Returns
    -------
    dict
        ``choosing`` (runs of the selection stages), ``runs`` (all runs), ``scored`` (models whose
        test scores are computed: every seed of the chosen recipes, and CLAPScore) and
        ``design`` (the grids, in words).
    """
    if chapter == "02_clapscore_vs_humans":
        return {"choosing": 0, "runs": 0, "scored": 1, "design": ""}

    def value(name: str) -> Any:
        return _value(name, chapter, params, defaults)

    seeds, select = set(value("seeds")), set(value("select_seeds"))
    grid = len(value("lr_grid")) * len(select)
    design = (
        f"learning rates {value('lr_grid')}, λ {value('lambda_grid')}, chosen with seeds "
        f"{sorted(select)}; seeds {sorted(seeds)} at the chosen settings"
    )
    if chapter == "03_human_clap":
        others = len(value("lambda_grid")) - 1
        choosing = grid + others * len(select)
        chosen = 1 + min(others, 1)  # the paper's λ and the chosen one
        return {
            "choosing": choosing,
            "runs": choosing + chosen * len(seeds - select),
            "scored": chosen * len(seeds) + 1,
            "design": design,
        }
    losses = list(value("losses"))
    recipes = len(losses) + len(value("ranking")) - int(value("reference") in losses)
    variants = int(bool(value("listener_z"))) + int(bool(value("mask_study")))
    lr_seeds = set(value("lr_seeds"))
    grid = len(value("lr_grid")) * len(lr_seeds)
    design += f"; other losses' learning rates chosen with seeds {sorted(lr_seeds)}"
    return {
        "choosing": recipes * grid,
        "runs": recipes * (grid + len(seeds - lr_seeds)) + variants * len(seeds),
        "scored": (recipes + variants + 2) * len(seeds) + 1,  # with chapter 3's two recipes
        "design": design + f"; {recipes} more losses, {variants} variants of the reference",
    }


def plan(
    params_file: str | os.PathLike,
    notebooks: str | os.PathLike = "notebooks",
    bench_dir: str | os.PathLike = "bench/results",
    relate_dir: str | os.PathLike | None = None,
) -> RunPlan:
    """The plan of ``make relate`` for ``params_file`` (see the module doc)."""
    params = load_params(params_file)
    counts = pair_table(load_relate(relate_dir, categories=False))["split"].value_counts()
    rates = _measured(Path(bench_dir))
    train_rate, embed_rate = rates["train_pairs_per_s"][0], rates["embed_clips_per_s"][0]
    rows, designs = [], {}
    for chapter, tables in CHAPTERS.items():
        defaults = cell_defaults(Path(notebooks) / f"{chapter}.ipynb")
        study = _runs(chapter, params, defaults)
        runs = study["runs"]
        epochs = int(_value("num_epochs", chapter, params, defaults)) if runs else 0
        per_run = epochs * counts.get("train", 0) / train_rate
        per_run += (epochs + 1) * counts.get("validation", 0) / embed_rate
        scored = counts.get("test", 0) * study["scored"]
        folder = results_folder(_value("results_dir", chapter, params, defaults))
        rows.append(
            {
                "chapter": chapter,
                "fine-tuning runs": runs,
                "of which choosing": study["choosing"],
                "epochs each": epochs,
                "test pairs scored": scored,
                "gpu_seconds": round(runs * per_run + scored / embed_rate),
                "done": ResultTables(folder).has(*tables),
            }
        )
        if study["design"]:
            designs[chapter] = study["design"]
    rates["pairs per split"] = {k: int(v) for k, v in counts.items()}
    model = str(params["common"].get("model", ""))
    base = base_check(model) if model.startswith("hf:") else ""
    return RunPlan(
        pd.DataFrame(rows),
        rates | {"epochs": "at most; early stopping may end sooner"},
        base,
        designs,
    )
