"""Compare the text and table outputs of two builds of the book.

Usage::

    python tools/compare_book.py OLD_DIR NEW_DIR [--mask REGEX ...] [--show N]

``OLD_DIR`` and ``NEW_DIR`` hold executed notebooks (``book/chapters/*.ipynb`` of two builds).
For every notebook present in either folder, the outputs of each code cell are extracted in
order: ``stream`` text (stdout and stderr), and the ``text/plain``, ``text/markdown`` and
``text/html`` parts of ``execute_result`` / ``display_data`` outputs (tables are HTML), plus
errors. Images are not compared as pixels (matplotlib output varies across machines), but each
cell must produce the same number of them.

Before comparing, what legitimately differs between two runs is masked:

- wall-clock times: a number followed by ``s`` (``in 3.2 s``, ``(45 s``);
- the cache folder (``$HUMANCLAP_CACHE`` of each build, passed as ``--cache OLD NEW``) and the
  hash-named run folders below it (``finetunes/<hash>``);
- temporary folders (``/tmp/...``, and ``<tmp>/...`` as published chapters write them);
- any ``--mask REGEX`` given.

For each notebook that differs, the report says first what matters:

- its headline numbers (``Chapter.headline``, read from the outputs' metadata with
  :func:`humanclap.book.collect_headlines`) that differ, old -> new, and how many agree;
- the numbers in its outputs that differ where the text around them is the same (tables,
  takeaways, banners): how many, and the largest absolute difference with its line; and how many
  lines differ otherwise (other words, other rows);

then the first ``--show`` lines of the unified diff.

Exit status 0 when every output is identical after masking, 1 otherwise.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from humanclap.book import collect_headlines

#: Replacements applied to every output text, in order: (pattern, replacement).
DEFAULT_MASKS: tuple[tuple[str, str], ...] = (
    # Figures are embedded in their HTML output (humanclap.plots.export): their numbers are
    # compared through the tables and headlines, not as PNG bytes (as before, when they were
    # image/png outputs, which are not text).
    (r"data:image/png;base64,[A-Za-z0-9+/=]+", "<png>"),
    (r"\b\d+(?:\.\d+)?(?=\s?s\b)", "<seconds>"),
    (r"finetunes/[0-9a-f]{8,}", "finetunes/<run>"),
    (r"/tmp/[^\s`'\")<]+", "<tmp>"),
    (r"<tmp>/[^\s`'\")<]+", "<tmp>"),  # as the runner publishes them
)
_TEXT_TYPES = ("text/plain", "text/markdown", "text/html")
#: A number in an output's text (a minus sign may be typographic).
_NUMBER = re.compile(r"[-−]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def cell_outputs(output: dict) -> list[str]:
    """The comparable texts of one output of a code cell."""
    kind = output.get("output_type")
    if kind == "stream":
        return [f"[{output.get('name', 'stream')}] {_text(output.get('text', ''))}"]
    if kind == "error":
        return [f"[error] {output.get('ename')}: {output.get('evalue')}"]
    data = output.get("data", {})
    texts = [f"[{mime}] {_text(data[mime])}" for mime in _TEXT_TYPES if mime in data]
    images = sorted(mime for mime in data if mime.startswith("image/"))
    if images:
        texts.append(f"[images] {', '.join(images)}")
    return texts


def notebook_outputs(path: Path) -> list[str]:
    """Every comparable output text of a notebook, in order.

    Outputs are not tied to cell numbers, so that a build whose code is organised in other
    cells compares equal when it shows the same things in the same order.
    """
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [
        text
        for cell in notebook.get("cells", [])
        if cell.get("cell_type") == "code"
        for output in cell.get("outputs", [])
        for text in cell_outputs(output)
    ]


def masker(masks: Sequence[tuple[str, str]], cache: str | None):
    """A function that applies ``masks`` (and replaces the cache folder ``cache``) to a text."""
    compiled = [(re.compile(p), r) for p, r in masks]

    def apply(text: str) -> str:
        if cache:
            text = text.replace(cache.rstrip("/"), "<cache>")
        for pattern, replacement in compiled:
            text = pattern.sub(replacement, text)
        return text

    return apply


def _number(text: str) -> float:
    return float(text.replace("−", "-").replace(",", ""))


def number_differences(old: Sequence[str], new: Sequence[str]) -> dict:
    """The numbers that differ between two builds' output lines where the words around them are
    the same, and how many lines differ otherwise.

    Returns
    -------
    dict
        ``{"numbers": int, "max_abs": float, "line": str, "other_lines": int}``: how many
        numbers differ, the largest absolute difference (0.0 when none) and the new line that
        holds it, and the lines added, removed or changed in their words.
    """
    found = {"numbers": 0, "max_abs": 0.0, "line": "", "other_lines": 0}
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = list(zip(old[i1:i2], new[j1:j2], strict=False))
        found["other_lines"] += max(i2 - i1, j2 - j1) - len(pairs)
        for a, b in pairs:
            if _NUMBER.sub("#", a) != _NUMBER.sub("#", b):
                found["other_lines"] += 1
                continue
            for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b), strict=True):
                delta = abs(_number(x) - _number(y))
                if x != y:
                    found["numbers"] += 1
                if delta > found["max_abs"]:
                    found["max_abs"], found["line"] = delta, b.strip()
    return found


def _headline_text(row: pd.Series) -> str:
    text = f"{row['estimate']:.6g}"
    if pd.notna(row["lo"]) or pd.notna(row["hi"]):
        text += f" [{row['lo']:.6g}, {row['hi']:.6g}]"
    return text


def headline_differences(old_path: Path, new_path: Path) -> tuple[list[str], int]:
    """Lines naming each headline number that differs between two executed chapters
    (``key: old -> new``, a missing one as ``-``), and how many headlines there are."""
    cols = ["estimate", "lo", "hi", "n"]
    old = collect_headlines([old_path]).set_index("key")[cols]
    new = collect_headlines([new_path]).set_index("key")[cols]
    keys = list(dict.fromkeys([*old.index, *new.index]))
    lines = []
    for key in keys:
        a = old.loc[key] if key in old.index else None
        b = new.loc[key] if key in new.index else None
        if a is not None and b is not None and a.equals(b):
            continue
        show = ["-" if r is None else _headline_text(r) for r in (a, b)]
        delta = (
            f" ({b['estimate'] - a['estimate']:+.6g})"
            if a is not None and b is not None and pd.notna(a["estimate"])
            else ""
        )
        lines.append(f"{key}: {show[0]} -> {show[1]}{delta}")
    return lines, len(keys)


def _notebook_report(name: str, old_path: Path, new_path: Path, old: list, new: list, show: int):
    old_lines = "\n".join(old).splitlines()
    new_lines = "\n".join(new).splitlines()
    diff = list(difflib.unified_diff(old_lines, new_lines, "old", "new", n=1, lineterm=""))
    heads, n_heads = headline_differences(old_path, new_path)
    nums = number_differences(old_lines, new_lines)
    report = [f"{name}: outputs differ ({len(diff)} diff lines)"]
    report.append(f"    headline numbers: {len(heads)} of {n_heads} differ")
    report.extend(f"      {line}" for line in heads)
    report.append(
        f"    numbers in the outputs: {nums['numbers']} differ, largest |difference| "
        f"{nums['max_abs']:.6g}" + (f" in: {nums['line'][:160]}" if nums["line"] else "")
    )
    report.append(f"    other lines that differ: {nums['other_lines']}")
    report.extend(f"    {line}" for line in diff[:show])
    return report


def compare(
    old_dir: Path,
    new_dir: Path,
    masks: Sequence[tuple[str, str]] = DEFAULT_MASKS,
    caches: tuple[str | None, str | None] = (None, None),
    show: int = 40,
) -> list[str]:
    """Report lines, one block per notebook that differs (empty when the builds agree)."""
    report: list[str] = []
    names = sorted(
        {p.name for p in old_dir.glob("*.ipynb")} | {p.name for p in new_dir.glob("*.ipynb")}
    )
    old_mask, new_mask = masker(masks, caches[0]), masker(masks, caches[1])
    for name in names:
        old_path, new_path = old_dir / name, new_dir / name
        if not old_path.is_file() or not new_path.is_file():
            report.append(f"{name}: only in {'new' if not old_path.is_file() else 'old'} build")
            continue
        old = [old_mask(t) for t in notebook_outputs(old_path)]
        new = [new_mask(t) for t in notebook_outputs(new_path)]
        if old != new:
            report.extend(_notebook_report(name, old_path, new_path, old, new, show))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="folder of the old build's executed notebooks")
    parser.add_argument("new", type=Path, help="folder of the new build's executed notebooks")
    parser.add_argument("--cache", nargs=2, metavar=("OLD", "NEW"), default=(None, None),
                        help="each build's $HUMANCLAP_CACHE (masked as <cache>)")  # fmt: skip
    parser.add_argument("--mask", action="append", default=[], metavar="REGEX",
                        help="also mask this pattern (repeatable)")  # fmt: skip
    parser.add_argument("--show", type=int, default=40, help="diff lines shown per notebook")
    args = parser.parse_args(argv)
    for folder in (args.old, args.new):
        if not folder.is_dir():
            parser.error(f"{folder}: no such folder")
    masks = [*DEFAULT_MASKS, *((m, "<masked>") for m in args.mask)]
    report = compare(args.old, args.new, masks, tuple(args.cache), args.show)
    n = len({p.name for p in args.old.glob("*.ipynb")} | {p.name for p in args.new.glob("*.ipynb")})
    if report:
        print("\n".join(report))
        print(f"DIFFERENT: {sum(not r.startswith(' ') for r in report)} of {n} notebooks differ")
        return 1
    print(f"IDENTICAL: the text and table outputs of all {n} notebooks agree (after masking)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
