"""Which data a chapter runs on: RELATE (real ratings, and audio where present) or the world.

Every notebook takes ``dataset="auto"``; :func:`resolve_dataset` turns that into a
:class:`Dataset`, which knows where the ratings and the audio are and how to say so in the
chapter's banner.

Values of ``dataset``
---------------------
``"auto"``
    RELATE when what the chapter needs is there: the ratings (chapter 1) or the ratings *and*
    the audio (chapters that embed audio); otherwise the embedded synthetic world
    (:mod:`humanclap.data.synthetic`). The banner states which one was chosen and why.
``"relate"``
    RELATE, or an error saying what is missing and where to put it.
``"synthetic"``
    The embedded world (generated on first use, then cached).
a folder
    Any folder in RELATE's layout (``scores/REL.csv``, the audio under
    ``<source>/<split>/<id>.wav``): a world written by :func:`humanclap.data.synthetic.generate`
    (recognised by its ``world.json``) or one's own data in RELATE's format.

Where RELATE's audio is looked for
----------------------------------
The audio (``RELATE_wave.zip``, about 1.7 GB, published separately by RELATE's authors) must be
unpacked so that each ``wavname`` of ``scores/REL.csv`` (``/audiocaps/train/8215.wav``) exists
below one folder: 1) the ``audio_dir`` argument; 2) ``$HUMANCLAP_RELATE_AUDIO``; 3) the folder of
the rating files. In each, the audio root may be the folder itself or lie a few levels below
(the zip's ``RELATE_wave/``, a ``wav/`` level): :func:`humanclap.data.relate_audio.find_audio_root`.
``humanclap relate-audio <folder or zip>`` checks a copy against the ratings. The library does
not download it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from humanclap.audio import resolve_audio_path
from humanclap.data.files import SIMULATED_SOURCES, SOURCES, RelateDataError
from humanclap.data.locate import resolve_relate_root
from humanclap.data.pairs import pair_table
from humanclap.data.relate import load_relate
from humanclap.data.relate_audio import find_audio_root, has_source_folders
from humanclap.data.synthetic import ensure_world

__all__ = ["DATASETS", "ENV_RELATE_AUDIO", "Dataset", "resolve_dataset"]

#: Environment variable naming the folder that holds RELATE's unpacked audio.
ENV_RELATE_AUDIO = "HUMANCLAP_RELATE_AUDIO"
#: Named values of ``dataset`` (a folder path is accepted too).
DATASETS = ("auto", "relate", "synthetic")


@dataclass(frozen=True)
class Dataset:
    """Where a chapter's ratings and audio come from.

    Attributes
    ----------
    kind : {"relate", "synthetic", "folder"}
        RELATE's real files, the embedded simulation, or another folder in RELATE's layout.
    root : Path
        Folder holding ``scores/*.csv``.
    audio_dir : Path or None
        Folder below which each ``wavname`` is an audio file; ``None`` when there is no audio.
    categories : str or Path or bool
        What :func:`humanclap.data.load_relate` gets as ``categories``.
    reason : str
        Why this dataset was chosen (for ``"auto"``), shown in the banner.
    world : dict
        For the simulation: ``world.json``'s seed and parameters.
    """

    kind: str
    root: Path
    audio_dir: Path | None
    categories: str | Path | bool = "auto"
    reason: str = ""
    world: dict[str, Any] = field(default_factory=dict)

    @property
    def is_simulated(self) -> bool:
        """True for the embedded world (its numbers are never RELATE's)."""
        return self.kind == "synthetic"

    @property
    def default_model(self) -> str:
        """The model spec ``model="auto"`` means here: the world's own pretrained tiny CLAP on
        the simulation, LAION-CLAP (``laion:630k-audioset-best``) on real audio."""
        return "tiny" if self.kind == "synthetic" else "laion:630k-audioset-best"

    def model_spec(self, spec: str = "auto") -> tuple[str, dict[str, Any]]:
        """What to pass to :func:`humanclap.models.load` to score this dataset.

        ``"auto"`` is :attr:`default_model`; ``"tiny"`` on the simulation is the tiny CLAP
        pretrained on *this* world (trained on first use, then cached); any other spec or path
        is passed on unchanged. The caller then does
        ``models.load(spec, device=..., **options)``.

        Returns
        -------
        (str, dict)
            The spec, and the options it needs: ``{"world": root}`` for ``"tiny"`` on the
            simulation, else ``{}``.
        """
        spec = self.default_model if spec == "auto" else spec
        options: dict[str, Any] = {}
        if spec == "tiny" and self.kind == "synthetic":
            options["world"] = self.root
        return spec, options

    @property
    def label(self) -> str:
        """One line for the chapter banner: what the numbers come from."""
        if self.kind == "relate":
            audio = f"audio from `{self.audio_dir}`" if self.audio_dir else "no audio"
            text = (
                "**RELATE**, the real human ratings (sarulab-speech/RELATE @ 05935d9, "
                f"read from `{self.root}`; {audio})"
            )
        elif self.kind == "synthetic":
            seed = self.world.get("seed", "?")
            n = self.world.get("params", {}).get("n_captions", "?")
            text = (
                "**the embedded simulation, NOT RELATE**: synthesised audio and simulated "
                f"listeners (world seed {seed}, {n} captions; see the appendix)"
            )
        else:
            text = f"the folder `{self.root}` in RELATE's layout (not RELATE's own files)"
        return f"{text}. {self.reason}".strip()

    def load_ratings(self, aspect: str = "REL", **kwargs: Any) -> pd.DataFrame:
        """:func:`humanclap.data.load_relate` on this dataset (one row per rating). On the
        embedded world the text-to-audio sources are named ``sim-audioldm`` ...
        (:data:`humanclap.data.files.SIMULATED_SOURCES`), so that no simulated table or figure
        shows a real system's name; ``wavname`` keeps the world's folders."""
        kwargs.setdefault("categories", self.categories)
        if self.kind != "relate":
            kwargs.setdefault("verify", False)
            kwargs.setdefault("download", False)
        ratings = load_relate(self.root, aspect=aspect, **kwargs)
        if self.is_simulated:
            ratings["source"] = ratings["source"].replace(SIMULATED_SOURCES)
        return ratings

    def audio_path(self, wavname: str) -> Path:
        """The audio file of a ``wavname`` (``/audiocaps/train/8215.wav``)."""
        if self.audio_dir is None:
            raise FileNotFoundError(
                f"dataset {self.kind!r} at {self.root} has no audio (set ${ENV_RELATE_AUDIO} or "
                "pass audio_dir)"
            )
        return resolve_audio_path(wavname, self.audio_dir)

    def pairs(
        self, aspect: str = "REL", ratings: pd.DataFrame | None = None, target: str = "mean"
    ) -> pd.DataFrame:
        """One row per (clip, caption) pair (:func:`humanclap.data.pair_table`, its ``target``
        ``"mean"`` or ``"listener_z"``) with an ``audio`` column of file paths (str) when the
        dataset has audio."""
        if ratings is None:
            ratings = self.load_ratings(aspect)
        pairs = pair_table(ratings, target=target)
        if self.audio_dir is not None:
            pairs["audio"] = [str(self.audio_path(w)) for w in pairs["wavname"]]
        return pairs


def _find_relate_audio(audio_dir: str | os.PathLike | None, root: Path | None) -> Path | None:
    given = [(audio_dir, f"audio_dir={str(audio_dir)!r}")] if audio_dir is not None else []
    env = os.environ.get(ENV_RELATE_AUDIO)
    if not given and env:
        given = [(env, f"${ENV_RELATE_AUDIO}={env}")]
    for value, where in given:
        found = find_audio_root(value)
        if found is None:
            raise FileNotFoundError(
                f"{where}: no RELATE audio there (expected folders {', '.join(SOURCES)} holding "
                "the wav files named in scores/REL.csv, directly or below a top folder; "
                "`humanclap relate-audio <folder>` checks a copy)"
            )
        return found
    return find_audio_root(root) if root is not None else None


def _synthetic(root: Path | None, world_seed: int, world_params: dict, reason: str) -> Dataset:
    if root is None:
        root = ensure_world(seed=world_seed, **world_params)
    info = json.loads((root / "world.json").read_text())
    audio_dir = root if has_source_folders(root) else None
    return Dataset("synthetic", root, audio_dir, "auto", reason, info)


def _folder(
    dataset: str | os.PathLike,
    categories: str | Path,
    needs_audio: bool,
    world_seed: int,
    world_params: dict,
) -> Dataset:
    """``dataset`` given as a folder: a world (it has ``world.json``) or one in RELATE's layout."""
    path = Path(dataset).expanduser()
    if not (path / "scores" / "REL.csv").is_file():
        raise ValueError(
            f"dataset={str(dataset)!r}: expected one of {DATASETS} or a folder holding "
            "scores/REL.csv (RELATE's layout)"
        )
    if (path / "world.json").is_file():
        return _synthetic(path, world_seed, world_params, "Chosen by path.")
    audio_dir = path if has_source_folders(path) else None
    if needs_audio and audio_dir is None:
        raise FileNotFoundError(
            f"dataset={str(dataset)!r}: no audio below it (expected folders "
            f"{', '.join(SOURCES)} holding the files named in scores/REL.csv)"
        )
    return Dataset("folder", path, audio_dir, categories, "Chosen by path.")


def _relate_or_world(
    dataset: str,
    relate_dir: str | os.PathLike | None,
    audio_dir: str | os.PathLike | None,
    categories: str | Path,
    needs_audio: bool,
    world_seed: int,
    world_params: dict,
) -> Dataset:
    """``"relate"``: RELATE or an error; ``"auto"``: RELATE when what is needed is there, else
    the world (with the reason)."""
    try:
        root = resolve_relate_root(relate_dir)
    except RelateDataError as err:
        if dataset == "relate":
            raise
        first_line = str(err).splitlines()[0]
        return _synthetic(
            None, world_seed, world_params, f"RELATE's ratings are not available ({first_line})."
        )
    found_audio = _find_relate_audio(audio_dir, root)
    if needs_audio and found_audio is None:
        if dataset == "relate":
            raise FileNotFoundError(
                "RELATE's audio was not found. Unpack RELATE_wave.zip (published by RELATE's "
                "authors) so that each wavname of scores/REL.csv exists below one folder, and "
                f"pass audio_dir= or set ${ENV_RELATE_AUDIO} to it."
            )
        return _synthetic(
            None,
            world_seed,
            world_params,
            f"RELATE's audio is not on this machine (set ${ENV_RELATE_AUDIO} to use it), so "
            "this run uses the simulation.",
        )
    reason = "" if dataset == "relate" else "Chosen by `dataset='auto'`: RELATE was found."
    return Dataset("relate", root, found_audio, categories, reason)


def resolve_dataset(
    dataset: str | os.PathLike = "auto",
    *,
    relate_dir: str | os.PathLike | None = None,
    audio_dir: str | os.PathLike | None = None,
    categories_path: str | os.PathLike | None = None,
    needs_audio: bool = True,
    world_seed: int = 0,
    world_params: dict[str, Any] | None = None,
) -> Dataset:
    """Decide which data a chapter runs on (see the module doc).

    Parameters
    ----------
    dataset : {"auto", "relate", "synthetic"} or path-like
    relate_dir : path-like, optional
        Folder of RELATE's rating files (else ``$HUMANCLAP_RELATE_DIR``, the cache, a download).
    audio_dir : path-like, optional
        Folder of RELATE's unpacked audio (else ``$HUMANCLAP_RELATE_AUDIO``, or beside the
        ratings).
    categories_path : path-like, optional
        The AudioCaps -> AudioSet category table (else found or downloaded with the ratings).
    needs_audio : bool
        Whether the chapter embeds audio. With ``"auto"``, RELATE is chosen only when its
        audio is present too.
    world_seed, world_params
        Seed and :func:`humanclap.data.synthetic.generate` parameters of the world used when
        the simulation is chosen.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        ``dataset`` is none of the accepted values.
    RelateDataError, FileNotFoundError
        ``"relate"`` was asked for and its ratings (or, with ``needs_audio``, its audio) are
        missing; the message says what goes where.
    """
    world_params = dict(world_params or {})
    categories: str | Path = Path(categories_path) if categories_path else "auto"
    if isinstance(dataset, os.PathLike) or (isinstance(dataset, str) and dataset not in DATASETS):
        return _folder(dataset, categories, needs_audio, world_seed, world_params)
    if dataset == "synthetic":
        return _synthetic(None, world_seed, world_params, "Chosen by `dataset='synthetic'`.")
    return _relate_or_world(
        dataset, relate_dir, audio_dir, categories, needs_audio, world_seed, world_params
    )
