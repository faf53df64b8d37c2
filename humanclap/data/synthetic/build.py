"""Writing a synthetic world: :func:`generate` and the steps it takes.

1. plan the captions, their splits and clip ids (:mod:`~humanclap.data.synthetic.design`);
2. realise and render every caption's 3 clips (:mod:`~humanclap.data.synthetic.failures`,
   :mod:`~humanclap.data.synthetic.render`), then choose each caption's anchor;
3. the truth of every pair (:func:`~humanclap.data.synthetic.relevance.truth_table`);
4. the listening study (:func:`~humanclap.data.synthetic.study.simulate_study`);
5. the tables (:mod:`~humanclap.data.synthetic.layout`) and ``world.json``.

Every step draws from its own random stream (:func:`~humanclap.data.synthetic.params.stream`),
so the same seed and parameters give byte-identical files (on one platform; floating point may
differ between machines). The world is written into a temporary folder and moved onto its
path when complete (:func:`humanclap.utils.atomic_folder`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from humanclap.audio import resolve_audio_path
from humanclap.data.synthetic.captions import Caption
from humanclap.data.synthetic.design import choose_anchors, plan_world
from humanclap.data.synthetic.failures import Clip, realise, time_events
from humanclap.data.synthetic.layout import (
    CATEGORY_COLUMNS,
    ISOS_COLUMNS,
    LISTENER_COLUMNS,
    REL_COLUMNS,
    write_csv,
)
from humanclap.data.synthetic.params import (
    GENERATOR_VERSION,
    SOURCES,
    SystemProfile,
    stream,
    validated_params,
    world_key,
)
from humanclap.data.synthetic.relevance import truth_table
from humanclap.data.synthetic.render import render_clip, write_wav
from humanclap.data.synthetic.study import Study, simulate_study
from humanclap.utils import atomic_folder, sha256_bytes, sha256_file

__all__ = ["generate"]


def generate(
    root: str | os.PathLike,
    n_captions: int = 400,
    seed: int = 0,
    *,
    overwrite: bool = False,
    **params: Any,
) -> Path:
    """Write a synthetic world in RELATE's layout to ``root`` (atomically) and return it.

    Parameters
    ----------
    root : path-like
        Target folder; must not exist unless ``overwrite``. The world is built in a temporary
        sibling folder and renamed onto ``root`` when complete.
    n_captions : int
        Number of captions (each rendered by 3 sources: 3 pairs per caption, plus its anchor).
        The default 400 gives 1,200 pairs and about 280 listeners per pool, about a fifth of
        RELATE.
    seed : int
        Everything derives from it; same seed and parameters give byte-identical files.
    overwrite : bool
        Replace an existing ``root``.
    **params
        ``clip_seconds`` (4.0), ``ratings_per_pair`` (4.2), ``careless_fraction`` (0.08),
        ``split_fractions`` ([0.53, 0.235, 0.235]), ``profiles`` (per source, overrides of
        :class:`~humanclap.data.synthetic.params.SystemProfile` fields), ``write_audio`` (True;
        False skips the wav files, for rating-only uses and fast tests). See
        :func:`~humanclap.data.synthetic.params.default_params`.

    Returns
    -------
    pathlib.Path
        ``root``.

    Raises
    ------
    FileExistsError
        ``root`` exists (or appeared while generating) and ``overwrite`` is false.
    """
    p = validated_params({**params, "n_captions": n_captions})
    root = Path(root)
    if root.exists() and not overwrite:
        raise FileExistsError(f"{root} exists; pass overwrite=True to replace it")
    with atomic_folder(root, overwrite=overwrite) as tmp:
        _build(tmp, int(seed), p)
    return root


def _build(out: Path, seed: int, p: dict) -> None:
    """Write the whole world for ``seed`` and validated parameters ``p`` into ``out``."""
    captions = plan_world(seed, p)
    clips = _make_clips(out, captions, seed, p)
    choose_anchors(captions, [clips[c.index, "audiocaps"] for c in captions], seed)
    truth = truth_table(captions, clips, seed)
    study = simulate_study(captions, truth, seed, p)
    _write_tables(out, captions, truth, study)
    _write_meta(out, seed, p, captions, truth, study)


def _make_clips(
    out: Path, captions: list[Caption], seed: int, p: dict
) -> dict[tuple[int, str], Clip]:
    """Realise every caption's 3 clips (writing their audio when ``p["write_audio"]``).

    Returns
    -------
    dict
        ``(caption index, source) -> Clip``.
    """
    profiles = {
        k: SystemProfile(**{**v, "artefacts": tuple(v["artefacts"])})
        for k, v in p["profiles"].items()
    }
    clip_seconds = p["clip_seconds"]
    clips: dict[tuple[int, str], Clip] = {}
    for cap in captions:
        for source in ("audiocaps", *cap.systems):
            rng = stream(seed, 3, cap.index, SOURCES.index(source))
            clip = realise(cap, profiles[source], rng)
            time_events(clip, clip_seconds, rng)
            clips[cap.index, source] = clip
            if p["write_audio"]:
                path = resolve_audio_path(cap.wavname(source), out)
                path.parent.mkdir(parents=True, exist_ok=True)
                write_wav(path, render_clip(clip, clip_seconds, rng))
    return clips


def _write_tables(out: Path, captions: list[Caption], truth: pd.DataFrame, study: Study) -> None:
    """The CSV files of the world (see :mod:`~humanclap.data.synthetic.layout`)."""
    tables, attr_tables = study.tables, study.attr_tables
    write_csv(tables["REL"][list(REL_COLUMNS)], out / "scores" / "REL.csv")
    write_csv(tables["IS"][list(ISOS_COLUMNS)], out / "scores" / "IS.csv")
    write_csv(tables["OS"][list(ISOS_COLUMNS)], out / "scores" / "OS.csv")
    write_csv(attr_tables["REL"], out / "listener_attributes" / "REL.csv")
    write_csv(attr_tables["IS_and_OS"], out / "listener_attributes" / "IS_and_OS.csv")
    write_csv(truth, out / "truth.csv")
    listeners = pd.DataFrame(study.listener_rows, columns=list(LISTENER_COLUMNS))
    write_csv(listeners, out / "listeners.csv")
    write_csv(_category_table(captions), out / "audiocaps_categories.csv")


def _write_meta(
    out: Path, seed: int, p: dict, captions: list[Caption], truth: pd.DataFrame, study: Study
) -> None:
    """``world.json``: generator, seed, parameters, key, fingerprint of every file, counts."""
    files = sorted(q for q in out.rglob("*") if q.is_file())
    digests = {q.relative_to(out).as_posix(): sha256_file(q) for q in files}
    fingerprint = sha256_bytes("".join(f"{k}\t{v}\n" for k, v in digests.items()).encode())
    meta = {
        "simulation": True,
        "note": (
            "SIMULATED world in RELATE's layout (humanclap.data.synthetic); not RELATE. The "
            "source folder names are placeholders; they do not model the real systems."
        ),
        "generator": "humanclap.data.synthetic",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "params": p,
        "key": world_key(seed, **p),
        "fingerprint": fingerprint,
        "csv_sha256": {k: v for k, v in digests.items() if k.endswith(".csv")},
        "counts": {
            "captions": len(captions),
            "pairs": int((~truth["anchor"]).sum()),
            "wav_files": sum(k.endswith(".wav") for k in digests),
            **{f"ratings_{a}": len(study.tables[a]) for a in ("REL", "IS", "OS")},
            "listeners_REL": len(study.attr_tables["REL"]),
            "listeners_IS_and_OS": len(study.attr_tables["IS_and_OS"]),
        },
    }
    (out / "world.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


def _youtube_id(audiocap_id: int) -> str:
    """A placeholder YouTube id for a world clip."""
    return "syn" + sha256_bytes(f"clip{audiocap_id}".encode())[:8]


def _category_table(captions: list[Caption]) -> pd.DataFrame:
    """``audiocaps_categories.csv``: the XACLE category table's 12 columns, one row per caption."""
    rows = []
    for c in captions:
        a = captions[c.anchor_of]
        syn = [c.wavname(s) for s in c.systems]
        rows.append(
            dict(
                audiocaps_id=c.audiocap_id,
                caption=c.text,
                file_path=f"/audiocaps/{c.folder}/{c.audiocap_id}.mp3",
                youtube_id=_youtube_id(c.audiocap_id),
                start_seconds=0,
                caption_label=c.caption_label,
                anchor_filepath=f"/audiocaps/{a.folder}/{a.audiocap_id}.mp3",
                rel_anchor_youtube_id=_youtube_id(a.audiocap_id),
                rel_anchor_start_seconds=0,
                syn1=syn[0],
                syn2=syn[1],
                q_anchor=f"/q_anchor/{c.folder}/{c.audiocap_id}.mp3",
            )
        )
    return pd.DataFrame(rows, columns=list(CATEGORY_COLUMNS))
