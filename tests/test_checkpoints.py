"""Checkpoint files are read without running their code (:mod:`humanclap.models.checkpoint`).

Files are crafted here as LAION's training writes them (any pickle protocol, zip or legacy
format, an optimiser state holding numpy numbers pickled under ``numpy.core`` as numpy 1.x writes
them or under ``numpy._core`` as numpy 2 does), as attackers would (pickled calls of
functions), and as safetensors. The LAION-model tests reuse test_laion's module-scoped model.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from humanclap import models  # noqa: E402
from humanclap.models import checkpoint as ckpt  # noqa: E402
from humanclap.models import tokenizer as tk  # noqa: E402

try:  # its module-scoped LAION model and helpers; skipped there without laion_clap
    import test_laion as laion_tests
except pytest.skip.Exception:
    laion_tests = None
if laion_tests is not None:
    env, model = laion_tests.env, laion_tests.model  # the fixtures, shared by name

needs_laion = pytest.mark.skipif(laion_tests is None, reason="laion_clap is not installed")
NUMPY_CORES = ("numpy.core", "numpy._core")  # what numpy 1.x / numpy 2 write


# ----------------------------------------------------------------------------- crafting files
class _RenamingPickler(pickle._Pickler):
    """The pure-Python pickler, writing numpy's ``numpy.core``/``numpy._core`` globals under
    ``numpy_core`` whichever numpy is installed (a numpy 1.x file seen by numpy 2, and back)."""

    numpy_core = "numpy.core"

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or ""
        old = next((c for c in NUMPY_CORES if module.startswith(c + ".")), None)
        if old is None:
            return super().save_global(obj, name)
        module = self.numpy_core + module[len(old) :]
        qualname = name or obj.__qualname__
        if self.proto >= 4:
            self.save(module)
            self.save(qualname)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode())
        self.memoize(obj)
        return None

    dispatch = {**pickle._Pickler.dispatch, types.FunctionType: save_global}  # numpy's _frombuffer


def _numpy_pickle(numpy_core: str) -> types.ModuleType:
    """A ``pickle_module`` for ``torch.save`` that writes numpy's globals under ``numpy_core``."""
    pickler = type("Pickler", (_RenamingPickler,), {"numpy_core": numpy_core})
    module = types.ModuleType(f"pickle_as_{numpy_core}")
    module.Pickler = pickler
    module.dump = lambda obj, file, protocol=None: pickler(file, protocol).dump(obj)
    return module


def _save(obj, path: Path, protocol: int, numpy_core: str, zip_format: bool = True) -> Path:
    torch.save(
        obj,
        path,
        pickle_module=_numpy_pickle(numpy_core),
        pickle_protocol=protocol,
        _use_new_zipfile_serialization=zip_format,
    )
    return path


def _pickle_bytes(path: Path) -> bytes:
    """The pickled part of a torch file (``data.pkl`` of the zip format; the legacy file)."""
    if not zipfile.is_zipfile(path):
        return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl")))


def _optimiser() -> dict:
    """AdamW's state as LAION's training saves it: numpy learning rates (cosine schedule)."""
    return {
        "state": {0: {"step": torch.tensor(10.0), "exp_avg": torch.zeros(3)}},
        "param_groups": [
            {"lr": np.float64(1e-4), "betas": (0.9, 0.99), "weight_decay": 0.0, "params": [0]},
            {"lr": np.float64(2e-5), "initial_lr": np.float32(0.5), "params": [1]},
        ],
    }


def _laion_like(state: dict) -> dict:
    return {
        "epoch": 3,
        "name": "run",
        "state_dict": state,
        "optimizer": _optimiser(),
        "scaler": {"scale": 65536.0, "_growth_tracker": 0},
    }


def _assert_optimiser(loaded: dict) -> None:
    groups = loaded["param_groups"]
    assert groups[0]["lr"] == 1e-4 and type(groups[0]["lr"]) is np.float64
    assert groups[1]["initial_lr"] == 0.5 and type(groups[1]["initial_lr"]) is np.float32
    assert groups[0]["betas"] == (0.9, 0.99)
    assert torch.equal(loaded["state"][0]["step"], torch.tensor(10.0))


# ----------------------------------------------------------------------------- reading
@pytest.mark.parametrize("numpy_core", NUMPY_CORES)
@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_laion_like_files_of_every_protocol_load(tmp_path, protocol, zip_format, numpy_core):
    state = collections.OrderedDict(
        {
            "module.audio_branch.bn0.weight": torch.randn(4),
            "module.audio_branch.bn0.num_batches_tracked": torch.tensor(7),
            "module.text_branch.embeddings.position_ids": torch.arange(514).expand((1, -1)),
            "module.half": torch.ones(2, dtype=torch.bfloat16),
            "module.view": torch.arange(10.0)[2:5],
            "module.u16": torch.arange(3).to(torch.uint16),  # torch's _rebuild_tensor_v3
        }
    )
    extra = {"dtype": np.dtype("float32"), "array": np.arange(3.0), "count": np.int64(5)}
    obj = {**_laion_like(state), "extra": extra, "device": torch.device("cpu")}
    path = _save(obj, tmp_path / "laion.pt", protocol, numpy_core, zip_format)
    written = _pickle_bytes(path)
    other = next(c for c in NUMPY_CORES if c != numpy_core)
    assert numpy_core.encode() + b".multiarray" in written and other.encode() not in written
    loaded = ckpt.load_weights_only(path)
    assert loaded["epoch"] == 3 and loaded["name"] == "run" and loaded["scaler"]["scale"] == 65536
    assert list(loaded["state_dict"]) == list(state)
    for key, tensor in state.items():
        assert loaded["state_dict"][key].dtype == tensor.dtype
        assert torch.equal(loaded["state_dict"][key], tensor), key
    _assert_optimiser(loaded["optimizer"])
    assert loaded["extra"]["dtype"] == np.float32 and loaded["extra"]["count"] == 5
    assert np.array_equal(loaded["extra"]["array"], np.arange(3.0))
    assert loaded["device"] == torch.device("cpu")


def test_model_state_dicts_and_parameters_load(tmp_path):
    linear = torch.nn.Linear(3, 2)
    path = tmp_path / "module.pt"
    torch.save({"sd": linear.state_dict(), "weight": linear.weight, "dtype": torch.float16}, path)
    loaded = ckpt.load_weights_only(path)
    assert isinstance(loaded["sd"], collections.OrderedDict) and hasattr(loaded["sd"], "_metadata")
    assert torch.equal(loaded["sd"]["weight"], linear.weight.detach())
    assert isinstance(loaded["weight"], torch.nn.Parameter) and loaded["dtype"] is torch.float16


# ----------------------------------------------------------------------------- refusing
class _SystemCall:
    """Unpickling this would run ``os.system("touch <marker>")``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 5])
@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_pickled_code_is_refused_and_never_runs(tmp_path, zip_format, protocol):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    state = {"module.audio_branch.bn0.weight": torch.ones(4)}
    torch.save(
        {"state_dict": state, "args": _SystemCall(marker)},
        path,
        pickle_protocol=protocol,
        _use_new_zipfile_serialization=zip_format,
    )
    message = f"{path}: refuses to load the global {os.system.__module__}.system (only tensors"
    with pytest.raises(ckpt.UnsafeCheckpointError) as info:
        ckpt.load_weights_only(path)
    assert message in str(info.value) and "the file may be unsafe" in str(info.value)
    with pytest.raises(ValueError, match="refuses to load the global") as info:
        models.load(path)
    assert message in str(info.value)
    with pytest.raises(ValueError, match="refuses to load the global"):
        models.load(f"laion:{path}")
    assert not marker.exists()


def test_harmless_unknown_global_is_refused_by_name(tmp_path):
    path = tmp_path / "counter.pt"
    torch.save({"state_dict": {"w": torch.ones(1)}, "counts": collections.Counter(a=1)}, path)
    with pytest.raises(ckpt.UnsafeCheckpointError, match="global collections.Counter") as info:
        ckpt.load_weights_only(path)
    assert str(path) in str(info.value)


def test_torchscript_archives_are_refused(tmp_path):
    path = tmp_path / "scripted.pt"
    with pytest.warns(FutureWarning):  # torch.jit.script is deprecated; it still writes archives
        torch.jit.script(torch.nn.Linear(2, 2)).save(str(path))
    with pytest.raises(ckpt.UnsafeCheckpointError, match="TorchScript archive"):
        ckpt.load_weights_only(path)


def test_allowed_globals_cannot_be_changed_by_a_pickle():
    """A BUILD instruction on an allowed global (``setattr``/``__dict__`` from the pickle) must
    not change torch's, numpy's or humanclap's objects: they are immutable or handed out fresh."""
    allowed = ckpt.allowed_globals()
    assert "collections.Counter" not in allowed and "builtins.getattr" not in allowed
    state = pickle.dumps((None, {"planted": 1, "__defaults__": (1,)}), protocol=2)[2:-1]
    defaults = {name: getattr(obj, "__defaults__", None) for name, obj in allowed.items()}
    for name in allowed:
        module, attr = name.rsplit(".", 1)
        data = b"\x80\x02c" + f"{module}\n{attr}\n".encode() + state + pickle.BUILD + pickle.STOP
        try:
            ckpt.restricted_pickle_module("crafted").load(io.BytesIO(data))
        except Exception:  # most refuse the state; what matters is what is left afterwards
            pass
    for name, obj in allowed.items():
        assert not hasattr(obj, "planted"), name
        assert getattr(obj, "__defaults__", None) == defaults[name], name
    assert allowed["numpy.dtype"]("f8", False, False) is not np.dtype("f8")  # always a copy


# ----------------------------------------------------------------------------- safetensors
def test_safetensors_state_dicts_load(tmp_path):
    from safetensors.torch import save_file

    state = {"module.audio_branch.bn0.weight": torch.randn(4), "ids": torch.arange(3)}
    save_file(state, tmp_path / "weights.safetensors")
    loaded = ckpt.load_weights_only(tmp_path / "weights.safetensors")
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)
    (tmp_path / "renamed.pt").write_bytes((tmp_path / "weights.safetensors").read_bytes())
    assert torch.equal(ckpt.load_weights_only(tmp_path / "renamed.pt")["ids"], state["ids"])
    pann = {"audio_branch.conv_block1.conv1.weight": torch.zeros(2, 1, 3, 3)}  # read, dispatched
    save_file(pann, tmp_path / "pann.safetensors")  # to the "laion" backend, which refuses PANN
    with pytest.raises(ValueError, match="PANN"):
        models.load(tmp_path / "pann.safetensors")
    (tmp_path / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(ValueError, match="broken.safetensors"):
        ckpt.load_weights_only(tmp_path / "broken.safetensors")


# ----------------------------------------------------------------------------- LAION models
def _constant_state(model) -> dict[str, torch.Tensor]:
    """``model``'s LAION state dict with a different constant per tensor, stored with stride 0
    (one number each: the files stay tiny), ``module.`` prefixes and ``position_ids``."""
    state = {}
    for i, (key, value) in enumerate(model.laion_state_dict().items()):
        if key.endswith("position_ids"):
            state["module." + key] = value
        else:
            state["module." + key] = torch.full((), (i % 13) / 8, dtype=value.dtype).expand(
                value.shape
            )
    return state


@pytest.mark.slow
@needs_laion
@pytest.mark.parametrize(
    ("protocol", "numpy_core"), [(2, "numpy.core"), (4, "numpy.core"), (5, "numpy._core")]
)
def test_laion_checkpoints_of_every_protocol_load(
    model, tmp_path, monkeypatch, protocol, numpy_core
):
    """As the released ``630k-audioset-best.pt`` is reported to be: protocol 4, numpy.core."""
    state = _constant_state(model)
    path = _save(_laion_like(state), tmp_path / "630k-like.pt", protocol, numpy_core)
    vocab = laion_tests._gpt2_roberta_folder(tmp_path / "vocab", model.tokenizer)
    monkeypatch.setenv(tk.ENV_ROBERTA, str(vocab))  # no humanclap meta: roberta-base's vocabulary
    loaded = models.load(f"laion:{path}")
    assert loaded.spec == f"laion:{path}" and loaded.config["provenance"]["epoch"] == 3
    assert loaded.config["arch"]["amodel"] == "HTSAT-tiny"
    for key, value in loaded.clap.state_dict().items():
        if not key.endswith("position_ids"):
            assert torch.equal(value, state["module." + key]), key


@pytest.mark.slow
@needs_laion
def test_laion_model_loads_from_safetensors(model, tmp_path, monkeypatch):
    from safetensors.torch import save_file

    path = tmp_path / "630k-like.safetensors"
    save_file({"module." + k: v.contiguous() for k, v in model.laion_state_dict().items()}, path)
    vocab = laion_tests._gpt2_roberta_folder(tmp_path / "vocab", model.tokenizer)
    monkeypatch.setenv(tk.ENV_ROBERTA, str(vocab))
    loaded = models.load(f"laion:{path}")
    assert loaded.backend == "laion" and loaded.spec == f"laion:{path}"
    assert laion_tests._same_weights(loaded, model)
