"""RELATE ratings, AudioSet categories, the embedded world, and which of them a chapter uses.

Layer 3 (beside :mod:`humanclap.models`, which it never imports); it uses only
:mod:`humanclap.utils` and :mod:`humanclap.audio` below it. Modules, bottom to top:

- :mod:`humanclap.data.files` -- what every RELATE reader shares: :data:`ASPECTS`,
  :data:`SOURCES`, :data:`SPLITS`, :class:`RelateDataError`, the checked CSV reader.
- :mod:`humanclap.data.locate` -- where RELATE's rating files are (argument, environment, cache,
  checksummed download).
- :mod:`humanclap.data.ratings` -- reading and validating one scores file.
- :mod:`humanclap.data.screening` -- IS/OS splits, what screening removes,
  :func:`screening_summary`.
- :mod:`humanclap.data.pairs` -- :func:`pair_table`, :func:`explode_categories`.
- :mod:`humanclap.data.categories` -- AudioSet top-level categories per AudioCaps clip.
- :mod:`humanclap.data.ontology` -- the AudioSet ontology file (argument, environment, cache,
  checksummed download) and its hierarchy, :class:`Ontology`.
- :mod:`humanclap.data.matcher` -- caption -> AudioSet classes (:func:`match_captions`).
- :mod:`humanclap.data.events` -- fine event types per caption and per pair
  (:func:`caption_events`, :func:`explode_events`), :func:`caption_complexity`.
- :mod:`humanclap.data.audioset_labels` -- AudioSet's human labels of RELATE's AudioCaps clips
  (:func:`load_audioset_labels`: a committed table; :func:`audioset_labels_from_sources`: the
  join from the pinned sources).
- :mod:`humanclap.data.event_types` -- a pair's event types from its caption's clip's labels at
  one ontology level (:func:`pair_events`, :func:`clip_events`, :func:`label_categories`), the
  matcher as fallback.
- :mod:`humanclap.data.matcher_eval` -- the matcher against the labels (:func:`evaluate_matcher`)
  and the XACLE category table against them (:func:`compare_categories`).
- :mod:`humanclap.data.relate` -- :func:`load_relate` (and every RELATE name above).
- :mod:`humanclap.data.relate_audio` -- RELATE's audio: found in a folder or zip, checked.
- :mod:`humanclap.data.relate_download` -- RELATE's audio zip from its authors: downloaded
  (pooch), size- and sha256-checked (recorded on first use), unpacked atomically.
- :mod:`humanclap.data.xacle` -- the XACLE baseline's predictions on the test split.
- :mod:`humanclap.data.synthetic` -- the simulated world in RELATE's layout (a subpackage).
- :mod:`humanclap.data.datasets` -- which of them a chapter runs on (``dataset="auto"``).

"""

from humanclap.data.audioset_labels import audioset_labels_from_sources, load_audioset_labels
from humanclap.data.categories import CATEGORY_NAMES, load_categories
from humanclap.data.datasets import Dataset, resolve_dataset
from humanclap.data.event_types import (
    EVENT_LEVEL,
    caption_types,
    class_types,
    clip_events,
    label_categories,
    level_types,
    pair_events,
)
from humanclap.data.events import (
    NO_EVENT,
    caption_complexity,
    caption_events,
    explode_events,
    unmatched_words,
)
from humanclap.data.files import SIMULATED_SOURCES
from humanclap.data.matcher import match_captions
from humanclap.data.matcher_eval import compare_categories, evaluate_matcher
from humanclap.data.ontology import Ontology, OntologyClass, OntologyError, load_ontology
from humanclap.data.relate import (
    ASPECTS,
    SOURCES,
    SPLITS,
    RelateDataError,
    explode_categories,
    load_relate,
    pair_table,
    resolve_relate_root,
    screening_summary,
)
from humanclap.data.xacle import XACLE_PUBLISHED, find_xacle_predictions
from humanclap.utils import ChecksumError, DownloadError, download, sha256_file

__all__ = [
    "XACLE_PUBLISHED",
    "ASPECTS",
    "CATEGORY_NAMES",
    "EVENT_LEVEL",
    "audioset_labels_from_sources",
    "caption_types",
    "class_types",
    "clip_events",
    "compare_categories",
    "evaluate_matcher",
    "label_categories",
    "level_types",
    "load_audioset_labels",
    "pair_events",
    "NO_EVENT",
    "SIMULATED_SOURCES",
    "SOURCES",
    "SPLITS",
    "ChecksumError",
    "Dataset",
    "DownloadError",
    "Ontology",
    "OntologyClass",
    "OntologyError",
    "RelateDataError",
    "caption_complexity",
    "caption_events",
    "download",
    "explode_categories",
    "find_xacle_predictions",
    "explode_events",
    "load_categories",
    "load_ontology",
    "load_relate",
    "match_captions",
    "pair_table",
    "resolve_dataset",
    "resolve_relate_root",
    "screening_summary",
    "sha256_file",
    "unmatched_words",
]
