"""The AudioSet ontology: its file (found and downloaded like the category table) and its
hierarchy (:class:`Ontology`).

The file is ``ontology.json`` of the public repository ``audioset/ontology`` at commit
``d417d32`` (Google, CC BY-SA 4.0): 632 classes, each with ``id``, ``name`` (synonyms
comma-separated, e.g. ``"Male speech, man speaking"``), ``description``, ``child_ids`` (a class
may have several parents) and ``restrictions`` (``"abstract"``: an intermediate node not meant
as a label; ``"blacklist"``: a class AudioSet does not label). Its seven roots are the seven
top-level categories of :data:`humanclap.data.categories.CATEGORY_IDS`.

Where the file is looked for (first hit wins), see :func:`find_ontology`.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from humanclap.data.files import RelateDataError
from humanclap.utils import PinnedFile, sha256_file

__all__ = [
    "ENV_ONTOLOGY",
    "ENV_ONTOLOGY_URL",
    "ONTOLOGY_COMMIT",
    "ONTOLOGY_SHA256",
    "ONTOLOGY_URL",
    "Ontology",
    "OntologyClass",
    "OntologyError",
    "find_ontology",
    "load_ontology",
    "ontology_cache_path",
]

ONTOLOGY_COMMIT = "d417d32bf59c711abb5910fd2f76a0eb44697991"
ONTOLOGY_FILENAME = "ontology.json"
ONTOLOGY_URL = (
    f"https://raw.githubusercontent.com/audioset/ontology/{ONTOLOGY_COMMIT}/{ONTOLOGY_FILENAME}"
)
ONTOLOGY_SHA256 = "9c685f4403eecc3ca9be37fd7285cf212feaaea6ff7229d3e7ca89e0d1f2d15d"
#: Environment variable naming a copy of ``ontology.json``.
ENV_ONTOLOGY = "HUMANCLAP_ONTOLOGY"
#: Environment variable overriding :data:`ONTOLOGY_URL` (e.g. a mirror).
ENV_ONTOLOGY_URL = "HUMANCLAP_ONTOLOGY_URL"
_RESTRICTIONS = ("abstract", "blacklist")


class OntologyError(RelateDataError):
    """The ontology file is missing, unreadable or malformed; the message names file and class."""


@dataclass(frozen=True)
class OntologyClass:
    """One AudioSet class.

    ``synonyms`` are the comma-separated parts of ``name`` as written (``"Male speech"``,
    ``"man speaking"``); ``abstract`` and ``blacklisted`` come from ``restrictions``.
    """

    id: str
    name: str
    description: str
    child_ids: tuple[str, ...]
    abstract: bool
    blacklisted: bool

    @property
    def synonyms(self) -> tuple[str, ...]:
        """The comma-separated parts of :attr:`name`, stripped, empty ones left out."""
        return tuple(p.strip() for p in self.name.split(",") if p.strip())


def _check_record(record: object, index: int, source: str) -> OntologyClass:
    where = f"{source}: entry {index}"
    if not isinstance(record, Mapping):
        raise OntologyError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if isinstance(record.get("id"), str) and record["id"]:
        where += f" (id {record['id']!r})"
    for key in ("id", "name"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise OntologyError(f"{where}: {key!r} must be a non-empty string")
    description = record.get("description", "")
    if not isinstance(description, str):
        raise OntologyError(f"{where}: 'description' must be a string")
    for key in ("child_ids", "restrictions"):
        value = record.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise OntologyError(f"{where}: {key!r} must be a list of strings")
    unknown = sorted(set(record.get("restrictions", [])) - set(_RESTRICTIONS))
    if unknown:
        raise OntologyError(f"{where}: unknown restriction(s) {unknown}; known {_RESTRICTIONS}")
    restrictions = set(record.get("restrictions", []))
    return OntologyClass(
        id=record["id"],
        name=record["name"].strip(),
        description=description,
        child_ids=tuple(record.get("child_ids", [])),
        abstract="abstract" in restrictions,
        blacklisted="blacklist" in restrictions,
    )


def _upward_distances(start: str, parents: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    """Shortest number of child -> parent steps from ``start`` to each ancestor (itself: 0)."""
    found = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for parent in parents[node]:
            if parent not in found:
                found[parent] = found[node] + 1
                queue.append(parent)
    return found


class Ontology:
    """The AudioSet class hierarchy: a directed acyclic graph from 7 roots down.

    Depth is the length of the SHORTEST path from any root (roots: 0). A class with several
    parents (``Hiss`` below ``Cat``, ``Snake``, ``Steam`` and ``Onomatopoeia``) thus takes the
    depth of its shallowest placement; :meth:`rollup` still follows every parent.

    Parameters
    ----------
    records : iterable of mapping
        The file's entries (``id``, ``name``, ``child_ids``, optional ``description`` and
        ``restrictions``), e.g. ``json.load(open("ontology.json"))``.
    source : str
        What to name in error messages (the file's path).

    Raises
    ------
    OntologyError
        An entry is malformed, an id is duplicated, a child id is unknown, there is no root or a
        class cannot be reached from a root (a cycle).
    """

    def __init__(self, records: Iterable[Mapping], source: str = "<records>") -> None:
        self.source = source
        #: sha256 of the file read (set by :func:`load_ontology`), else None.
        self.sha256: str | None = None
        self.classes: dict[str, OntologyClass] = {}
        for i, record in enumerate(records):
            cls = _check_record(record, i, source)
            if cls.id in self.classes:
                raise OntologyError(f"{source}: entry {i}: duplicate id {cls.id!r}")
            self.classes[cls.id] = cls
        parents: dict[str, list[str]] = {c: [] for c in self.classes}
        for cls in self.classes.values():
            for child in cls.child_ids:
                if child not in self.classes:
                    raise OntologyError(
                        f"{source}: class {cls.id!r} ({cls.name}) lists unknown child id {child!r}"
                    )
                parents[child].append(cls.id)
        self._parents = {c: tuple(p) for c, p in parents.items()}
        self.roots: tuple[str, ...] = tuple(c for c, p in self._parents.items() if not p)
        if not self.roots:
            raise OntologyError(f"{source}: no root class (every class has a parent)")
        self._depth = self._depths()
        self._up = {c: _upward_distances(c, self._parents) for c in self.classes}

    def _depths(self) -> dict[str, int]:
        depth = dict.fromkeys(self.roots, 0)
        queue = deque(self.roots)
        while queue:
            node = queue.popleft()
            for child in self.classes[node].child_ids:
                if child not in depth:
                    depth[child] = depth[node] + 1
                    queue.append(child)
        unreachable = [c for c in self.classes if c not in depth]
        if unreachable:
            raise OntologyError(
                f"{self.source}: {len(unreachable)} class(es) cannot be reached from a root "
                f"(a cycle of child_ids?), e.g. {unreachable[:5]}"
            )
        return depth

    def __len__(self) -> int:
        return len(self.classes)

    def __contains__(self, class_id: object) -> bool:
        return class_id in self.classes

    def __getitem__(self, class_id: str) -> OntologyClass:
        return self._get(class_id)

    def __repr__(self) -> str:
        return f"Ontology({len(self)} classes, {len(self.roots)} roots, from {self.source})"

    def _get(self, class_id: str) -> OntologyClass:
        try:
            return self.classes[class_id]
        except KeyError:
            raise KeyError(f"unknown AudioSet class id {class_id!r}") from None

    def name(self, class_id: str) -> str:
        """The class's full name, e.g. ``"Male speech, man speaking"``."""
        return self._get(class_id).name

    def synonyms(self, class_id: str) -> tuple[str, ...]:
        """The comma-separated parts of the name: ``("Male speech", "man speaking")``."""
        return self._get(class_id).synonyms

    def find(self, name: str) -> list[str]:
        """Ids of the classes whose full name or one synonym is ``name`` (any case)."""
        key = name.strip().lower()
        return [
            c.id
            for c in self.classes.values()
            if c.name.lower() == key or key in (s.lower() for s in c.synonyms)
        ]

    def parents(self, class_id: str) -> tuple[str, ...]:
        """The direct parents (empty for a root), in file order."""
        self._get(class_id)
        return self._parents[class_id]

    def children(self, class_id: str) -> tuple[str, ...]:
        """The direct children, as listed in ``child_ids``."""
        return self._get(class_id).child_ids

    def ancestors(self, class_id: str) -> set[str]:
        """Every class above ``class_id`` along any parent (itself excluded)."""
        self._get(class_id)
        return set(self._up[class_id]) - {class_id}

    def depth(self, class_id: str) -> int:
        """Length of the shortest path from a root (roots: 0)."""
        self._get(class_id)
        return self._depth[class_id]

    def rollup(self, class_id: str, depth: int) -> set[str]:
        """The ancestors (or the class itself) at ``depth``; several when there are several
        parents.

        Every path from a root to a class meets each depth up to the class's own (depth grows by
        at most one a step), so the set is never empty for a class at least ``depth`` deep. A
        class shallower than ``depth`` rolls up to itself.

        Returns
        -------
        set of str
            Class ids, e.g. ``rollup(<Bark>, 0) == {<Animal>}``.
        """
        if depth < 0:
            raise ValueError(f"depth must be >= 0, got {depth}")
        if self.depth(class_id) <= depth:
            return {class_id}
        return {a for a in self._up[class_id] if self._depth[a] == depth}

    def top_level(self, class_id: str) -> set[str]:
        """The roots above ``class_id`` (``rollup(class_id, 0)``)."""
        return self.rollup(class_id, 0)

    def common_ancestors(self, a: str, b: str) -> set[str]:
        """Classes above (or equal to) both ``a`` and ``b``; empty under different roots."""
        return self._up[self._get(a).id].keys() & self._up[self._get(b).id].keys()

    def distance(self, a: str, b: str) -> int:
        """The ontology distance: the shortest path between two classes through a common
        ancestor (0 for the same class, 1 parent-child, 2 siblings).

        The number of edges up from ``a`` to an ancestor ``c`` of both, plus those from ``b``,
        minimised over ``c``, with a virtual root above the seven roots so that classes under
        different roots are ``depth(a) + depth(b) + 2`` apart. This is the graph distance of
        ontology-aware audio-tagging evaluation (Liu et al., "Ontology-aware learning and
        evaluation for audio tagging", ICASSP 2023, arXiv:2211.12195), where mistaking a class
        for a near one in the AudioSet ontology costs less than for a far one.
        """
        up_a, up_b = self._up[self._get(a).id], self._up[self._get(b).id]
        best = self._depth[a] + self._depth[b] + 2
        for common in up_a.keys() & up_b.keys():
            best = min(best, up_a[common] + up_b[common])
        return best


#: The ontology as a pinned public file.
ONTOLOGY = PinnedFile(
    "AudioSet ontology",
    ONTOLOGY_FILENAME,
    ONTOLOGY_URL,
    ONTOLOGY_SHA256,
    ("audioset-ontology", ONTOLOGY_COMMIT[:7]),
    ENV_ONTOLOGY,
    ENV_ONTOLOGY_URL,
)


def ontology_cache_path() -> Path:
    """Where a downloaded ontology is kept: ``<cache>/audioset-ontology/d417d32/ontology.json``."""
    return ONTOLOGY.cache_path()


def find_ontology(
    path: str | os.PathLike | None = None, download_missing: bool = True
) -> Path | None:
    """Locate ``ontology.json``; return ``None`` when it is nowhere to be found.

    Order: 1) ``path``; 2) ``$HUMANCLAP_ONTOLOGY``; 3) :func:`ontology_cache_path`; 4) when
    ``download_missing``, a download into the cache at the pinned commit, sha256-checked (URL
    overridable with ``$HUMANCLAP_ONTOLOGY_URL``): :meth:`humanclap.utils.PinnedFile.find`.

    Raises
    ------
    OntologyError
        ``path`` or ``$HUMANCLAP_ONTOLOGY`` names a file that does not exist, or the download
        fails its checksum (nothing is saved).
    """
    return ONTOLOGY.find(path, download_missing, error=OntologyError)


def _read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise OntologyError(f"cannot read {path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise OntologyError(f"{path} is not UTF-8 text: {err}") from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise OntologyError(
            f"{path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        ) from err


def load_ontology(path: str | os.PathLike | None = None, download: bool = True) -> Ontology:
    """Read and check the AudioSet ontology.

    Parameters
    ----------
    path : path-like, optional
        ``ontology.json``; else found as :func:`find_ontology` says.
    download : bool
        Allow a download into the cache when nothing is found locally.

    Returns
    -------
    Ontology
        Its ``source`` is the file read; ``sha256`` its digest (a file given by argument or
        environment is not required to be the pinned version, only a well-formed ontology).

    Raises
    ------
    OntologyError
        Not found (offline or ``download=False`` with nothing in place: the message says what
        to put where), not UTF-8 JSON, not a list of classes, or a malformed hierarchy (the
        message names the file and the entry).
    """
    found = find_ontology(path, download_missing=download)
    if found is None:
        raise OntologyError(ONTOLOGY.not_found_message())
    records = _read_json(found)
    if not isinstance(records, list) or not records:
        raise OntologyError(
            f"{found}: expected a non-empty JSON list of classes, got "
            f"{type(records).__name__}{'' if records else ' (empty)'}"
        )
    ontology = Ontology(records, source=str(found))
    ontology.sha256 = sha256_file(found)
    return ontology
