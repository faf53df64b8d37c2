"""Any metric against RELATE's listeners: the library behind ``humanclap agree``.

Layer 5 (beside :mod:`humanclap.score`). Modules, bottom to top:

- :mod:`humanclap.agree.predictions` -- reading a predictions file (:func:`read_predictions`)
  and joining it to the pairs of a split (:func:`join_predictions`, :class:`JoinResult`:
  joined, missing and extra pairs).
- :mod:`humanclap.agree.events` -- :func:`default_events`: sound-event types (AudioSet labels,
  the matcher as fallback); :func:`rank_events`: their ranking with q-values.
- :mod:`humanclap.agree.report` -- the analyses (:func:`agreement_report`,
  :class:`AgreementReport`): metrics with bootstrap intervals by group against each group's
  noise ceiling, the within- versus between-source decomposition, paired comparisons. It
  works on any table of pairs with a prediction column (a chapter's own scores too).
- :mod:`humanclap.agree.markdown` -- the text of ``report.md``.
- :mod:`humanclap.agree.output` -- :func:`write_report`: CSV files, ``report.md``, figures.
- :mod:`humanclap.agree.run` -- :func:`run_agree`, the whole command.
"""

from humanclap.agree.events import EVENT_COLUMNS, NO_ONTOLOGY, default_events, rank_events
from humanclap.agree.output import write_report
from humanclap.agree.predictions import (
    JoinResult,
    PredictionError,
    join_predictions,
    read_predictions,
    wavname_of,
)
from humanclap.agree.report import (
    GROUPINGS,
    METRICS,
    AgreementReport,
    add_origin,
    agreement_report,
    calibrate,
    stack_groupings,
)
from humanclap.agree.run import AgreeRun, run_agree

__all__ = [
    "EVENT_COLUMNS",
    "GROUPINGS",
    "METRICS",
    "AgreeRun",
    "AgreementReport",
    "JoinResult",
    "PredictionError",
    "add_origin",
    "agreement_report",
    "calibrate",
    "NO_ONTOLOGY",
    "default_events",
    "rank_events",
    "join_predictions",
    "read_predictions",
    "run_agree",
    "stack_groupings",
    "wavname_of",
    "write_report",
]
