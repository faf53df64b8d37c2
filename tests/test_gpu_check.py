"""bench/gpu_check.py's steps, on the CPU (the GPU run is for machines that have one)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import load_script

gpu_check = load_script("bench/gpu_check.py")


def test_embedding_step_compares_with_the_cpu() -> None:
    result = gpu_check.embedding("hf:random", torch.device("cpu"), quick=True)
    assert result["passed"] and list(result["precisions"]) == ["fp32"]
    assert result["precisions"]["fp32"]["min_cosine_vs_cpu"] == pytest.approx(1.0)


def test_finetuning_step_kills_and_resumes(tmp_path: Path) -> None:
    result = gpu_check.finetuning(torch.device("cpu"), quick=True, folder=tmp_path)
    assert result["passed"], result
    assert result["epochs_run_after_resume"] == [2, 3]
    assert result["val_srcc_straight"] == result["val_srcc_resumed"]  # bit-exact on the CPU


def test_a_failing_step_is_recorded_and_the_exit_status_says_so(tmp_path: Path) -> None:
    report = {"steps": {}}

    def broken() -> dict:
        raise ValueError("boom")

    gpu_check._step(report, "broken", broken)
    assert report["steps"]["broken"]["passed"] is False
    assert "ValueError: boom" in report["steps"]["broken"]["error"]
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            gpu_check.main(["--device", "cuda", "--out", str(tmp_path / "x.json")])
