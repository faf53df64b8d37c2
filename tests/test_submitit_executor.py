"""A study's runs through a submitit executor (humanclap.train.finetune_many(executor=...),
humanclap.train.jobs, humanclap.train.plan, humanclap.train.executor): local jobs give the same
runs as this process, a preempted job is requeued and resumes, a killed one resumes when asked
again, finished runs start nothing, and the executor is built from names and the environment.

The local jobs are separate processes on this machine (submitit's LocalExecutor), each importing
torch and humanclap: the tests that run them are marked slow."""

from __future__ import annotations

import os
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

torch = pytest.importorskip("torch")
submitit = pytest.importorskip("submitit")

from humanclap import book as hb  # noqa: E402
from humanclap import train  # noqa: E402
from humanclap.runtime import cpu_numerics_pinned  # noqa: E402
from humanclap.train.executor import executor_from_environ, make_executor  # noqa: E402
from humanclap.train.jobs import FinetuneJob, executor_kind, submit_runs  # noqa: E402
from humanclap.train.parallel import finetune_many  # noqa: E402
from humanclap.train.plan import plan_run  # noqa: E402

COMMON = dict(num_epochs=2, batch_size=16, lr=1e-3, progress=False)


# ----------------------------------------------------------------------------- helpers
def _weights(result: train.FinetuneResult) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in result.model.state_dict().items()}


def _assert_same_run(got: train.FinetuneResult, want: train.FinetuneResult) -> None:
    """Same weights bit for bit, the same history but for its wall times."""
    wg, ww = _weights(got), _weights(want)
    assert wg.keys() == ww.keys()
    for k in ww:
        assert torch.equal(wg[k], ww[k]), k
    pd.testing.assert_frame_equal(got.history.drop(columns="seconds"),
                                  want.history.drop(columns="seconds"))  # fmt: skip
    assert (got.best_epoch, got.best_val_srcc) == (want.best_epoch, want.best_val_srcc)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.05)


def _state(run_dir: Path) -> dict | None:
    """The run folder's ``state.pt`` (memory-mapped), or None before the first epoch's."""
    try:
        return torch.load(run_dir / "state.pt", weights_only=True, mmap=True)
    except (FileNotFoundError, RuntimeError):
        return None


def _saved_epoch(run_dir: Path) -> int:
    state = _state(run_dir)
    return -1 if state is None else int(state["epoch"])


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    kids = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(stat_file.parent.name))
    return kids


def _submitted(folder: Path) -> list[Path]:
    return sorted(folder.glob("*_submitted.pkl"))


# ----------------------------------------------------------------------------- local jobs
@pytest.mark.slow
def test_two_runs_as_local_jobs_equal_the_same_runs_in_process(
    new_small_tiny, small_pairs, small_world, tmp_path
):
    base = new_small_tiny()
    train_pairs, val_pairs = small_pairs["train"], small_pairs["validation"]
    folder = tmp_path / "jobs"
    executor = submitit.LocalExecutor(folder=folder)
    executor.update_parameters(timeout_min=30)
    runs = [{"seed": 0}, {"seed": 1, "loss": "mse"}]
    common = dict(COMMON, audio_dir=small_world, out_dir="auto")
    got = finetune_many(base, train_pairs, val_pairs, runs, executor=executor, **common)
    assert len(_submitted(folder)) == 2
    for run, result in zip(runs, got, strict=True):
        alone = train.finetune(base, train_pairs, val_pairs, **{**common, **run, "out_dir": None})
        _assert_same_run(result, alone)
        assert (result.out_dir / "best.pt").is_file() and result.seconds > 0
    assert not torch.equal(_weights(got[0])["log_logit_scale"], _weights(got[1])["log_logit_scale"])
    # each job computed with the CPU settings of the pool's workers (this process's, pinned)
    logs = [p.read_text() for p in folder.glob("*_0_log.err")]
    assert len(logs) == 2
    assert all(f"'pinned': {cpu_numerics_pinned()}" in log for log in logs), logs
    # asked again: the finished runs are read back, no job is started
    again = finetune_many(base, train_pairs, val_pairs, runs, executor=executor, **common)
    assert len(_submitted(folder)) == 2
    for a, b in zip(again, got, strict=True):
        _assert_same_run(a, b)


@pytest.mark.slow
def test_a_preempted_then_killed_job_resumes_from_its_run_folder(
    new_small_tiny, small_pairs, small_world, tmp_path
):
    base = new_small_tiny()
    train_pairs, val_pairs = small_pairs["train"], small_pairs["validation"]
    run = dict(seed=3, num_epochs=24, batch_size=8, lr=1e-3, patience=None, progress=False,
               audio_dir=small_world, out_dir="auto")  # fmt: skip
    if not Path("/proc/self/stat").is_file():
        pytest.skip("finds the job's process in Linux's /proc")
    executor = make_executor("local", tmp_path / "jobs", timeout_min=30)
    run_dir = plan_run(base, train_pairs, val_pairs, run).run_dir
    [job] = submit_runs(executor, base, train_pairs, val_pairs, [run])

    # preempted: USR2 to the job's process, as SLURM signals a job it is about to stop;
    # submitit calls FinetuneJob.checkpoint and requeues the run, which resumes
    _wait(lambda: _saved_epoch(run_dir) >= 1, "epoch 1 in the run folder")
    [task] = _children(int(job.job_id))
    os.kill(task, signal.SIGUSR2)
    _wait(lambda: "Requeued job" in (job.stdout() or ""), "submitit to requeue the job")
    preempted = _state(run_dir)
    _wait(lambda: _saved_epoch(run_dir) > preempted["epoch"], "the requeued job to train on")

    # killed: the job's process dies at once (SIGKILL, as an out-of-memory kill or a lost node;
    # job.cancel() only asks, and a short run may end before it is heard); asking for the run
    # again submits it again, and it resumes
    [task] = _children(int(job.job_id))
    os.kill(task, signal.SIGKILL)
    _wait(job.done, "the killed job to end")
    killed = _state(run_dir)
    assert not killed["done"] and killed["epoch"] > preempted["epoch"]
    [result] = finetune_many(base, train_pairs, val_pairs, [run], executor=executor)

    alone = train.finetune(base, train_pairs, val_pairs, **{**run, "out_dir": None})
    _assert_same_run(result, alone)
    # the epochs saved before each stop were never trained again: their wall times are those
    # recorded then (a run started from scratch would have timed them anew)
    for saved in (preempted, killed):
        recorded = [row["seconds"] for row in saved["history"]]
        assert result.history["seconds"].iloc[: len(recorded)].tolist() == recorded
    assert f"resuming {run_dir} after epoch {preempted['epoch']}" in job.stderr()
    logs = [p.read_text() for p in executor.folder.glob("*_0_log.err")]
    assert len(logs) == 2
    assert sum(f"resuming {run_dir} after epoch {killed['epoch']}" in log for log in logs) == 1


# ----------------------------------------------------------------------------- no job needed
def test_the_plan_names_finetunes_folder_and_finished_runs_start_no_job(
    new_small_tiny, small_pairs, small_world, tmp_path
):
    base = new_small_tiny()
    train_pairs, val_pairs = small_pairs["train"], small_pairs["validation"]
    common = dict(COMMON, num_epochs=1, audio_dir=small_world)
    runs = [
        {"seed": 0, "out_dir": "auto"},
        {"recipe": train.Recipe(loss="wsce+margin", lr=3e-4, num_epochs=1), "seed": 1,
         "term_kwargs": {"margin": {"margin": 0.1}}, "out_dir": "auto"},
        {"seed": 2, "out_dir": tmp_path / "mine"},
    ]  # fmt: skip
    plans = [plan_run(base, train_pairs, val_pairs, {**common, **run}) for run in runs]
    assert not any(plan.finished for plan in plans)
    alone = [train.finetune(base, train_pairs, val_pairs, **{**common, **run}) for run in runs]
    assert [plan.run_dir for plan in plans] == [result.out_dir for result in alone]
    assert len({plan.run_dir for plan in plans}) == 3
    after = [plan_run(base, train_pairs, val_pairs, {**common, **run}) for run in runs]
    assert all(plan.finished for plan in after)
    assert not plan_run(
        base, train_pairs, val_pairs, {**common, **runs[0], "resume": False}
    ).finished

    folder = tmp_path / "jobs"
    executor = make_executor("local", folder)
    got = finetune_many(base, train_pairs, val_pairs, runs, executor=executor, **common)
    assert _submitted(folder) == [] and not (folder / "humanclap-inputs").exists()
    for a, b in zip(got, alone, strict=True):
        _assert_same_run(a, b)


def test_a_folder_holding_another_run_is_refused_before_any_job(
    new_small_tiny, small_pairs, small_world, tmp_path
):
    base = new_small_tiny()
    train_pairs, val_pairs = small_pairs["train"], small_pairs["validation"]
    run = dict(COMMON, num_epochs=1, audio_dir=small_world, out_dir=tmp_path / "run", seed=0)
    train.finetune(base, train_pairs, val_pairs, **run)
    folder = tmp_path / "jobs"
    executor = make_executor("local", folder)
    with pytest.raises(ValueError, match=r"different arguments \(lr: 0.001 -> 0.0003\)"):
        finetune_many(base, train_pairs, val_pairs, [{**run, "lr": 3e-4}], executor=executor)
    assert _submitted(folder) == []

    # what submitit calls on preemption: the same run again; resume=False becomes True once the
    # folder holds this run (so that the requeued job continues it), not for another run's
    plan = plan_run(base, train_pairs, val_pairs, run)
    kwargs = {**run, "out_dir": str(plan.run_dir), "resume": False}
    job = FinetuneJob("inputs.pkl", kwargs, {}, None, plan.args_hash)
    again = job.checkpoint()
    assert isinstance(again, submitit.helpers.DelayedSubmission)
    assert again.function == FinetuneJob("inputs.pkl", {**kwargs, "resume": True}, {}, None,
                                         plan.args_hash)  # fmt: skip
    other = FinetuneJob("inputs.pkl", kwargs, {}, None, "another run").checkpoint()
    assert other.function.kwargs["resume"] is False


def test_the_book_chooses_the_executor_from_the_environment(
    new_small_tiny, small_pairs, small_world, tmp_path, monkeypatch
):
    base = new_small_tiny()
    train_pairs, val_pairs = small_pairs["train"], small_pairs["validation"]
    recipes = {"paper": {"loss": "wsce+mae"}}
    common = dict(COMMON, num_epochs=1, audio_dir=small_world, out_dir="auto")
    monkeypatch.setenv("HUMANCLAP_EXECUTOR", "slrum")
    with pytest.raises(ValueError, match=r"HUMANCLAP_EXECUTOR: .* \(did you mean 'slurm'\?\)"):
        hb.finetune_runs(base, train_pairs, val_pairs, recipes, [0], **common)
    monkeypatch.delenv("HUMANCLAP_EXECUTOR")
    pooled = hb.finetune_runs(base, train_pairs, val_pairs, recipes, [0], workers=1, **common)
    folder = tmp_path / "jobs"
    monkeypatch.setenv("HUMANCLAP_EXECUTOR", "local")
    monkeypatch.setenv("HUMANCLAP_EXECUTOR_FOLDER", str(folder))
    monkeypatch.setenv("HUMANCLAP_LOCAL_TIMEOUT_MIN", "30")
    read_back = hb.finetune_runs(base, train_pairs, val_pairs, recipes, [0], **common)
    assert folder.is_dir() and _submitted(folder) == []
    _assert_same_run(read_back["paper"][0], pooled["paper"][0])


# ----------------------------------------------------------------------------- executors
def test_executors_are_built_from_names_and_options(tmp_path):
    assert make_executor("process") is None
    local = make_executor("local", tmp_path / "a", timeout_min=30, cpus_per_task=1)
    assert local.cluster == "local" and local.folder == (tmp_path / "a").absolute()
    assert local._executor.parameters["timeout_min"] == 30
    assert make_executor("local", tmp_path / "b")._executor.parameters["timeout_min"] == 240
    with pytest.raises(ValueError, match=r"executor: expected one of .* got 'slrum' \(did you"):
        make_executor("slrum")
    with pytest.raises(ValueError, match=r"executor option 'partition': unknown option"):
        make_executor("local", tmp_path, partition="gpu")
    with pytest.raises(ValueError, match=r"'timeout_min' must be int, got 'long'"):
        make_executor("local", tmp_path, timeout_min="long")
    with pytest.raises(ValueError, match=r"'workers': the 'process' executor .* takes no options"):
        make_executor("process", workers=2)
    with pytest.raises(TypeError, match="executor: expected a submitit executor"):
        executor_kind(object())


def test_the_environment_names_the_executor_and_its_options(tmp_path, monkeypatch):
    assert executor_from_environ({}) is None
    assert executor_from_environ({"HUMANCLAP_EXECUTOR": "process"}) is None
    env = {"HUMANCLAP_EXECUTOR": "local", "HUMANCLAP_LOCAL_TIMEOUT_MIN": "45",
           "HUMANCLAP_EXECUTOR_FOLDER": str(tmp_path / "f")}  # fmt: skip
    executor = executor_from_environ(env)
    assert executor.cluster == "local" and executor._executor.parameters["timeout_min"] == 45
    assert executor.folder == (tmp_path / "f").absolute()
    with pytest.raises(ValueError, match=r"HUMANCLAP_EXECUTOR: expected one of"):
        executor_from_environ({"HUMANCLAP_EXECUTOR": "cluster"})
    bad = {**env, "HUMANCLAP_LOCAL_TIMEOUT": "45"}
    with pytest.raises(ValueError, match=r"HUMANCLAP_LOCAL_TIMEOUT: unknown option 'timeout' "
                                         r"of the 'local' executor \(did you mean"):  # fmt: skip
        executor_from_environ(bad)
    _fake_slurm(tmp_path, monkeypatch)
    slurm = {"HUMANCLAP_EXECUTOR": "slurm", "HUMANCLAP_SLURM_PARTITON": "gpu"}
    with pytest.raises(ValueError, match=r"HUMANCLAP_SLURM_PARTITON: .*did you mean 'partition'"):
        executor_from_environ(slurm)


def _fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``srun`` and ``sbatch`` on PATH: sbatch keeps its script and environment in
    ``<tmp_path>/sbatch`` and answers as SLURM does."""
    bin_dir, seen = tmp_path / "bin", tmp_path / "sbatch"
    bin_dir.mkdir(exist_ok=True)
    seen.mkdir(exist_ok=True)
    scripts = {
        "srun": "#!/bin/sh\nexit 0\n",
        "sbatch": f'#!/bin/sh\ncp "$1" {seen}/script.sh\nenv > {seen}/env\n'
        'echo "Submitted batch job 4242"\n',
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return seen


def test_slurm_options_pass_through_to_sbatch_and_jobs_carry_their_run_only(
    new_small_tiny, small_pairs, small_world, tmp_path, monkeypatch
):
    seen = _fake_slurm(tmp_path, monkeypatch)
    env = {"HUMANCLAP_EXECUTOR": "slurm", "HUMANCLAP_SLURM_PARTITION": "gpu",
           "HUMANCLAP_SLURM_GPUS_PER_NODE": "1", "HUMANCLAP_SLURM_TIMEOUT_MIN": "600",
           "HUMANCLAP_SLURM_ARRAY_PARALLELISM": "2",
           "HUMANCLAP_SLURM_SETUP": '["module load cuda"]',
           "HUMANCLAP_EXECUTOR_FOLDER": str(tmp_path / "jobs")}  # fmt: skip
    executor = executor_from_environ(env)
    base = new_small_tiny()
    runs = [dict(COMMON, seed=s, audio_dir=small_world, out_dir="auto") for s in (0, 1, 2)]
    jobs = submit_runs(executor, base, small_pairs["train"], small_pairs["validation"], runs)
    assert [job.job_id for job in jobs] == ["4242_0", "4242_1", "4242_2"]
    script = (seen / "script.sh").read_text()
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=1", "#SBATCH --time=600",
                 "#SBATCH --array=0-2%2", "module load cuda"):  # fmt: skip
        assert line in script.splitlines(), (line, script)
    # submitted inside the book's CPU settings, which sbatch passes on to the jobs
    if cpu_numerics_pinned():
        assert "OMP_NUM_THREADS=1" in (seen / "env").read_text().splitlines()
    # each job's pickle holds its run and the path of the one file of model and pairs
    inputs = list((tmp_path / "jobs" / "humanclap-inputs").glob("*.pkl"))
    assert len(inputs) == 1
    for job, run in zip(jobs, runs, strict=True):
        delayed = submitit.helpers.DelayedSubmission.load(job.paths.submitted_pickle)
        call = delayed.function
        assert isinstance(call, FinetuneJob) and call.inputs == str(inputs[0])
        plan = plan_run(base, small_pairs["train"], small_pairs["validation"], run)
        assert call.kwargs["out_dir"] == str(plan.run_dir) and call.args_hash == plan.args_hash
        assert job.paths.submitted_pickle.stat().st_size < inputs[0].stat().st_size / 2
