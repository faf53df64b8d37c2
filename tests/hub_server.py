"""A Hugging Face Hub on 127.0.0.1 for the tests: the requests huggingface_hub makes, answered
from repositories held in memory (:class:`FakeRepo`), for hub 0.26.x (``requests``) and 1.x/2.x
(``httpx``) alike.

Answered (``{repo}`` is ``owner/name``, ``{rev}`` ``main`` or the repository's commit):

- ``GET /api/models/{repo}`` and ``GET /api/models/{repo}/revision/{rev}``: model info with
  ``sha`` and ``siblings`` (``HfApi.model_info``; ``snapshot_download`` of hub 0.x);
- ``GET /api/models/{repo}/tree/{rev}[/{path}]``: the file list with sizes, blob ids and LFS
  digests (``list_repo_tree``; ``snapshot_download`` of hub 1.x+);
- ``HEAD`` / ``GET /{repo}/resolve/{rev}/{path}``: ``X-Repo-Commit``, ``ETag`` (the git blob
  id, or for LFS files the sha256, also as ``X-Linked-Etag`` with ``X-Linked-Size``),
  ``Content-Length``; no ``X-Xet-*`` header, so the hub downloads over plain HTTP; a
  ``Range: bytes=N-`` GET is answered with 206 (resumed downloads).

Unknown repositories, revisions and files get 404 with huggingface_hub's ``X-Error-Code``.
Failures to test with: :attr:`HubServer.corrupt` (serve other bytes than the ETag says),
:attr:`HubServer.cut` (send part of a file, drop the connection and stop the server), and
:func:`silent_endpoint` / :func:`closed_endpoint` for a Hub that never answers or is not there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".ckpt", ".h5", ".msgpack")


def git_blob_id(data: bytes) -> str:
    """The git blob sha1 of ``data`` (the ETag the Hub gives a file stored in git)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeRepo:
    """A model repository: ``files`` (path -> bytes), those ending in :data:`LFS_SUFFIXES`
    stored as LFS; its commit is derived from the content."""

    repo_id: str
    files: dict[str, bytes]
    commit: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha1(self.repo_id.encode())
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + hashlib.sha256(self.files[path]).digest())
        self.commit = digest.hexdigest()

    def is_lfs(self, path: str) -> bool:
        return path.endswith(LFS_SUFFIXES)

    def etag(self, path: str) -> str:
        data = self.files[path]
        return hashlib.sha256(data).hexdigest() if self.is_lfs(path) else git_blob_id(data)

    def pin(self) -> dict:
        """This repository's entry of a ``$HUMANCLAP_HUB_PINS`` file: its commit and digests."""
        return {
            "revision": self.commit,
            "files": {
                path: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                for path, data in self.files.items()
            },
            "source": "tests/hub_server.py (loopback Hub)",
        }

    def tree(self, prefix: str = "") -> list[dict]:
        entries = []
        for path, data in sorted(self.files.items()):
            if prefix and not path.startswith(prefix.rstrip("/") + "/"):
                continue
            entry = {"type": "file", "oid": git_blob_id(data), "size": len(data), "path": path}
            if self.is_lfs(path):
                sha = hashlib.sha256(data).hexdigest()
                entry["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 134}
            entries.append(entry)
        return entries

    def info(self) -> dict:
        return {
            "_id": self.commit[:24],
            "id": self.repo_id,
            "modelId": self.repo_id,
            "sha": self.commit,
            "private": False,
            "disabled": False,
            "gated": False,
            "tags": [],
            "siblings": [{"rfilename": path} for path in sorted(self.files)],
        }


_API = re.compile(r"^/api/models/([^/]+/[^/]+)(?:/(revision|tree)/([^/]+)(?:/(.*))?)?$")
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        headers = {"Content-Type": "application/json", "X-Error-Code": code}
        self._send(status, body, {**headers, "X-Error-Message": message})

    def _repo(self, repo_id: str, rev: str | None) -> FakeRepo | None:
        repo = self.server.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
            return None
        if rev is not None and rev not in ("main", repo.commit):
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return None
        return repo

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch()

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        path = unquote(urlsplit(self.path).path)
        self.server.hub.requests.append((self.command, path, self.headers.get("Range")))
        api, resolve = _API.match(path), _RESOLVE.match(path)
        if api and self.command == "GET":
            repo = self._repo(api.group(1), api.group(3))
            if repo is not None:
                body = repo.tree(api.group(4) or "") if api.group(2) == "tree" else repo.info()
                self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        elif resolve:
            repo = self._repo(resolve.group(1), resolve.group(2))
            if repo is not None:
                self._file(repo, resolve.group(3))
        else:
            self._error(404, "NotFound", f"no route {self.command} {path}")

    def _file(self, repo: FakeRepo, name: str) -> None:
        if name not in repo.files:
            self._error(404, "EntryNotFound", f"{name} does not exist in {repo.repo_id}")
            return
        hub = self.server.hub
        data = repo.files[name]
        if (repo.repo_id, name) in hub.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]  # same size, other bytes
        etag = f'"{repo.etag(name)}"'
        headers = {"X-Repo-Commit": repo.commit, "ETag": etag, "Accept-Ranges": "bytes"}
        if repo.is_lfs(name):
            headers.update({"X-Linked-Etag": etag, "X-Linked-Size": str(len(data))})
        start, status = 0, 200
        match = _RANGE.match(self.headers.get("Range") or "")
        if match and self.command == "GET":
            start, status = int(match.group(1)), 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        cut = hub.cut.pop((repo.repo_id, name), None) if self.command == "GET" else None
        if cut is None:
            self._send(status, data[start:], headers)
            return
        # Announce the whole file, send `cut` bytes, drop the connection and stop serving.
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(data) - start)}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data[start : start + cut])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)
        threading.Thread(target=hub.stop, args=(self.server,), daemon=True).start()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    hub: HubServer


class HubServer:
    """The loopback Hub serving ``repos``; :attr:`url` is its ``HF_ENDPOINT``.

    Attributes
    ----------
    requests : list of (method, path, range header)
        Every request received, in order.
    corrupt : set of (repo id, path)
        Files served with their first byte flipped (headers unchanged).
    cut : dict (repo id, path) -> bytes
        Files whose next GET sends that many bytes, then drops the connection and stops the
        server (a Hub that dies mid-file); :meth:`start` serves again on the same port.
    """

    def __init__(self, repos: list[FakeRepo]) -> None:
        self.repos = {repo.repo_id: repo for repo in repos}
        self.requests: list[tuple[str, str, str | None]] = []
        self.corrupt: set[tuple[str, str]] = set()
        self.cut: dict[tuple[str, str], int] = {}
        self.port = 0
        self._server: _Server | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HubServer:
        with self._lock:
            if self._server is None:
                server = _Server(("127.0.0.1", self.port), _Handler)
                server.hub = self
                self.port = server.server_address[1]
                threading.Thread(target=server.serve_forever, daemon=True).start()
                self._server = server
        return self

    def stop(self, server: _Server | None = None) -> None:
        """Stop serving and close the port (it may be served again by :meth:`start`); with
        ``server``, only if that server is still the one serving (a cut's late stop must not
        stop the server started after it)."""
        with self._lock:
            if self._server is not None and server in (None, self._server):
                self._server.shutdown()
                self._server.server_close()
                self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None


@contextlib.contextmanager
def silent_endpoint() -> Iterator[str]:
    """The address of a port that accepts connections (the kernel's backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def closed_endpoint() -> str:
    """The address of a loopback port nobody listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def reset_hub_sessions() -> None:
    """Forget huggingface_hub's cached HTTP sessions (0.x only; 1.x and later keep none).

    huggingface_hub 0.x builds one ``requests`` session per thread and caches it; a session
    built while ``HF_HUB_OFFLINE`` was set refuses every request for the rest of the process,
    even after a test turns the switch off. Call after changing the switch, and after the test.
    """
    from huggingface_hub import utils  # only where a test already uses the hub

    reset = getattr(utils, "reset_sessions", None)
    if reset is not None:
        reset()
