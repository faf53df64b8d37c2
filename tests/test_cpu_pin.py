"""The CPU settings that make the numbers the same on every x86-64 CPU with AVX2
(humanclap.runtime.cpu_pin_env and friends), in the processes humanclap starts: the book's
notebook kernels, finetune_many's workers and the tiny CLAP's pre-training."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

torch = pytest.importorskip("torch")

from humanclap import pretrained, runtime  # noqa: E402
from humanclap.book import runner as nbrun  # noqa: E402
from humanclap.models.tiny import TinyConfig  # noqa: E402
from humanclap.runtime import (  # noqa: E402
    CPU_PIN_ENV,
    PIN_SWITCH,
    cpu_numerics_pinned,
    cpu_pin_env,
    pinned_environ,
)
from humanclap.train import parallel  # noqa: E402

SMALL_TINY = TinyConfig(max_seconds=1.0, channels=(8, 16), time_segments=2, d_model=32,
                        n_heads=2, ff_dim=32, head_dim=32, embed_dim=16)  # fmt: skip

needs_avx2 = pytest.mark.skipif(
    not runtime._cpu_has_avx2(), reason="pinning the kernels needs an x86-64 CPU with AVX2"
)


@needs_avx2
def test_the_pin_is_avx2_everywhere_and_one_thread() -> None:
    env = cpu_pin_env({})
    assert env == CPU_PIN_ENV
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert env["MKL_CBWR"] == "AVX2" and env["OMP_NUM_THREADS"] == "1"
    for off in ("0", "false", "No", " off "):
        assert cpu_pin_env({PIN_SWITCH: off}) == {}
    assert cpu_pin_env({PIN_SWITCH: "1"}) == CPU_PIN_ENV


def test_a_cpu_without_avx2_gets_a_warning_and_only_the_threads(monkeypatch) -> None:
    monkeypatch.setattr(runtime, "_cpu_has_avx2", lambda: False)
    with pytest.warns(RuntimeWarning, match="no AVX2"):
        env = cpu_pin_env({})
    assert env == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@needs_avx2
def test_pinned_environ_overrides_and_restores_the_callers_values() -> None:
    environ = {"ATEN_CPU_CAPABILITY": "default", "PATH": "/bin"}
    with pinned_environ(environ) as env:
        assert env == CPU_PIN_ENV
        assert {k: environ[k] for k in env} == CPU_PIN_ENV and environ["PATH"] == "/bin"
    assert environ == {"ATEN_CPU_CAPABILITY": "default", "PATH": "/bin"}
    # the switch leaves everything as it is
    environ = {PIN_SWITCH: "0", "ATEN_CPU_CAPABILITY": "default"}
    with pinned_environ(environ) as env:
        assert env == {} and environ == {PIN_SWITCH: "0", "ATEN_CPU_CAPABILITY": "default"}


@needs_avx2
def test_the_test_process_itself_is_pinned() -> None:
    # tests/conftest.py pins before the first tensor operation, as a library user would (a
    # test may change the thread count afterwards: the kernels and the environment stay)
    assert torch.backends.cpu.get_cpu_capability() == "AVX2"
    assert {k: os.environ.get(k) for k in CPU_PIN_ENV} == CPU_PIN_ENV
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert cpu_numerics_pinned()
        torch.set_num_threads(2)
        assert not cpu_numerics_pinned()
    finally:
        torch.set_num_threads(before)


@needs_avx2
@pytest.mark.slow
def test_pretraining_from_an_unpinned_process_gives_the_pinned_weights(
    small_world, monkeypatch
) -> None:
    kwargs = dict(num_epochs=1, batch_size=16, progress=False)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = pretrained.pretrain_pinned(small_world, SMALL_TINY, **kwargs)  # pinned: here
    finally:
        torch.set_num_threads(before)
    monkeypatch.setattr(pretrained, "cpu_numerics_pinned", lambda: False)
    spawned = pretrained.pretrain_pinned(small_world, SMALL_TINY, **kwargs)
    assert spawned.provenance["cpu_capability"] == "AVX2"
    assert spawned.provenance["torch_threads"] == 1
    assert here.fingerprint == spawned.fingerprint


def _report_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    code = (
        "import json, os, torch\n"
        "print(json.dumps({'env': {k: os.environ.get(k) for k in "
        f"{sorted(CPU_PIN_ENV)!r}}}, 'capability': torch.backends.cpu.get_cpu_capability(), "
        "'threads': torch.get_num_threads()}))"
    )
    nb.cells += [params, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)
    return path


def _kernel_report(path: Path) -> dict:
    nb = json.loads(path.read_text())
    text = "".join("".join(o.get("text", "")) for o in nb["cells"][-1]["outputs"])
    return json.loads(text)


@needs_avx2
@pytest.mark.slow
def test_the_runners_kernels_compute_as_the_book_does(tmp_path: Path, monkeypatch) -> None:
    src = _report_notebook(tmp_path / "report.ipynb")
    # a caller that asks for other kernels and threads is overridden ...
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    nbrun.run_notebook(src, tmp_path / "out" / "pinned.ipynb", cwd=tmp_path)
    report = _kernel_report(tmp_path / "out" / "pinned.ipynb")
    assert report == {"env": CPU_PIN_ENV, "capability": "AVX2", "threads": 1}
    assert os.environ["ATEN_CPU_CAPABILITY"] == "default"  # the caller's own value is back
    # ... unless it turns pinning off
    monkeypatch.setenv(PIN_SWITCH, "0")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)  # pinned by tests/conftest.py
    nbrun.run_notebook(src, tmp_path / "out" / "free.ipynb", cwd=tmp_path)
    report = _kernel_report(tmp_path / "out" / "free.ipynb")
    assert report["capability"] == "DEFAULT" and report["threads"] == 2


def _worker_report() -> dict:
    return {
        "env": {k: os.environ.get(k) for k in CPU_PIN_ENV},
        "capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
    }


@needs_avx2
@pytest.mark.slow
def test_workers_compute_as_the_book_does_whatever_the_caller_set(monkeypatch) -> None:
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    with parallel.worker_pool(2, (None, None, None)) as pool:
        reports = [pool.submit(_worker_report).result() for _ in range(2)]
    assert all(r == {"env": CPU_PIN_ENV, "capability": "AVX2", "threads": 1} for r in reports)
    assert os.environ["ATEN_CPU_CAPABILITY"] == "default"


@needs_avx2
def test_pinned_and_unpinned_models_are_cached_apart(small_world, monkeypatch) -> None:
    pinned = pretrained.pretrained_cache_path(small_world, cache_dir="c")
    monkeypatch.setenv(PIN_SWITCH, "0")
    free = pretrained.pretrained_cache_path(small_world, cache_dir="c")
    assert pinned != free and pinned.parent == free.parent
