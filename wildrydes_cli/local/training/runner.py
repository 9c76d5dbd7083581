"""A training job run for real, in the background: SageMaker's states, channels, the algorithm, the artifact.

Why each step is what it is (SageMaker Developer Guide, "Train a Model" and
DescribeTrainingJob's SecondaryStatus):

- ``Starting``: the instances; nothing to launch here, so it passes at once.
- ``Downloading``: TrainingStartTime (billing starts). Each channel's objects under
  its S3 prefix are put in the job's ``/opt/ml`` (``input/data/<channel>/``): the
  journal's blob of the object hard-linked, read-only, or else a copy out of the
  emulator's S3 (``moto_backends.copy_s3_object``). ``ShardedByS3Key`` gives instance k of N every N-th
  object; fewer objects than instances fails the job; each instance's shard is
  written to its own log stream, then one process trains on all of them (the
  distribution itself happens on AWS).
- ``Training``: the algorithm, as SageMaker runs a container: a process
  (``python -m wildrydes_cli.training.algorithm train ROOT``, see that module for
  the contract; started ahead as ``... standby`` and handed ROOT, ``processes.py``), its output lines into CloudWatch Logs (``/aws/sagemaker/TrainingJobs``,
  stream ``<job>/algo-1-<epoch seconds>``), its ``#quality_metric`` lines into
  FinalMetricDataList, its ``output/failure`` into FailureReason.
- ``Uploading``: ``model/`` tarred and gzipped into
  ``<S3OutputPath>/<job>/output/model.tar.gz``, written through the journal like any
  client's PutObject (so it survives a restart), then ``Completed``.

StopTrainingJob sends the process SIGTERM and, after ``STOP_GRACE_S``, SIGKILL
(SageMaker allows 120 s; the local Linear Learner saves nothing on SIGTERM), and the
job ends ``Stopped`` without an artifact. ``MaxRuntimeInSeconds`` (from
TrainingStartTime) and, for spot jobs, ``MaxWaitTimeInSeconds`` (from creation)
stop it the same way, with SecondaryStatus ``MaxRuntimeExceeded`` /
``MaxWaitTimeExceeded``.
"""
from __future__ import annotations

import io
import json
import logging
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from wildrydes_cli import linear_learner
from wildrydes_cli.local.awsapi import moto_backends
from wildrydes_cli.local.training import processes
from wildrydes_cli.local.training.jobs import Job, JobStore

LOG = logging.getLogger(__name__)

ALGORITHM = processes.ALGORITHM
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
STOP_GRACE_S = 5.0
LOG_BATCH = 200
MAX_CHANNEL_BYTES = 8 * 1024**3        # a channel larger than this is refused (the job's disk, bounded)

# (account, region, group, stream, [(ms, message), ...]): the log writer the daemon gives.
WriteLogs = Callable[[str, str, str, str, list], None]
# (account, region, bucket, key, body, access key) -> None, raising OSError when S3 refused it.
PutObject = Callable[[str, str, str, str, bytes, str], None]


class JobFailed(Exception):
    """The job ends Failed with this FailureReason."""


class Stopped(Exception):
    """The job was stopped (StopTrainingJob or a time limit): (secondary status, message)."""

    def __init__(self, secondary: str, message: str) -> None:
        super().__init__(message)
        self.secondary = secondary
        self.message = message


class Runner:
    """Runs each created job in a thread of its own; ``stop`` asks one to end."""

    def __init__(self, store: JobStore, write_logs: WriteLogs, put_object: PutObject,
                 python: str = sys.executable) -> None:
        self.store = store
        self.write_logs = write_logs
        self.put_object = put_object
        self.algorithm = processes.AlgorithmProcesses(python)
        self.processes: dict[tuple[str, str, str], subprocess.Popen] = {}
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.closing = False    # the emulator stops: a job ended by that keeps its record as it was

    def start(self, job: Job) -> None:
        thread = threading.Thread(target=self.run, args=(job,), name=f"training-{job.name}", daemon=True)
        self.threads.append(thread)
        thread.start()

    def stop(self, job: Job) -> None:
        job.stop_requested = True
        with self.lock:
            process = self.processes.get(job.key)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)

    def shutdown(self) -> None:
        """The emulator stops: end every job's process (their records say so at the next start)."""
        with self.lock:
            self.closing = True
            running = list(self.processes.values())
        for process in running:
            if process.poll() is None:
                process.kill()
        self.algorithm.shutdown()

    # -- one job ------------------------------------------------------------------------------------
    def run(self, job: Job) -> None:
        root = self.store.work_dir(job)
        stream = Streams(self, job)
        process = None
        try:
            process = self.algorithm.take()   # its start overlaps the download
            self._step(job, "Starting", "Preparing the instances for training")
            self._check(job)
            with self.store.lock:
                job.record["TrainingStartTime"] = time.time()
            self._step(job, "Downloading", "Downloading input data")
            self._download(job, root, stream)
            self._check(job)
            self._step(job, "Training", "Training image download completed. Training in progress.")
            handed, process = process, None
            self._train(job, root, stream, handed)
            self._check(job)
            self._step(job, "Uploading", "Uploading generated training model")
            self._upload(job, root)
            self._end(job, stream, "Completed", "Completed", "Training job completed")
        except Stopped as stop:
            if self.closing:     # not a stop anyone asked for: the next start fails the job, saying why
                LOG.info("training job %s ends with the emulator", job.name)
                return
            self._end(job, stream, "Stopped", stop.secondary, stop.message, stopping=True)
        except JobFailed as failure:
            self._end(job, stream, "Failed", "Failed", "Training job failed", str(failure))
        except Exception as exc:  # the emulator's own fault: the job says so, the daemon goes on
            LOG.exception("training job %s failed in the emulator", job.name)
            self._end(job, stream, "Failed", "Failed", "Training job failed",
                      f"InternalServerError: {type(exc).__name__}: {exc}")
        finally:
            stream.flush()
            with self.lock:
                self.processes.pop(job.key, None)
            shutil.rmtree(root, ignore_errors=True)
            if process is not None:          # the job ended before its training: the process is unused
                self.algorithm.give_back(process)
            if not self.closing:
                self.algorithm.replenish()
        try:
            self.store.update(job)
        except OSError as exc:
            LOG.error("training job %s: cannot keep its final record (%s)", job.name, exc)
        LOG.info("training job %s: %s %s", job.name, job.status, job.record.get("FailureReason", ""))

    def _end(self, job: Job, stream: Streams, status: str, secondary: str, message: str,
             reason: str | None = None, stopping: bool = False) -> None:
        """The job's last state, after its log lines are written: a client that sees it ended finds
        the whole log (a short job's lines are written in one batch at its end)."""
        stream.flush()
        with self.store.lock:    # Describe reads the record meanwhile: change it whole
            if stopping:
                job.record["TrainingJobStatus"] = "Stopping"
            job.finish(status, secondary, message, reason)

    def _step(self, job: Job, status: str, message: str) -> None:
        with self.store.lock:
            job.transition(status, message)
            self.store.update(job)

    def _check(self, job: Job) -> None:
        """Raise ``Stopped`` when the job is to end now: a time limit, or StopTrainingJob."""
        stop = self._limit(job)
        if stop is not None:
            raise stop
        if job.stop_requested:
            raise Stopped("Stopped", "Training job stopped by user")

    @staticmethod
    def _limit(job: Job) -> Stopped | None:
        if job.stopped_by is not None:
            return job.stopped_by
        limits = job.record.get("StoppingCondition") or {}
        started = job.record.get("TrainingStartTime")
        runtime = int(limits.get("MaxRuntimeInSeconds", 86400))
        if started is not None and time.time() - started > runtime:
            job.stopped_by = Stopped("MaxRuntimeExceeded", "Training job stopped: it ran longer than "
                                                           f"MaxRuntimeInSeconds ({runtime} s)")
        wait = limits.get("MaxWaitTimeInSeconds")
        if wait is not None and time.time() - job.record["CreationTime"] > int(wait):
            job.stopped_by = Stopped("MaxWaitTimeExceeded", f"Training job stopped: MaxWaitTimeInSeconds ({wait} s) "
                                                            "passed")
        return job.stopped_by

    def _download(self, job: Job, root: Path, stream: Streams) -> None:
        account = job.record["_account"]
        instances = int(job.record["ResourceConfig"].get("InstanceCount", 1))
        channels = {}
        for channel in job.record["InputDataConfig"]:
            name = channel["ChannelName"]
            source = channel["DataSource"]["S3DataSource"]
            bucket, _, prefix = source["S3Uri"][len("s3://"):].partition("/")
            keys = [(k, size) for k, size in (moto_backends.s3_keys(account, bucket, prefix) or [])
                    if not k.endswith("/")]
            if not keys:
                raise JobFailed(f'ClientError: No S3 objects found under S3 URL "{source["S3Uri"]}" given in input '
                                f'data source. Please ensure that the bucket exists in the selected region '
                                f'({job.record["_region"]}), that objects exist under that S3 prefix, and that the '
                                f'role "{job.record["RoleArn"]}" has "s3:ListBucket" permissions on bucket '
                                f'"{bucket}".')
            if sum(size for _, size in keys) > MAX_CHANNEL_BYTES:
                raise JobFailed(f"ClientError: the {name} channel holds more than {MAX_CHANNEL_BYTES / 1e9:.0f} GB, "
                                "more than the local target downloads for one job")
            sharded = source.get("S3DataDistributionType") == "ShardedByS3Key"
            if sharded and len(keys) < instances:
                raise JobFailed(f"ClientError: the {name} channel is ShardedByS3Key over {instances} instances but "
                                f"{source['S3Uri']} holds {len(keys)} objects: each instance needs at least one; "
                                "split the data into at least as many objects as instances")
            for host in range(instances):
                mine = keys[host::instances] if sharded else keys
                stream.platform(host, f"{name} channel ({'ShardedByS3Key' if sharded else 'FullyReplicated'}): "
                                      f"{len(mine)} objects, {sum(s for _, s in mine):,} bytes from {source['S3Uri']}"
                                      + (f": {', '.join(k.rsplit('/', 1)[-1] for k, _ in mine[:20])}"
                                         + (" ..." if len(mine) > 20 else "") if sharded else ""))
            target = root / "input" / "data" / name
            target.mkdir(parents=True, exist_ok=True)
            for number, (key, _) in enumerate(keys):
                self._check(job)
                if moto_backends.copy_s3_object(account, bucket, key,
                                                target / f"{number:06d}-{key.rsplit('/', 1)[-1]}") is None:
                    raise JobFailed(f"ClientError: Data download failed: s3://{bucket}/{key} disappeared")
            channels[name] = {"ContentType": channel.get("ContentType", "text/csv"), "TrainingInputMode": "File",
                              "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
                              "RecordWrapperType": "None"}
        config = root / "input" / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "inputdataconfig.json").write_text(json.dumps(channels))
        (config / "hyperparameters.json").write_text(json.dumps(job.record.get("HyperParameters") or {}))
        hosts = [f"algo-{n + 1}" for n in range(instances)]
        (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": hosts}))

    def _train(self, job: Job, root: Path, stream: Streams, process: subprocess.Popen) -> None:
        with self.lock:
            self.processes[job.key] = process
        processes.start_job(process, root)
        watchdog = threading.Thread(target=self._watch, args=(job, process), daemon=True)
        watchdog.start()
        metrics: dict[str, float] = {}
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            stream.line(line)
            found = linear_learner.parse_metric(line)
            if found:
                metrics[found[0]] = found[1]
        code = process.wait()
        now = time.time()
        with self.store.lock:
            job.record["FinalMetricDataList"] = [{"MetricName": name, "Value": value, "Timestamp": now}
                                                 for name, value in metrics.items()]
        if job.stop_requested or job.stopped_by is not None or code in (-signal.SIGTERM, -signal.SIGKILL):
            self._check(job)
            raise Stopped("Stopped", "Training job stopped")
        if code != 0:
            failure = root / "output" / "failure"
            reason = failure.read_text(errors="replace").strip() if failure.exists() else ""
            raise JobFailed(reason or f"AlgorithmError: the algorithm exited with code {code}")

    def _watch(self, job: Job, process: subprocess.Popen) -> None:
        """Stop the process when the job is stopped or runs out of time: SIGTERM, then SIGKILL."""
        while process.poll() is None:
            if job.stop_requested or self._limit(job) is not None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                return
            time.sleep(0.2)

    def _upload(self, job: Job, root: Path) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path in sorted((root / "model").iterdir()):
                archive.add(path, arcname=path.name, recursive=False)
        output = job.record["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        bucket, _, prefix = output[len("s3://"):].partition("/")
        key = f"{prefix}/{job.name}/output/model.tar.gz" if prefix else f"{job.name}/output/model.tar.gz"
        try:
            self.put_object(job.record["_account"], job.record["_region"], bucket, key, buffer.getvalue(),
                            job.record["_access_key"])
        except OSError as exc:
            raise JobFailed(f"ClientError: Failed to upload the model to s3://{bucket}/{key}: {exc}") from None
        job.record["ModelArtifacts"] = {"S3ModelArtifacts": f"s3://{bucket}/{key}"}


class Streams:
    """The job's log streams (one per instance), written in batches as SageMaker's agent does."""

    def __init__(self, runner: Runner, job: Job) -> None:
        self.runner = runner
        self.job = job
        self.started = int(time.time())
        self.pending: dict[int, list[tuple[int, str]]] = {}

    def name(self, host: int) -> str:
        return f"{self.job.name}/algo-{host + 1}-{self.started}"

    def platform(self, host: int, message: str) -> None:
        self._add(host, f"[platform] algo-{host + 1}: {message}")

    def line(self, message: str) -> None:
        self._add(0, message)

    def _add(self, host: int, message: str) -> None:
        self.pending.setdefault(host, []).append((int(time.time() * 1000), message[:256 * 1024]))
        if len(self.pending[host]) >= LOG_BATCH:
            self.flush()

    def flush(self) -> None:
        account, region = self.job.record["_account"], self.job.record["_region"]
        for host, events in list(self.pending.items()):
            if events:
                try:
                    self.runner.write_logs(account, region, LOG_GROUP, self.name(host), events)
                except Exception:   # logs are a courtesy: the job goes on without them
                    LOG.exception("training job %s: cannot write its log events", self.job.name)
            self.pending[host] = []
