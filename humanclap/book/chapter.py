"""One call that sets a chapter up from its parameters: the data, the model and the banner.

A chapter's notebook declares its parameters in the cell tagged ``parameters`` (papermill
injects new values after it) and then calls, right after its imports::

    ch = hb.open_chapter(globals())

:func:`open_chapter` reads the parameters from the notebook's namespace
(:func:`chapter_parameters`), applies the book's display settings, resolves the data
(``dataset``, ``relate_dir``, ``audio_dir``, ``categories_path``, ``world_size``) and loads the
model (``model``, ``device``) the parameters name, so that no notebook lists its parameters a
second time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
from matplotlib.figure import Figure
from myst_nb import glue

from humanclap import models, plots
from humanclap.book.banner import BANNER_METADATA, banner
from humanclap.book.figures import figure_label, figure_output
from humanclap.book.headlines import Headline, headline_output
from humanclap.book.results import ResultTables, provenance, results_folder
from humanclap.data import Dataset, resolve_dataset
from humanclap.runtime import cpu_settings

__all__ = ["Chapter", "GluedText", "chapter_parameters", "describe_model", "open_chapter"]

#: Names IPython puts in every notebook's namespace.
_IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})
_SCALARS = (type(None), bool, int, float, str, Path)


@dataclass(frozen=True)
class GluedText:
    """Text that another page pastes as it is: MyST-NB glues an object's ``text/plain``
    representation, which for a ``str`` would carry quotes."""

    text: str

    def __repr__(self) -> str:
        return self.text


def _is_literal(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_literal(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_literal(v) for k, v in value.items())
    return False


def chapter_parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of a notebook, read from its namespace (``globals()``).

    Called right after the parameters and import cells, the namespace holds the parameters
    (literal values: None, numbers, strings, lists and dicts of them), the imported modules and
    functions, and IPython's own names. The parameters are the public literal values, in the
    order the parameters cell declares them (papermill's injected values replace them in place).

    Parameters
    ----------
    namespace : mapping
        The notebook's ``globals()``.

    Returns
    -------
    dict
        ``{name: value}``.
    """
    return {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_") and name not in _IPYTHON_NAMES and _is_literal(value)
    }


def describe_model(model: models.ClapModel, with_dim: bool = False) -> str:
    """A model for banners: ``"`tiny` (TinyClap, 128-d, fingerprint `...`)"``."""
    dim = f", {model.embed_dim}-d" if with_dim else ""
    return f"`{model.spec}` ({type(model).__name__}{dim}, fingerprint `{model.fingerprint}`)"


@dataclass
class Chapter:
    """What a chapter runs on.

    Attributes
    ----------
    params : dict
        The notebook's parameters as it ran (shown in the banner).
    data : Dataset
        RELATE, the embedded world or a folder (:func:`humanclap.data.resolve_dataset`).
    model : ClapModel or None
        The model the ``model`` parameter names, in eval mode on ``device``; None when the
        chapter has no ``model`` parameter, asked for none, or reads its results.
    results : ResultTables
        The chapter's result tables (:mod:`humanclap.book.results`): active on RELATE when the
        ``results_dir`` parameter is set, else ``ResultTables(None)`` (compute, keep nothing).
    from_results : bool
        True when every table the chapter needs was there: it reads them instead of computing
        (no audio and no model needed).
    number : str or None
        The chapter's number in the book ("2", "A"), the first part of its figures' numbers.
    figures_shown : int
        How many figures :meth:`figure` has shown (the last one's number within the chapter).
    """

    params: dict[str, Any]
    data: Dataset
    model: models.ClapModel | None
    results: ResultTables = ResultTables(None)
    from_results: bool = False
    number: str | None = None
    figures_shown: int = 0

    def model_label(self, with_dim: bool = False, table: str | None = None) -> str:
        """The model for the banner; when the chapter reads its results, the model recorded in
        ``table``'s provenance, with where and on what the results were computed."""
        if self.model is not None:
            return describe_model(self.model, with_dim)
        if self.from_results and table is not None:
            about = self.results.read(table).attrs["provenance"]
            model = about.get("model", {})
            where = about.get("gpu") or about.get("device", "?")
            return (
                f"`{model.get('spec', '?')}` (fingerprint `{model.get('fingerprint', '?')}`); "
                f"results read from `{self.results.folder}`, computed on {where} "
                f"({about.get('written', '?')})"
            )
        return "none"

    def model_spec(self, table: str | None = None) -> str:
        """The model's spec, or the one recorded in ``table`` when the chapter reads results."""
        if self.model is not None:
            return str(self.model.spec)
        if self.from_results and table is not None:
            return str(self.results.read(table).attrs["provenance"].get("model", {}).get("spec"))
        return "none"

    def about(self, **extra: Any) -> dict[str, Any]:
        """The provenance of a result table this chapter writes."""
        return provenance(
            self.model, device=self.params.get("device"), dataset=self.data.kind,
            parameters=self.params, **extra,
        )  # fmt: skip

    def banner(self, model: str, note: str = "", world: str | None = None) -> Markdown:
        """The chapter's opening box (world: the dataset's label unless given)."""
        return banner(world=world or self.data.label, model=model, params=self.params, note=note)

    @property
    def simulated(self) -> bool:
        """Whether the chapter's numbers come from the embedded simulated world."""
        return bool(self.data.is_simulated)

    def tagged(self, text: str) -> str:
        """``text`` prefixed with "Simulated: " when the chapter runs on the embedded world (for
        titles and captions of simulated numbers)."""
        return f"Simulated: {text}" if self.simulated else text

    def headline(
        self,
        key: str,
        quantity: str,
        estimate: float,
        lo: float = math.nan,
        hi: float = math.nan,
        n: int | None = None,
        sentence: str | None = None,
    ) -> Headline:
        """State a headline number (:mod:`humanclap.book.headlines`): displayed as a bold line
        ("Simulated: ..." on the embedded world) and recorded for the results page and the README.
        ``sentence`` replaces the default line."""
        item = Headline(key, quantity, estimate, lo, hi, n, self.data.kind, self.simulated)
        shown, metadata = headline_output(item, sentence)
        display(shown, metadata=metadata)
        self.glue(key, item.text())
        return item

    def glue(self, key: str, text: str) -> None:
        """Record ``text`` under ``key`` for another page to paste, without showing it here
        (MyST-NB's ``glue``): the landing page's key findings paste the chapters' numbers
        (``{glue:text}`chapters/01_human_ratings.ipynb::ch1_ceiling_test:s```: the role needs the
        format, ``:s``) instead of copying
        them. Every headline is glued under its key. On the embedded world the text ends in
        "(simulated)"."""
        if self.simulated:
            text = f"{text} (simulated)"
        glue(key, GluedText(text), display=False)

    def takeaway(self, text: str) -> None:
        """Display a takeaway line, in the same form everywhere: "**Takeaway:** ...", marked
        "(simulated world)" when the numbers are the world's."""
        where = " (simulated world)" if self.simulated else ""
        display(Markdown(f"**Takeaway{where}:** {text}"))

    def figure(self, fig: Figure, *, caption: str, alt: str, takeaway: str | None = None) -> None:
        """Display a figure numbered in the chapter ("Figure 2.3"), with its caption ("Simulated:
        ..." and the figure tagged on the embedded world, :func:`humanclap.plots.mark_simulated`),
        its alt text (one sentence saying what is plotted: axes, groups; required, checked by
        :func:`humanclap.plots.check_alt_text`) and its takeaway line beneath it, through
        :func:`humanclap.book.figures.figure_output`; the figure is closed afterwards."""
        label = figure_label(self.number, self.figures_shown + 1)
        try:
            if self.simulated:
                plots.mark_simulated(fig)
            bundle, metadata = figure_output(
                fig, label=label, caption=self.tagged(caption), alt=alt
            )
        finally:
            plt.close(fig)
        self.figures_shown += 1
        display(bundle, raw=True, metadata=metadata)
        if takeaway:
            self.takeaway(takeaway)

    def table(
        self,
        table: pd.DataFrame,
        *,
        columns: Sequence[str] | Mapping[str, str] | None = None,
        caption: str | None = None,
        decimals: int = 3,
        csv: str | None = None,
    ) -> None:
        """Display a result table through :func:`humanclap.plots.format_table` (caption tagged
        on the embedded world), with a CSV download of the full table when ``csv`` names one."""
        if caption is not None:
            caption = self.tagged(caption)
        styler = plots.format_table(table, columns=columns, caption=caption, decimals=decimals)
        plain = styler.data.to_string(index=False)  # no object address: the same every run
        display({"text/html": styler.to_html(), "text/plain": plain}, raw=True)
        if csv:
            display(plots.csv_download(table, csv))

    def show_banner(self, model: str, note: str = "", world: str | None = None) -> None:
        """Display :meth:`banner`, recording in the output's metadata what the chapter ran on
        (the runner reads it and says in its log when a chapter ran on the simulation) and the
        CPU settings it computed with (:func:`humanclap.runtime.cpu_settings`)."""
        ran_on = {
            "dataset": self.data.kind,
            "simulated": self.data.is_simulated,
            "reason": self.data.reason,
            "cpu": cpu_settings(),
        }
        display(self.banner(model, note, world), metadata={BANNER_METADATA: ran_on})


def _dataset(
    params: Mapping[str, Any], dataset: str | os.PathLike | None, needs_audio: bool, **world: Any
) -> Dataset:
    world_size = world.pop("world_size", params.get("world_size"))
    return resolve_dataset(
        dataset if dataset is not None else params.get("dataset", "synthetic"),
        relate_dir=params.get("relate_dir"),
        audio_dir=params.get("audio_dir"),
        categories_path=params.get("categories_path"),
        needs_audio=needs_audio,
        world_params={} if world_size is None else {"n_captions": world_size},
        **world,
    )


def open_chapter(
    namespace: Mapping[str, Any],
    *,
    dataset: str | os.PathLike | None = None,
    needs_audio: bool = True,
    load_model: bool = True,
    world_size: int | None = None,
    world_seed: int = 0,
    display_precision: int | None = 3,
    real_only: bool = False,
    tables: Sequence[str] = (),
    number: int | str | None = None,
) -> Chapter:
    """Set a chapter up from the parameters in its namespace.

    Parameters
    ----------
    namespace : mapping
        The notebook's ``globals()`` (see :func:`chapter_parameters`).
    dataset : str or path, optional
        Overrides the ``dataset`` parameter (``"synthetic"`` for a chapter about the world).
    needs_audio : bool
        Whether the chapter embeds audio (``dataset="auto"`` then needs RELATE's audio).
    load_model : bool
        Load the model named by the ``model`` parameter (``"auto"``: the dataset's default).
    world_size, world_seed : int
        Captions and seed of the embedded world when it is used (default: the ``world_size``
        parameter, else the library's default world).
    display_precision : int or None
        pandas' ``display.precision`` for the chapter's tables (None: pandas' default).
    real_only : bool
        A chapter about RELATE itself: ``dataset="auto"`` means ``"relate"`` (never a silent
        fall-back to the simulation, which then runs only when asked for by name).
    tables : sequence of str
        The result tables the chapter reads or writes (:mod:`humanclap.book.results`). When the
        ``results_dir`` parameter holds all of them, the chapter runs on RELATE from them: no
        audio, no model.
    number : int or str, optional
        The chapter's number in the book (``2``; ``"A"`` for the appendix): its figures are
        "Figure 2.1", "Figure 2.2", ... (without it "Figure 1", ...).

    Returns
    -------
    Chapter
    """
    params = chapter_parameters(namespace)
    plots.setup()
    if display_precision is not None:
        pd.set_option("display.precision", display_precision)
    if real_only and params.get("dataset", dataset) == "auto":
        dataset = "relate"
    extra = {} if world_size is None else {"world_size": world_size}
    results = ResultTables(results_folder(params.get("results_dir")))
    from_results = bool(tables) and results.has(*tables)
    needs_audio = needs_audio and not from_results
    data = _dataset(params, dataset, needs_audio, world_seed=world_seed, **extra)
    if data.kind != "relate":  # result tables are RELATE's: the world never reads or writes them
        results, from_results = ResultTables(None), False
    model = None
    if load_model and "model" in params and not from_results:
        spec, options = data.model_spec(params["model"])
        model = models.load(spec, device=params.get("device", "cpu"), **options)
    label = None if number is None else str(number)
    return Chapter(params, data, model, results, from_results, number=label)
