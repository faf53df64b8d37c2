"""humanclap.data.relate_download: RELATE_wave.zip fetched from a loopback HTTP server
(127.0.0.1), size- and sha256-checked (recorded on first use), unpacked; skipped when present;
refused at once offline; never hanging.

The served zip holds a few real 16 kHz mono WAVs in RELATE's layout (``RELATE_wave/<source>/
<split>/<id>.wav``), the wavnames the fake RELATE of ``conftest.fake_relate`` rates.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import logging
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from humanclap.cli import main
from humanclap.data import ChecksumError, DownloadError
from humanclap.data import relate_download as rd

#: The wavnames the fake RELATE rates (REL, IS and OS together).
RATED = ["/audiocaps/train/11.wav", "/audiocaps/train/22.wav", "/tango/train/11.wav"]


def _wav(seconds: float = 0.3, freq: float = 200.0) -> bytes:
    buffer = io.BytesIO()
    wave = 0.1 * np.sin(np.linspace(0, freq, int(16_000 * seconds), dtype=np.float32))
    sf.write(buffer, wave, 16_000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _zip(prefix: str = "RELATE_wave/", names: list[str] = RATED, freq: float = 200.0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(prefix + name.lstrip("/"), _wav(freq=freq))
    return buffer.getvalue()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; counts requests; can lie in HEAD or cut a GET short."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self.server.requests.append("HEAD")
        if self.server.head_length is None:
            return super().do_HEAD()
        self.send_response(200)
        self.send_header("Content-Length", str(self.server.head_length))
        self.end_headers()

    def do_GET(self) -> None:
        self.server.requests.append("GET")
        if not self.server.cut:
            return super().do_GET()
        data = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))  # then send only half
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True


class _Server:
    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests, self.httpd.head_length, self.httpd.cut = [], None, False
        self.folder = folder
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/RELATE_wave.zip"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def serve(self, data: bytes) -> str:
        (self.folder / "RELATE_wave.zip").write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    """A loopback server of RELATE_wave.zip, online (HUMANCLAP_OFFLINE unset), no pins."""
    for name in ("HUMANCLAP_OFFLINE", rd.ENV_AUDIO_SHA256, rd.ENV_AUDIO_SIZE, rd.ENV_AUDIO_URL):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "served"
    folder.mkdir()
    served = _Server(folder)
    yield served
    served.stop()


def _lock() -> dict:
    return json.loads(rd.lock_path().read_text())


# ------------------------------------------------------------------- download and record
def test_first_download_records_sha_and_unpacks(server, tmp_path, caplog):
    sha = server.serve(_zip())
    zip_path, dest = tmp_path / "zips" / "RELATE_wave.zip", tmp_path / "audio"
    with caplog.at_level(logging.WARNING):
        root = rd.download_relate_audio(dest, zip_path, url=server.url, progress=False)
    assert root == dest / "RELATE_wave"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.wav")) == sorted(
        n.lstrip("/") for n in RATED
    )
    assert (dest / rd.UNPACKED_MARKER).is_file()
    assert zip_path.read_bytes() == (server.folder / "RELATE_wave.zip").read_bytes()
    assert _lock()[server.url]["sha256"] == sha
    assert _lock()[server.url]["size"] == zip_path.stat().st_size
    assert "recorded sha256 " + sha in caplog.text
    expected = rd.expected_zip(server.url)
    assert (expected.sha256, expected.size) == (sha, zip_path.stat().st_size)
    assert str(rd.lock_path()) in expected.source


def test_later_download_must_match_the_record(server, tmp_path):
    server.serve(_zip())
    first = rd.fetch_relate_zip(tmp_path / "a.zip", url=server.url, progress=False)
    recorded = _lock()
    # The same size, other bytes: downloaded, refused by its sha256, not kept.
    server.serve(_zip(freq=300.0))
    assert (server.folder / "RELATE_wave.zip").stat().st_size == first.stat().st_size
    with pytest.raises(ChecksumError, match="sha256|checksum") as err:
        rd.fetch_relate_zip(tmp_path / "b.zip", url=server.url, progress=False)
    assert "SizeMismatch" not in type(err.value).__name__
    assert not (tmp_path / "b.zip").exists()
    assert _lock() == recorded
    # Another size: refused before any byte is downloaded (the server's Content-Length).
    server.serve(_zip(names=RATED[:2]))
    gets = server.requests.count("GET")
    with pytest.raises(rd.SizeMismatchError, match="size on the server"):
        rd.fetch_relate_zip(tmp_path / "c.zip", url=server.url, progress=False)
    assert server.requests.count("GET") == gets
    assert not (tmp_path / "c.zip").exists()


def test_pinned_sha_mismatch_is_refused_and_nothing_recorded(server, tmp_path, monkeypatch):
    server.serve(_zip())
    monkeypatch.setenv(rd.ENV_AUDIO_SHA256, "ab" * 32)
    with pytest.raises(ChecksumError) as err:
        rd.fetch_relate_zip(tmp_path / "z.zip", url=server.url, progress=False)
    assert "ab" * 32 in str(err.value)
    assert not (tmp_path / "z.zip").exists()
    assert not rd.lock_path().exists()


def test_pinned_sha_and_size_pass(server, tmp_path, monkeypatch):
    data = _zip()
    monkeypatch.setenv(rd.ENV_AUDIO_SHA256, server.serve(data).upper())
    monkeypatch.setenv(rd.ENV_AUDIO_SIZE, str(len(data)))
    got = rd.fetch_relate_zip(tmp_path / "z.zip", url=server.url, progress=False)
    assert got.read_bytes() == data
    assert not rd.lock_path().exists()  # a pinned digest is not recorded again


def test_size_check_server_disagrees_with_pin(server, tmp_path, monkeypatch):
    data = _zip()
    server.serve(data)
    monkeypatch.setenv(rd.ENV_AUDIO_SIZE, str(len(data) + 1))
    with pytest.raises(rd.SizeMismatchError, match=f"{len(data):,} bytes"):
        rd.fetch_relate_zip(tmp_path / "z.zip", url=server.url, progress=False)
    assert "GET" not in server.requests


def test_size_check_after_download(server, tmp_path):
    """The server announces one size (HEAD) and sends another: the download is not kept."""
    data = _zip()
    server.serve(data)
    server.httpd.head_length = len(data) + 10
    with pytest.raises(rd.SizeMismatchError, match="not kept"):
        rd.fetch_relate_zip(tmp_path / "z.zip", url=server.url, progress=False)
    assert not (tmp_path / "z.zip").exists()
    assert not rd.lock_path().exists()


def test_cut_transfer_is_not_kept(server, tmp_path):
    server.serve(_zip())
    server.httpd.cut = True
    with pytest.raises(DownloadError):
        rd.fetch_relate_zip(tmp_path / "z.zip", url=server.url, timeout=5, progress=False)
    assert list(tmp_path.glob("*z.zip*")) == []


def test_bad_pin_in_environment(monkeypatch):
    monkeypatch.setenv(rd.ENV_AUDIO_SHA256, "not-a-sha")
    with pytest.raises(ValueError, match=rd.ENV_AUDIO_SHA256):
        rd.expected_zip()


# ------------------------------------------------------------------------ skip / resume
def test_nothing_fetched_again_when_present(server, tmp_path):
    server.serve(_zip())
    zip_path, dest = tmp_path / "RELATE_wave.zip", tmp_path / "audio"
    root = rd.download_relate_audio(dest, zip_path, url=server.url, progress=False)
    before = list(server.requests)
    assert rd.download_relate_audio(dest, zip_path, url=server.url, progress=False) == root
    # The zip is there and checked: unpacking into a new folder needs no network either.
    again = rd.download_relate_audio(tmp_path / "again", zip_path, url=server.url, progress=False)
    assert again == tmp_path / "again" / "RELATE_wave"
    assert server.requests == before


def test_zip_present_with_other_bytes_is_left_alone(server, tmp_path):
    server.serve(_zip())
    zip_path = tmp_path / "RELATE_wave.zip"
    rd.fetch_relate_zip(zip_path, url=server.url, progress=False)
    zip_path.write_bytes(b"x" * zip_path.stat().st_size)
    with pytest.raises(ChecksumError, match="Delete the file"):
        rd.fetch_relate_zip(zip_path, url=server.url, progress=False)
    assert zip_path.read_bytes().startswith(b"xxx")


def test_zip_put_by_hand_is_recorded_offline(tmp_path, monkeypatch):
    """Offline, a zip copied to the zip path is used (and its digests recorded)."""
    zip_path = tmp_path / "RELATE_wave.zip"
    zip_path.write_bytes(_zip(prefix=""))
    root = rd.download_relate_audio(tmp_path / "audio", zip_path, progress=False)
    assert root == tmp_path / "audio"
    assert (
        _lock()[rd.RELATE_AUDIO_URL]["sha256"] == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    )


# -------------------------------------------------------------------------------- unpack
def test_unpack_refuses_other_zips_and_occupied_folders(tmp_path):
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "not audio")
    with pytest.raises(ValueError, match="not RELATE's audio"):
        rd.unpack_relate_zip(other, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    good = tmp_path / "good.zip"
    good.write_bytes(_zip())
    with pytest.raises(FileExistsError, match="occupied"):
        rd.unpack_relate_zip(good, occupied)
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert rd.unpack_relate_zip(good, empty) == empty / "RELATE_wave"


# ----------------------------------------------------------------- offline, never hang
def test_offline_fails_at_once_saying_where_to_put_it(tmp_path):
    # the autouse fixture sets HUMANCLAP_OFFLINE=1
    start = time.monotonic()
    with pytest.raises(DownloadError) as err:
        rd.download_relate_audio(tmp_path / "audio", tmp_path / "z" / "RELATE_wave.zip")
    assert time.monotonic() - start < 1
    message = str(err.value)
    assert "HUMANCLAP_OFFLINE" in message and rd.RELATE_AUDIO_URL in message
    assert str(tmp_path / "z" / "RELATE_wave.zip") in message and str(tmp_path / "audio") in message
    assert not (tmp_path / "z").exists() and not (tmp_path / "audio").exists()


def test_closed_port_fails_fast(tmp_path, monkeypatch):
    monkeypatch.delenv("HUMANCLAP_OFFLINE", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(DownloadError, match="could not reach"):
        rd.fetch_relate_zip(tmp_path / "z.zip", url=f"http://127.0.0.1:{port}/z.zip", timeout=3)
    assert time.monotonic() - start < 5


def test_silent_server_times_out(tmp_path, monkeypatch):
    monkeypatch.delenv("HUMANCLAP_OFFLINE", raising=False)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/RELATE_wave.zip"
        start = time.monotonic()
        with pytest.raises(DownloadError):
            rd.fetch_relate_zip(tmp_path / "z.zip", url=url, timeout=0.5, progress=False)
        assert time.monotonic() - start < 5
    assert not (tmp_path / "z.zip").exists()


# ----------------------------------------------------------------------------------- CLI
def test_cli_downloads_unpacks_and_checks(server, tmp_path, monkeypatch, capsys, fake_relate):
    fake_relate(tmp_path / "RELATE")
    server.serve(_zip())
    monkeypatch.setenv(rd.ENV_AUDIO_URL, server.url)
    args = ["relate-audio", str(tmp_path / "audio"), "--download", "--zip", str(tmp_path / "w.zip")]
    assert main([*args, "--relate-dir", str(tmp_path / "RELATE")]) == 0
    out = capsys.readouterr().out
    assert f"RELATE audio in {tmp_path / 'audio' / 'RELATE_wave'}" in out and "OK" in out
    assert server.url in _lock()


def test_cli_download_offline_exits_2(tmp_path, capsys, fake_relate):
    fake_relate(tmp_path / "RELATE")
    args = ["relate-audio", str(tmp_path / "audio"), "--download", "--zip", str(tmp_path / "w.zip")]
    assert main([*args, "--relate-dir", str(tmp_path / "RELATE")]) == 2
    err = capsys.readouterr().err
    assert "HUMANCLAP_OFFLINE" in err and str(tmp_path / "w.zip") in err
