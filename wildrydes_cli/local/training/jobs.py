"""The local target's training jobs: their records as DescribeTrainingJob shows them, kept on disk.

Why a store of our own instead of moto's: moto's CreateTrainingJob answers
``Completed`` at once, writes no artifact and has no StopTrainingJob; here a job
moves through SageMaker's states while it runs. Why not the journal: replaying a
CreateTrainingJob at start would run a finished job again. Each job's record is a
small JSON file instead (``<state_dir>/local/training/jobs/``), written whole
(temp file, fsync, rename, 0600) at every change of state before the change is
answered or shown, so what a client was told survives ``local stop`` and
``start``. The artifact itself is an S3 object written through the journal.

At start, a job that was still running when the emulator stopped is failed with
a FailureReason saying so: its process ended with the emulator, and running it
again unasked could train on data changed since. A record that cannot be read is
set aside (``.damaged``, kept) and named in the daemon log.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

RUNNING = ("InProgress", "Stopping")
FINISHED = ("Completed", "Failed", "Stopped")
STOPPED_WITH_EMULATOR = ("InternalServerError: the local target stopped (wildrydes local stop) while this job "
                         "was running; its training process ended with it. Create a new job to train again.")


def training_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "local" / "training"


def arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:training-job/{name.lower()}"


class Job:
    """One training job: ``record`` holds DescribeTrainingJob's fields (times as epoch seconds),
    plus private ones starting with ``_`` (account, region, the caller's access key id)."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.stop_requested = False           # StopTrainingJob was called
        self.stopped_by: Any = None           # the time limit that ended it (a runner.Stopped)

    @property
    def name(self) -> str:
        return self.record["TrainingJobName"]

    @property
    def key(self) -> tuple[str, str, str]:
        return self.record["_account"], self.record["_region"], self.name

    @property
    def status(self) -> str:
        return self.record["TrainingJobStatus"]

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.record.items() if not k.startswith("_") and k != "Tags"}

    def summary(self) -> dict[str, Any]:
        r = self.record
        found = {"TrainingJobName": r["TrainingJobName"], "TrainingJobArn": r["TrainingJobArn"],
                 "CreationTime": r["CreationTime"], "LastModifiedTime": r["LastModifiedTime"],
                 "TrainingJobStatus": r["TrainingJobStatus"], "SecondaryStatus": r["SecondaryStatus"]}
        if "TrainingEndTime" in r:
            found["TrainingEndTime"] = r["TrainingEndTime"]
        return found

    def transition(self, status: str, message: str, now: float | None = None) -> None:
        """A new secondary status: the open transition ends now and this one starts."""
        now = time.time() if now is None else now
        transitions = self.record.setdefault("SecondaryStatusTransitions", [])
        if transitions and "EndTime" not in transitions[-1]:
            transitions[-1]["EndTime"] = now
        transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})
        self.record["SecondaryStatus"] = status
        self.record["LastModifiedTime"] = now

    def finish(self, status: str, secondary: str, message: str, reason: str | None = None) -> None:
        now = time.time()
        self.transition(secondary, message, now)
        self.record["SecondaryStatusTransitions"][-1]["EndTime"] = now
        self.record["TrainingJobStatus"] = status
        if reason:
            self.record["FailureReason"] = reason[:1024]
        started = self.record.get("TrainingStartTime")
        if started is not None:
            self.record["TrainingEndTime"] = now
            seconds = max(1, int(round(now - started)))
            self.record["TrainingTimeInSeconds"] = seconds
            self.record["BillableTimeInSeconds"] = seconds


class JobStore:
    """Every job of the local target, in memory, and on disk under ``directory`` (None: kept nowhere)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.lock = threading.RLock()
        self.jobs: dict[tuple[str, str, str], Job] = {}

    # -- disk ---------------------------------------------------------------------------------------
    def _path(self, job: Job) -> Path:
        assert self.directory is not None
        account, region, name = job.key
        return self.directory / "jobs" / account / region / f"{name}.json"

    def save(self, job: Job) -> None:
        """Write the job's record whole (or nothing): temp file, fsync, rename, fsync the directory."""
        if self.directory is None:
            return
        path = self._path(job)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_suffix(".tmp")
        data = json.dumps(job.record, sort_keys=True).encode("utf-8")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def load(self) -> list[str]:
        """Read the kept jobs; fail the ones that were running; returns their names."""
        if self.directory is None:
            return []
        interrupted = []
        for path in sorted((self.directory / "jobs").glob("*/*/*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                job = Job(record)
                _ = job.key, job.status
            except (OSError, ValueError, KeyError, TypeError) as exc:
                aside = path.with_suffix(".json.damaged")
                LOG.error("training job record %s cannot be read (%s): set aside as %s", path, exc, aside.name)
                path.replace(aside)
                continue
            if job.status in RUNNING:
                job.finish("Failed", "Failed", "Training job failed", STOPPED_WITH_EMULATOR)
                self.save(job)
                interrupted.append(job.name)
            self.jobs[job.key] = job
        shutil.rmtree(self.directory / "work", ignore_errors=True)   # what those jobs had downloaded
        if interrupted:
            LOG.warning("training jobs running when the emulator stopped are now Failed: %s", ", ".join(interrupted))
        return interrupted

    def work_dir(self, job: Job) -> Path:
        """The job's /opt/ml: under the state directory, or a temporary one when nothing is kept."""
        if self.directory is not None:
            account, region, name = job.key
            return self.directory / "work" / account / region / name
        import tempfile
        return Path(tempfile.mkdtemp(prefix=f"wildrydes-job-{job.name}-"))

    # -- jobs ---------------------------------------------------------------------------------------
    def get(self, account: str, region: str, name: str) -> Job | None:
        with self.lock:
            return self.jobs.get((account, region, name))

    def add(self, job: Job) -> None:
        with self.lock:
            self.save(job)
            self.jobs[job.key] = job

    def update(self, job: Job) -> None:
        with self.lock:
            self.save(job)

    def of(self, account: str, region: str) -> Iterator[Job]:
        with self.lock:
            jobs = [job for key, job in self.jobs.items() if key[:2] == (account, region)]
        yield from jobs

    def in_flight(self, account: str, region: str, instance_type: str) -> int:
        """Instances of this type that running jobs hold (what SageMaker's quota counts)."""
        return sum(int(job.record["ResourceConfig"].get("InstanceCount", 1)) for job in self.of(account, region)
                   if job.status in RUNNING and job.record["ResourceConfig"].get("InstanceType") == instance_type)


def erase(state_dir: Path) -> bool:
    """``local reset``: forget every training job (records and downloads)."""
    directory = training_dir(state_dir)
    if not directory.exists():
        return False
    shutil.rmtree(directory)
    return True
