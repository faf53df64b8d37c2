"""humanclap: how far does CLAPScore agree with people?

Modules (one concern each; import the one you need, e.g. ``from humanclap import score``):

- :mod:`humanclap.data` -- RELATE ratings, AudioSet categories, the embedded synthetic world,
  and which of them a chapter runs on (``resolve_dataset``).
- :mod:`humanclap.audio` -- decoding, mono mix-down and resampling, with clear errors.
- :mod:`humanclap.models` -- CLAP models behind one interface (``load("tiny")``,
  ``load("laion:630k-audioset-best")``, ``load("hf:<repo>")``, checkpoint files).
- :mod:`humanclap.embed` -- batched, deduplicated, disk-cached embeddings.
- :mod:`humanclap.score` -- CLAPScore (``clapscore``, ``score_pairs``).
- :mod:`humanclap.losses` -- SCE, wSCE, MAE, MSE and their combinations.
- :mod:`humanclap.train` -- Human-CLAP fine-tuning (``finetune``).
- :mod:`humanclap.metrics` -- SRCC / LCC / KTAU / MSE with bootstrap confidence intervals.
- :mod:`humanclap.stats` -- inter-rater reliability, noise ceiling, listener effects, where a
  model and listeners disagree.
- :mod:`humanclap.plots` -- the book's figures.
- :mod:`humanclap.notebooks` -- runs the book's notebooks with papermill.
- :mod:`humanclap.cli` -- the ``humanclap`` command (``run-notebooks``, ``score``).
"""

__version__ = "0.1.0"
