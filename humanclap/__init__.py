"""humanclap: how far does CLAPScore agree with people?

Modules (one concern each):

- :mod:`humanclap.data` -- RELATE ratings, AudioSet categories, the embedded synthetic world.
- :mod:`humanclap.metrics` -- SRCC / LCC / KTAU / MSE with bootstrap confidence intervals.
- :mod:`humanclap.stats` -- inter-rater reliability, noise ceiling, listener effects.
- :mod:`humanclap.plots` -- the book's figures.
- :mod:`humanclap.notebooks` -- runs the book's notebooks with papermill.
- :mod:`humanclap.cli` -- the ``humanclap`` command.
"""

__version__ = "0.1.0"
