"""The embedded synthetic world: a SIMULATED stand-in for RELATE with known ground truth.

The real study needs RELATE's audio (not downloadable by this project), a LAION-CLAP checkpoint
and a GPU. So that the book builds anywhere, its notebooks fall back to this world, which is
always labelled as a simulation. It is written in exactly RELATE's on-disk layout, so the same
loader (:func:`humanclap.data.load_relate`) reads it, and it also stores the truth behind every
rating, so analysis methods can be checked against known answers.

The files :func:`generate` writes: see :mod:`humanclap.data.synthetic.layout`.

What is simulated
-----------------
*Captions.* 1-3 sound events from 21 synthesised classes
(:mod:`humanclap.data.synthetic.events`) joined by order words: "followed by", "then", "and then"
start a new time segment (a sequence); "while", "as", "with" put the event in the current one
(an overlap). Events may carry a count ("twice", "three times", "several times") and a modifier
("loudly", "in the distance", "high-pitched"). The caption's order is the order of events in the
natural render.

*Sources.* The folder names ``audiocaps``, ``audioldm``, ``audioldm2``, ``tango``, ``tango2`` are
placeholders borrowed from RELATE so that the same loader works. ``audiocaps`` is a faithful
render of the caption (the "natural" clip, which, like an AudioCaps recording, can contain a sound
the caption does not mention, and has recording noise). The other four are *simulated
text-to-audio systems* that do NOT model the real AudioLDM/Tango systems: each is only a failure
profile (:data:`PROFILES`) with its own rates of dropping an event, swapping the order of two
segments, substituting an acoustically similar class (:data:`~humanclap.data.synthetic.events.CONFUSABLE`),
getting a count wrong, adding an unmentioned event, and degrading the sound (band-limiting,
smearing, noise, musical noise, clicks and drop-outs). As in RELATE, every caption is rendered by
the natural source and by two systems, ``(audioldm, tango2)`` for half the captions and
``(audioldm2, tango)`` for the other half.

*Latent relevance* of a pair (0..1), from three components:

- ``inclusion``: mean credit of the caption's events (present 1, present with a wrong count 0.7,
  replaced by a confusable class 0.25, missing 0), minus 0.1 per unmentioned extra event;
- ``order``: share of the caption's ordered event pairs (different segments) whose order the
  audio keeps, among pairs whose events are both present (1 when there is none);
- ``quality``: 1 - severity of the degradation (a Beta draw per clip; source dependent).

``relevance = inclusion * (1 - w_order * (1 - order)) * (1 - w_quality * (1 - quality))``, with
weights from the caption's AudioSet categories (the largest over its categories,
:data:`ORDER_WEIGHT`, :data:`QUALITY_WEIGHT`): order matters more for speech and music, quality
more for music. The IS aspect rates ``inclusion``, the OS aspect ``inclusion * order``.

*Listeners* (:func:`rating_moments` documents the model). A genuine listener rates a pair
``round(10 * sigmoid(z))`` with ``z = scale * (logit(latent) + offset) + bias + noise * h * eps``,
where ``latent`` is clipped to [0.005, 0.995], ``offset`` is a per-pair perceptual offset shared
by all listeners (what people hear that the three components do not capture, N(0, 0.3)),
``scale`` compresses (<1) or expands (>1) scores around the midpoint, ``eps ~ N(0, 1)``, and
``h = 0.35 + 0.65 * (1 - (1 - latent)**4)`` makes people agree on clearly irrelevant pairs and
disagree most on partial matches. With a listener-specific probability ``snap`` the score goes to
the nearest of the labelled scale points {0, 2, 5, 8, 10} instead of the nearest integer
(RELATE's scores pile up on these). Listener noise is lower for audio professionals
(question12 = 1) and higher in a noisy room (question10 >= 3) or with "other" devices
(question9 = 3). A fraction of listeners is *careless* (uniformly random, constant, or
"inattentive" 6..10 scores, regardless of the audio). The population was tuned so that the
default world resembles RELATE's REL ratings: within-pair variance about 6, ICC(1) about 0.44,
sqrt(ICC(1,k)) about 0.86, natural and tango2 clips rated about 8, audioldm about 5.3.

*Design* as in RELATE: each listener rates 6 captions x 3 audios and 3 anchors (the caption of one
of their captions with the natural clip of another caption, chosen so that the clip contains none
of the caption's event classes), in random order;
each caption is rated by 1 + Poisson(ratings_per_pair - 1) listeners (about 4). The IS/OS pool
(ids from ``10000``) rates the same pairs for both aspects, like RELATE.

*Screening* (:func:`screen_listeners`): a listener is excluded when the mean of their anchor
scores is >= 2 (this reproduces RELATE's published exclusions for 1,369 of its 1,370 REL
listeners) or when their scores correlate negatively (< 0) with the other listeners' mean on the
same pairs (or do not vary at all); RELATE does not use the second rule, which is added here to
catch random raters who happen to score the anchors low (about 4 % of them). Over ten seeds of
the default world these rules caught all 450 planted careless listeners (both pools) and
excluded 2.8 % (REL) and 1.0 % (IS/OS) of the genuine ones; the anchor rule alone misses about
1 % of the careless and excludes almost no genuine listener. A uniformly random rater can still
pass both rules by chance (about 2 % of them; more often in small worlds, where fewer other
listeners share their pairs). As in RELATE, REL rows of excluded listeners, anchors,
and every row of a caption left with a pair that has no kept rating are marked ``excluded``.

*Splits.* Captions (and so all their pairs) go to train / validation / test (53 / 23.5 / 23.5 %);
train captions are "AudioCaps train" clips (ids < 100000, folder ``train``), validation and test
captions "AudioCaps test" clips (ids >= 100000, folder ``test``), as in RELATE.

Everything derives from ``seed``: the same seed and parameters give byte-identical files
(on one platform; floating point may differ between machines).

Modules
-------
- :mod:`~humanclap.data.synthetic.events` -- the 21 event classes, their categories and
  confusions; :mod:`~humanclap.data.synthetic.phrasing` -- how a caption names an event;
  :mod:`~humanclap.data.synthetic.sounds` and :mod:`~humanclap.data.synthetic.dsp` -- how each
  class sounds, and the synthesis primitives.
- :mod:`~humanclap.data.synthetic.params` -- sources, failure profiles, parameters, world key,
  random streams.
- :mod:`~humanclap.data.synthetic.captions` -- captions and their grammar;
  :mod:`~humanclap.data.synthetic.failures` -- what a source makes of a caption
  (:data:`FAILURE_KINDS`); :mod:`~humanclap.data.synthetic.render` -- the audio.
- :mod:`~humanclap.data.synthetic.relevance` -- latent relevance and ``truth.csv``'s table;
  :mod:`~humanclap.data.synthetic.listeners` -- the listener model and :func:`rating_moments`.
- :mod:`~humanclap.data.synthetic.design` -- captions, splits, anchors, who rates what;
  :mod:`~humanclap.data.synthetic.screening` -- :func:`screen_listeners`;
  :mod:`~humanclap.data.synthetic.study` -- the simulated listening study.
- :mod:`~humanclap.data.synthetic.layout` -- the files and their columns;
  :mod:`~humanclap.data.synthetic.build` -- :func:`generate`;
  :mod:`~humanclap.data.synthetic.truth` -- reading the truth, :func:`failure_table`,
  :func:`true_noise_ceiling`; :mod:`~humanclap.data.synthetic.world` -- the world cache
  (:func:`ensure_world`), :func:`world_fingerprint`, :func:`load_audio`.
"""

from humanclap.data.synthetic.build import generate
from humanclap.data.synthetic.events import (
    CATEGORIES,
    CATEGORY_ORDER,
    CONFUSABLE,
    EVENT_CLASSES,
    EventClass,
)
from humanclap.data.synthetic.failures import FAILURE_KINDS, describe_failures
from humanclap.data.synthetic.layout import (
    ATTRIBUTE_COLUMNS,
    CATEGORY_COLUMNS,
    ISOS_COLUMNS,
    LISTENER_COLUMNS,
    REL_COLUMNS,
    TRUTH_COLUMNS,
)
from humanclap.data.synthetic.listeners import (
    BIAS_SD,
    LATENT_EPS,
    NOISE_FLOOR,
    NOISE_RANGE,
    OFFSET_SD,
    SCALE_SD,
    SNAP_POINTS,
    rating_moments,
)
from humanclap.data.synthetic.params import (
    ANCHORS_PER_LISTENER,
    AUDIO_TYPE,
    GENERATOR_VERSION,
    PROFILES,
    RATINGS_PER_LISTENER,
    SAMPLE_RATE,
    SOURCES,
    SYSTEM_PAIRS,
    SystemProfile,
    default_params,
    world_key,
)
from humanclap.data.synthetic.phrasing import Phrasing, count_words, phrase_event
from humanclap.data.synthetic.relevance import (
    CREDIT_SUBSTITUTED,
    CREDIT_WRONG_COUNT,
    EXTRA_PENALTY,
    ORDER_WEIGHT,
    QUALITY_WEIGHT,
)
from humanclap.data.synthetic.render import synth_event
from humanclap.data.synthetic.screening import ANCHOR_THRESHOLD, MIN_CORR, screen_listeners
from humanclap.data.synthetic.truth import (
    failure_masks,
    failure_table,
    load_listeners,
    load_truth,
    true_noise_ceiling,
)
from humanclap.data.synthetic.world import ensure_world, load_audio, world_fingerprint

__all__ = [
    "ANCHORS_PER_LISTENER",
    "ANCHOR_THRESHOLD",
    "ATTRIBUTE_COLUMNS",
    "AUDIO_TYPE",
    "BIAS_SD",
    "CATEGORIES",
    "CATEGORY_COLUMNS",
    "CATEGORY_ORDER",
    "CONFUSABLE",
    "CREDIT_SUBSTITUTED",
    "CREDIT_WRONG_COUNT",
    "EVENT_CLASSES",
    "EXTRA_PENALTY",
    "FAILURE_KINDS",
    "GENERATOR_VERSION",
    "ISOS_COLUMNS",
    "LATENT_EPS",
    "LISTENER_COLUMNS",
    "MIN_CORR",
    "NOISE_FLOOR",
    "NOISE_RANGE",
    "OFFSET_SD",
    "ORDER_WEIGHT",
    "PROFILES",
    "QUALITY_WEIGHT",
    "RATINGS_PER_LISTENER",
    "REL_COLUMNS",
    "SAMPLE_RATE",
    "SCALE_SD",
    "SNAP_POINTS",
    "SOURCES",
    "SYSTEM_PAIRS",
    "TRUTH_COLUMNS",
    "EventClass",
    "Phrasing",
    "SystemProfile",
    "count_words",
    "default_params",
    "describe_failures",
    "ensure_world",
    "failure_masks",
    "failure_table",
    "generate",
    "load_audio",
    "load_listeners",
    "load_truth",
    "phrase_event",
    "rating_moments",
    "screen_listeners",
    "synth_event",
    "true_noise_ceiling",
    "world_fingerprint",
    "world_key",
]
