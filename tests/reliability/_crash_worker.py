"""The process the crash tests kill: a fork server running the tool's own code.

    python _crash_worker.py serve [module,module...]

imports the tool (and the listed modules) once, says ``{"ready": true}``, then for each
JSON job read from stdin forks a worker, answers ``{"pid": N}`` at once and
``{"pid": N, "status": S}`` when the worker ends (S < 0: killed by signal -S).

A worker writes its progress to the job's ``log`` file, one JSON line per event, with a
single unbuffered ``os.write`` each: ``{"t": "try", ...}`` before an action's transaction
begins and ``{"t": "ok", ...}`` only after the ``with project.write()`` block returned,
i.e. after the commit. What the log says was acknowledged must survive a SIGKILL.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import sys
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from core.project import Project  # noqa: E402
from core.store import repo  # noqa: E402
from core.store.models import Document  # noqa: E402
from core.types import DocumentRecord, EntitySpan  # noqa: E402


class Log:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, **entry: Any) -> None:
        os.write(self.fd, (json.dumps(entry) + "\n").encode())


# --- jobs -------------------------------------------------------------------------------


def job_annotate(job: dict[str, Any], log: Log) -> None:
    """Labelling as the GUI does it: one small transaction per user action."""
    rng = random.Random(job["seed"])
    project = Project.open(job["db"])
    with project.read() as s:
        docs = {d.id: d.text for d in s.scalars(select(Document))}
        known: dict[tuple[int, int, int], str] = {
            (r.document_id, r.start, r.end): r.label.name
            for d in s.scalars(select(Document))
            for r in d.entities
        }
    doc_ids = sorted(docs)
    labels = ("Disease", "Drug", "Symptom")
    for n in range(job["ops"]):
        roll = rng.random()
        if roll < 0.5 or not known:
            doc = rng.choice(doc_ids)
            text = docs[doc]
            start = rng.randrange(0, len(text) - 1)
            end = min(len(text), start + rng.randint(1, 6))
            if not text[start:end].strip() or any(
                d == doc and s < end and start < e for (d, s, e) in known
            ):
                continue
            op = {"op": "add", "doc": doc, "start": start, "end": end, "label": rng.choice(labels)}
        elif roll < 0.65:
            (doc, start, end), label = rng.choice(sorted(known.items()))
            op = {"op": "del", "doc": doc, "start": start, "end": end, "label": label}
        elif roll < 0.75:
            (doc, start, end), label = rng.choice(sorted(known.items()))
            op = {
                "op": "relabel", "doc": doc, "start": start, "end": end, "old": label,
                "label": rng.choice([x for x in labels if x != label]),
            }
        elif roll < 0.9:
            op = {"op": "cls", "doc": rng.choice(doc_ids), "label": rng.choice(["pos", "neg"])}
        else:
            doc = rng.choice(doc_ids)
            start = rng.randrange(0, len(docs[doc]) - 5)
            answer = None if rng.random() < 0.3 else (start, start + 4)
            op = {
                "op": "qa", "doc": doc, "text": f"question {job['seed']}-{n}?",
                "start": answer and answer[0], "end": answer and answer[1],
            }
        log.write(t="try", n=n, **op)
        with project.write() as s:
            if op["op"] == "add":
                repo.add_entity(s, op["doc"], op["start"], op["end"], op["label"])
            elif op["op"] in ("del", "relabel"):
                from core.store.models import EntityAnnotation

                row = s.scalars(
                    select(EntityAnnotation).where(
                        EntityAnnotation.document_id == op["doc"],
                        EntityAnnotation.start == op["start"],
                    )
                ).one()
                if op["op"] == "del":
                    repo.delete_entity(s, row.id)
                else:
                    repo.relabel_entity(s, row.id, op["label"])
            elif op["op"] == "cls":
                repo.set_classes(s, op["doc"], [op["label"]])
            else:
                q = repo.add_question(s, op["doc"], op["text"])
                repo.set_answer(s, q.id, op["start"], op["end"])
        log.write(t="ok", n=n)
        key = (op.get("doc"), op.get("start"), op.get("end"))
        if op["op"] in ("add", "relabel"):
            known[key] = op["label"]  # type: ignore[index]
        elif op["op"] == "del":
            del known[key]  # type: ignore[arg-type]
    project.close()


def import_records(batch: int, size: int, salt: int) -> list[DocumentRecord]:
    records = []
    for i in range(size):
        text = (
            f"Note {salt}/{batch}/{i}: the patient reports influenza and was given "
            f"oseltamivir; follow up in {i % 14 + 1} days. " + "history unremarkable. " * 8
        )
        a = text.index("influenza")
        b = text.index("oseltamivir")
        records.append(
            DocumentRecord(
                text=text, external_id=f"b{batch}-{i}", source="crash-import.jsonl", line=i + 1,
                spans=(EntitySpan(a, a + 9, "Disease"), EntitySpan(b, b + 11, "Drug")),
                classes=("pos",) if i % 2 else ("neg",),
            )
        )
    return records


def job_import(job: dict[str, Any], log: Log) -> None:
    """Big imports: ``repo.add_documents`` of a whole file in one transaction."""
    project = Project.open(job["db"])
    for batch in range(job["first_batch"], job["first_batch"] + job["batches"]):
        records = import_records(batch, job["size"], job["seed"])
        log.write(t="try", batch=batch, size=job["size"])
        with project.write() as s:
            repo.add_documents(s, records)
        log.write(t="ok", batch=batch)
    project.close()


def job_create(job: dict[str, Any], log: Log) -> None:
    """Creating project files one after another."""
    for i in range(job["count"]):
        path = Path(job["dir"]) / f"p{job['seed']}-{i}.db"
        log.write(t="try", path=str(path))
        Project.create(path, tasks={"ner": ["Disease"]}).close()
        log.write(t="ok", path=str(path))


def job_upgrade(job: dict[str, Any], log: Log) -> None:
    """Opening an old file: backup, then a (slow) migration step in one transaction."""
    from tests.schema_steps import add_next_step

    def slow_step(conn: Any) -> None:
        conn.exec_driver_sql("ALTER TABLE documents ADD COLUMN marker INTEGER DEFAULT 0")
        for _ in range(job["passes"]):
            conn.exec_driver_sql("UPDATE documents SET marker = marker + 1")

    add_next_step(slow_step)  # with its Alembic revision, as a real step has
    log.write(t="try")
    Project.open(job["db"]).close()
    log.write(t="ok")


def job_save_model(job: dict[str, Any], log: Log) -> None:
    """Saving model versions one after another with the engine's atomic writer."""
    from core.engine import modelio

    loaded = modelio.load_model(job["model"])
    for i in range(job["count"]):
        out = Path(job["out"]) / f"v{job['seed']}-{i}"
        log.write(t="try", path=str(out))
        modelio.save_model_dir(
            loaded.model, loaded.tokenizer, loaded.spec, out,
            settings={}, metrics={}, base_model="tiny",
        )
        log.write(t="ok", path=str(out))


def job_suggest_chunks(job: dict[str, Any], log: Log) -> None:
    """Pre-annotation from another process: suggestion rows in chunk transactions."""
    from core.store.models import Suggestion

    project = Project.open(job["db"])
    with project.read() as s:
        doc_ids = list(s.scalars(select(Document.id).order_by(Document.id).limit(job["size"])))
    for c in range(job["chunks"]):
        log.write(t="try", chunk=c)
        with project.write() as s:
            for d in doc_ids:
                s.add(Suggestion(document_id=d, task_id=job["task_id"], kind="class",
                                 payload={"label": f"chunk-{c}"}, confidence=0.5))
        log.write(t="ok", chunk=c)
    project.close()


def _one_core() -> None:
    import torch

    from core.engine import runtime

    runtime.use_all_cores = lambda: None  # the CI machine is shared
    torch.set_num_threads(1)


def job_train(job: dict[str, Any], log: Log) -> None:
    """A training run through the engine's project bridge (TrainingRun + ModelVersion)."""
    _one_core()
    from core.engine.project_bridge import train_project
    from core.engine.settings import TrainingSettings

    settings = TrainingSettings(
        base_model=job["base"], epochs=job["epochs"], batch_size=4, eval_batch_size=8,
        max_length=32, stride=8, device="cpu", learning_rate=1e-3, warmup_ratio=0.0,
    )
    project = Project.open(job["db"])
    log.write(t="try")
    outcome = train_project(project, "ner", settings)
    log.write(t="ok", status=outcome.result.status, path=outcome.result.model_path)
    project.close()


def job_preannotate(job: dict[str, Any], log: Log) -> None:
    """Pre-annotation with a real (tiny) model version, in chunk transactions."""
    _one_core()
    from core.active.preannotate import preannotate

    project = Project.open(job["db"])
    log.write(t="try")
    preannotate(
        project, "ner", chunk_size=job["chunk"], batch_size=4,
        on_progress=lambda p: log.write(t="ok", done=p.done, suggestions=p.suggestions),
    )
    project.close()


def job_call(job: dict[str, Any], log: Log) -> None:
    """Call ``module:function(job, log)`` (jobs defined by a test module)."""
    module_name, func = job["target"].split(":")
    getattr(importlib.import_module(module_name), func)(job, log)


JOBS = {
    "annotate": job_annotate,
    "import": job_import,
    "create": job_create,
    "upgrade": job_upgrade,
    "save_model": job_save_model,
    "suggest_chunks": job_suggest_chunks,
    "train": job_train,
    "preannotate": job_preannotate,
    "call": job_call,
}


def serve(preload: list[str]) -> None:
    for name in preload:
        importlib.import_module(name)
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                os.dup2(2, 1)  # never write into the protocol pipe
                sys.stdout = sys.stderr
                JOBS[job["mode"]](job, Log(job["log"]))
                code = 0
            except BaseException:  # noqa: BLE001 - reported, then the worker exits
                traceback.print_exc()
            finally:
                os._exit(code)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            code = -os.WTERMSIG(status)
        else:
            code = os.WEXITSTATUS(status)
        out.write(json.dumps({"pid": pid, "status": code}) + "\n")
        out.flush()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve([m for m in (sys.argv[2] if len(sys.argv) > 2 else "").split(",") if m])
    elif sys.argv[1] == "job":  # run one job in this process, no fork
        one = json.loads(sys.argv[2])
        JOBS[one["mode"]](one, Log(one["log"]))
    else:
        sys.exit(f"usage: {sys.argv[0]} serve [modules] | job JSON")
