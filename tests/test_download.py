"""humanclap.utils.download and the download paths of the RELATE / category loaders.

Everything is served by a loopback ``http.server`` in a thread from ``tmp_path``; the files are
small fixture CSVs with their own sha256 (the checksum tables are monkeypatched).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from humanclap.data import (
    ChecksumError,
    DownloadError,
    RelateDataError,
    download,
    load_categories,
    load_relate,
    resolve_relate_root,
    sha256_file,
)
from humanclap.data import categories as categories_module
from humanclap.data import locate as locate_module


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server:
    def __init__(self, directory: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, _Server]]:
    """(folder served, server); the folder is empty at first."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = _Server(folder)
    yield folder, server
    server.stop()


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUMANCLAP_OFFLINE", raising=False)


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.csv"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# ------------------------------------------------------------------------------ download()
def test_sha256_file(tmp_path):
    data = b"a,b\n1,2\n" * 50_000  # several chunks
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    assert sha256_file(path) == _sha(data)


def test_download_good(served, online, tmp_path):
    folder, server = served
    data = b"wavname,score\n/a/train/1.wav,3\n" * 10_000
    (folder / "good.csv").write_bytes(data)
    dest = tmp_path / "out" / "sub" / "good.csv"
    got = download(f"{server.url}/good.csv", dest, sha256=_sha(data).upper(), progress=True)
    assert got == dest
    assert dest.read_bytes() == data
    assert _leftovers(dest.parent) == []


def test_download_checksum_mismatch_leaves_nothing(served, online, tmp_path):
    folder, server = served
    (folder / "bad.csv").write_bytes(b"tampered\n")
    dest = tmp_path / "out" / "bad.csv"
    expected = _sha(b"original\n")
    with pytest.raises(ChecksumError) as err:
        download(f"{server.url}/bad.csv", dest, sha256=expected, progress=False)
    message = str(err.value)
    assert "bad.csv" in message and expected in message and _sha(b"tampered\n") in message
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_download_failure_keeps_existing_file(served, online, tmp_path):
    folder, server = served
    (folder / "f.csv").write_bytes(b"new\n")
    dest = tmp_path / "f.csv"
    dest.write_bytes(b"old\n")
    with pytest.raises(ChecksumError):
        download(f"{server.url}/f.csv", dest, sha256=_sha(b"other"), progress=False)
    assert dest.read_bytes() == b"old\n"
    download(f"{server.url}/f.csv", dest, sha256=_sha(b"new\n"), progress=False)
    assert dest.read_bytes() == b"new\n"
    assert _leftovers(tmp_path) == []


def test_download_404(served, online, tmp_path):
    _, server = served
    url = f"{server.url}/missing.csv"
    dest = tmp_path / "missing.csv"
    with pytest.raises(DownloadError) as err:
        download(url, dest, progress=False)
    assert not isinstance(err.value, ChecksumError)
    message = str(err.value)
    assert url in message and "404" in message and "offline" in message
    assert list(tmp_path.iterdir()) == [tmp_path / "served"]


def test_download_connection_refused_is_fast(online, tmp_path):
    url = _closed_port_url()
    start = time.monotonic()
    with pytest.raises(DownloadError) as err:
        download(url, tmp_path / "x.csv", timeout=3, progress=False)
    assert time.monotonic() - start < 5
    assert url in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_download_read_timeout(online, tmp_path):
    """A server that accepts but never answers: the read time-out ends it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow.csv"
        start = time.monotonic()
        with pytest.raises(DownloadError, match="slow.csv"):
            download(url, tmp_path / "slow.csv", timeout=0.5, progress=False)
        assert time.monotonic() - start < 5
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_when_offline(tmp_path):
    # the autouse fixture sets HUMANCLAP_OFFLINE=1
    with pytest.raises(DownloadError, match="HUMANCLAP_OFFLINE"):
        download("http://127.0.0.1:9/x.csv", tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------- RELATE download through the resolver
@pytest.fixture
def relate_server(served, online, monkeypatch, fake_relate):
    folder, server = served
    checksums = fake_relate(folder / "RELATE")
    monkeypatch.setattr(locate_module, "RELATE_FILES", checksums)
    monkeypatch.setenv("HUMANCLAP_RELATE_URL", f"{server.url}/RELATE/")
    monkeypatch.delenv("HUMANCLAP_RELATE_DIR", raising=False)
    monkeypatch.delenv("HUMANCLAP_CATEGORIES", raising=False)
    return server, checksums


def test_resolve_downloads_into_cache(relate_server, tmp_path):
    server, checksums = relate_server
    cache = locate_module.relate_cache_dir()
    assert not cache.exists()
    root = resolve_relate_root()
    assert root == cache
    for rel_path, sha in checksums.items():
        assert sha256_file(cache / rel_path) == sha
    server.stop()  # from now on the cache must be enough
    ratings = load_relate(aspect="IS", categories=False)  # verify="auto" checks the cache
    assert ratings["split"].tolist() == ["train"]
    assert load_relate(categories=False).attrs["root"] == str(cache)


def test_resolve_download_checksum_mismatch(relate_server, monkeypatch):
    _, checksums = relate_server
    monkeypatch.setitem(locate_module.RELATE_FILES, "scores/IS.csv", _sha(b"something else"))
    with pytest.raises(RelateDataError) as err:
        resolve_relate_root()
    assert "checksum" in str(err.value) and "IS.csv" in str(err.value)
    assert not (locate_module.relate_cache_dir() / "scores" / "IS.csv").exists()


def test_resolve_download_unreachable_is_fast_and_clear(relate_server, monkeypatch):
    monkeypatch.setenv("HUMANCLAP_RELATE_URL", _closed_port_url().rsplit("/", 1)[0])
    start = time.monotonic()
    with pytest.raises(RelateDataError) as err:
        resolve_relate_root()
    assert time.monotonic() - start < 5
    message = str(err.value)
    assert "HUMANCLAP_RELATE_DIR" in message
    assert str(locate_module.relate_cache_dir() / "scores" / "REL.csv") in message


def test_resolve_without_download_permission(relate_server):
    with pytest.raises(RelateDataError, match="not allowed"):
        resolve_relate_root(download=False)


def test_cache_checksum_is_verified(relate_server):
    root = resolve_relate_root()
    (root / "scores" / "REL.csv").write_text(
        (root / "scores" / "REL.csv").read_text().replace(",8,", ",9,")
    )
    with pytest.raises(RelateDataError, match="sha256"):
        load_relate(categories=False)
    assert load_relate(categories=False, verify=False)["score"].tolist() == [9, 6]


def test_categories_download(relate_server, served, monkeypatch):
    folder, server = served
    table = "audiocaps_id,caption,caption_label\n11,A dog barks,/m/0jbk\n22,x,/m/04rlf\n"
    (folder / "cats.csv").write_text(table)
    monkeypatch.setenv("HUMANCLAP_CATEGORIES_URL", f"{server.url}/cats.csv")
    monkeypatch.setattr(
        categories_module,
        "CATEGORIES",
        dataclasses.replace(categories_module.CATEGORIES, sha256=_sha(table.encode())),
    )
    # RELATE from the cache: "xacle" downloads the table beside it
    ratings = load_relate(categories="xacle")
    assert ratings["categories"].tolist() == ["Animal", "Animal"]
    assert ratings.attrs["categories"] == str(categories_module.categories_cache_path())
    assert load_categories()["audiocap_id"].tolist() == [11, 22]


def test_categories_download_mismatch_and_unreachable(served, online, monkeypatch):
    folder, server = served
    monkeypatch.delenv("HUMANCLAP_CATEGORIES", raising=False)
    (folder / "cats.csv").write_text("audiocaps_id,caption,caption_label\n1,x,/m/0jbk\n")
    monkeypatch.setenv("HUMANCLAP_CATEGORIES_URL", f"{server.url}/cats.csv")
    with pytest.raises(RelateDataError, match="checksum mismatch"):
        load_categories()
    assert not categories_module.categories_cache_path().exists()
    monkeypatch.setenv("HUMANCLAP_CATEGORIES_URL", _closed_port_url())
    assert load_categories(required=False) is None
    with pytest.raises(RelateDataError, match="HUMANCLAP_CATEGORIES"):
        load_categories()
