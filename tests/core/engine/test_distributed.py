"""``annotator train`` under torchrun and under ``accelerate launch``: two CPU processes
(gloo), DDP, one recorded run.

The same code path a multi-GPU machine takes (NCCL there, gloo here): the ranks train their
share of the batches in step, only rank 0 evaluates, saves, records the run and prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


LAUNCHERS = {
    "torchrun": [sys.executable, "-m", "torch.distributed.run", "--standalone",
                 "--nproc_per_node", "2"],
    # accelerate's multi-process launcher ("--multi_gpu": torch.distributed.run underneath);
    # with the engine on the CPU the processes talk over gloo, as under torchrun
    "accelerate": [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
                   "--num_processes", "2", "--num_machines", "1",
                   "--mixed_precision", "no", "--dynamo_backend", "no"],
}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_train_under_a_launcher_two_processes(project_path: Path, tiny_bert: Path,
                                               launcher: str) -> None:
    from sqlalchemy import func, select

    from core.project import Project
    from core.store.models import ModelVersion, TrainingRun

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [*LAUNCHERS[launcher], "-m", "annotator", "train", str(project_path), "--task", "ner",
         "--base-model", str(tiny_bert), "--epochs", "4", "--lr", "0.003", "--batch-size", "2",
         "--device", "cpu", "--json"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=280,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    payload = json.loads(proc.stdout)  # exactly one JSON object: rank 1 prints nothing
    assert payload["status"] == "completed"
    assert payload["dev"]["f1"] > 0.9  # the ranks trained one model together
    # --batch-size is per process: 32 documents / 2 per batch / 2 ranks = 8 steps an epoch
    assert payload["epochs"][0]["step"] == 8
    model_dir = Path(payload["model_path"])
    assert (model_dir / "model.safetensors").is_file()

    project = Project.open(project_path)
    try:
        with project.read() as session:
            assert session.scalar(select(func.count()).select_from(TrainingRun)) == 1
            assert session.scalar(select(func.count()).select_from(ModelVersion)) == 1
            run = session.scalars(select(TrainingRun)).one()
            assert run.status == "completed" and len(run.epochs) == len(payload["epochs"])
            assert "distributed: 2 processes (gloo)" in run.log
    finally:
        project.close()
    # nothing else was written beside the one model directory
    assert [p.name for p in model_dir.parent.iterdir()] == [model_dir.name]
