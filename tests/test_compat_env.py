"""The compat overlay of ``make test-compat`` really takes effect, and both transformers lines agree.

``make test-compat`` installs the versions of ``constraints-compat.txt`` (transformers 4.46.3 and
what goes with it) into ``.venv-compat`` and runs the model tests with it in front of ``.venv`` on
``PYTHONPATH``, with ``HUMANCLAP_COMPAT=1``. These tests run only there: they check that the
packages imported are the pinned ones (so the overlay cannot silently fall through to ``.venv``'s
transformers 5), and compute the same small cases in a subprocess on the reference environment
(the same interpreter without the overlay) to check that the two lines give the same tokens and
embeddings.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPAT_PINS = ROOT / "constraints-compat.txt"
#: import name of each pinned distribution that the overlay must shadow
MODULES = {
    "transformers": "transformers",
    "tokenizers": "tokenizers",
    "huggingface-hub": "huggingface_hub",
    "pandas": "pandas",
}

pytestmark = pytest.mark.skipif(
    os.environ.get("HUMANCLAP_COMPAT") != "1",
    reason="runs under `make test-compat` (HUMANCLAP_COMPAT=1, the .venv-compat overlay)",
)


def _pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a constraints file -> {normalised name: version}."""
    pins = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise ValueError(f"{path}: line {number} is not 'name==version': {line!r}")
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def _overlay() -> Path:
    """The overlay folder: where the imported transformers lies."""
    import transformers

    return Path(transformers.__file__).resolve().parents[1]


def test_the_pinned_versions_shadow_the_reference_ones():
    pins = _pins(COMPAT_PINS)
    assert set(MODULES) <= set(pins), f"{COMPAT_PINS}: pins {sorted(pins)}"
    overlay = _overlay()
    assert overlay != Path(sys.prefix).resolve(), "transformers comes from .venv, not the overlay"
    for dist, module_name in MODULES.items():
        module = importlib.import_module(module_name)
        assert module.__version__ == pins[dist], (dist, module.__version__, module.__file__)
        assert Path(module.__file__).resolve().is_relative_to(overlay), module.__file__
        # importlib.metadata (transformers' own dependency check reads it) sees the same versions
        assert importlib.metadata.version(dist) == pins[dist]
    from humanclap.models.transformers_compat import transformers_major

    assert transformers_major() == 4


# The same small case on both lines, in both directions: a small random hf model saved by one line
# is loaded by the other, which must give the same token ids and embeddings. The reference line
# runs this file as a script in a subprocess (this interpreter without the overlay).
CAPTIONS = [
    "A dog barks twice, then a car passes by.",
    "rain on a tin roof",
    "Ünïcödé — 日本語 speech?",
]


def _case(model) -> dict:
    """The model's fingerprint, token ids of CAPTIONS and embeddings of them and of three clips
    (one of 12 s)."""
    import torch

    sr = 48_000
    t = torch.arange(sr * 3, dtype=torch.float64) / sr
    clips = [0.3 * torch.sin(2 * torch.pi * 440.0 * t), 0.2 * torch.sin(2 * torch.pi * 97.0 * t)]
    clips.append(0.25 * torch.sin(2 * torch.pi * 1234.0 * torch.arange(sr * 12) / sr))
    with torch.no_grad():
        return {
            "fingerprint": model.fingerprint,
            "ids": model.tokenizer(CAPTIONS)["input_ids"],
            "text": model.embed_text(CAPTIONS).tolist(),
            "audio": model.embed_audio([c.float() for c in clips]).tolist(),
        }


def _load_and_save(load_folder: Path | None, save_folder: Path) -> dict:
    """{"major", "loaded": _case of ``hf:<load_folder>`` (if given), "saved": _case of a small
    ``hf:random`` model, which is saved to ``save_folder``}."""
    from humanclap import models
    from humanclap.models.hf.config import small_config
    from humanclap.models.transformers_compat import transformers_major

    out: dict = {"major": transformers_major()}
    if load_folder is not None:
        out["loaded"] = _case(models.load(f"hf:{load_folder}"))
    model = models.load("hf:random", config=small_config(), seed=3)
    model.save_pretrained(save_folder)
    out["saved"] = _case(model)
    return out


def _reference_env() -> dict[str, str]:
    """This environment without the overlay on PYTHONPATH."""
    overlay = str(_overlay())
    path = [
        p
        for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if p and str(Path(p).resolve()) != overlay
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    if not path:
        del env["PYTHONPATH"]
    return env


def _assert_same(a: dict, b: dict, what: str) -> None:
    import torch

    assert a["ids"] == b["ids"], what
    assert a["fingerprint"] == b["fingerprint"], what  # same architecture dict and weights
    for kind in ("text", "audio"):
        torch.testing.assert_close(
            torch.tensor(a[kind]),
            torch.tensor(b[kind]),
            atol=1e-5,
            rtol=0,
            msg=lambda m, kind=kind: f"{what}, {kind} embeddings: {m}",
        )


def test_folders_saved_by_one_line_embed_alike_on_the_other(tmp_path):
    compat = _load_and_save(None, tmp_path / "saved-by-4")
    proc = subprocess.run(
        [sys.executable, __file__, str(tmp_path / "saved-by-4"), str(tmp_path / "saved-by-5")],
        env=_reference_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    reference = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (compat["major"], reference["major"]) == (4, 5)
    _assert_same(compat["saved"], reference["loaded"], "saved by transformers 4, loaded by 5")
    # the random initialisation may differ between the lines; the weights saved may not
    again = _load_and_save(tmp_path / "saved-by-5", tmp_path / "again")
    _assert_same(again["loaded"], reference["saved"], "saved by transformers 5, loaded by 4")


if __name__ == "__main__":  # the reference line's side of the test above
    print(json.dumps(_load_and_save(Path(sys.argv[1]), Path(sys.argv[2]))))
