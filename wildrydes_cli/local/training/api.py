"""SageMaker's training-job actions on the local target: Create, Describe, List, Stop.

Why these four here and the rest of SageMaker in moto: they are what a training
job needs, and moto's answer to them is not SageMaker's (``Completed`` at once, no
artifact, no StopTrainingJob). The JSON protocol is SageMaker's own
(``X-Amz-Target: SageMaker.<Action>``, ``application/x-amz-json-1.1``, errors as
``{"__type": code, "message": ...}`` with HTTP 400), so boto3, the AWS CLI and the
SageMaker SDK talk to it unchanged. ``UpdateTrainingJob`` is refused, not passed to
moto, which would change a record it does not hold.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

from wildrydes_cli.local.awsapi import moto_backends
from wildrydes_cli.local.http import HttpRequest, HttpResponse
from wildrydes_cli.local.training import validate
from wildrydes_cli.local.training.jobs import RUNNING, Job, JobStore, arn
from wildrydes_cli.local.training.runner import Runner

LOG = logging.getLogger(__name__)

ACTIONS = ("CreateTrainingJob", "DescribeTrainingJob", "ListTrainingJobs", "StopTrainingJob", "UpdateTrainingJob")
QUOTA_ENV = "WILDRYDES_LOCAL_TRAINING_QUOTA"
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/")
MAX_BODY = 1024 * 1024
MotoCall = Callable[[HttpRequest, int, "tuple[str, int] | None"], HttpResponse]


def _answer(status: int, body: dict) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/x-amz-json-1.1")], json.dumps(body).encode())


def _error(code: str, message: str) -> HttpResponse:
    return _answer(400, {"__type": code, "message": message})


def s3_put_request(bucket: str, key: str, body: bytes, access_key: str, region: str, port: int) -> HttpRequest:
    """A PutObject as a client sends it, signed for the caller's account (moto reads the account from the
    access key; the emulator calls itself, past the SigV4 gate, so no signature is computed)."""
    from urllib.parse import quote

    day = time.strftime("%Y%m%d", time.gmtime())
    headers = [("Host", f"127.0.0.1:{port}"), ("Content-Type", "application/x-gzip"),
               ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
               ("Authorization", f"AWS4-HMAC-SHA256 Credential={access_key}/{day}/{region}/s3/aws4_request, "
                                 "SignedHeaders=host, Signature=0")]
    return HttpRequest("PUT", f"/{bucket}/{quote(key)}", "HTTP/1.1", headers, body)


def quota() -> int:
    text = os.environ.get(QUOTA_ENV, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else validate.DEFAULT_QUOTA


class TrainingJobs:
    """The door for SageMaker calls: training-job actions answered here, every other one by ``moto``."""

    def __init__(self, store: JobStore, runner: Runner, moto: MotoCall) -> None:
        self.store = store
        self.runner = runner
        self.moto = moto

    def call(self, request: HttpRequest, port: int, client: tuple[str, int] | None = None) -> HttpResponse:
        target = request.header("x-amz-target") or ""
        service, _, action = target.partition(".")
        if service != "SageMaker" or action not in ACTIONS:
            return self.moto(request, port, client)
        scope = _SCOPE.search(request.header("authorization") or "")
        if scope is None:
            return _error("MissingAuthenticationToken", "the request is not signed")
        access_key, region = scope.group(1), scope.group(2)
        account = moto_backends.account_of(access_key)
        if len(request.body) > MAX_BODY:
            return _error("ValidationException", f"the request body is larger than {MAX_BODY // 1024} KiB")
        try:
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return _error("SerializationException", f"the request body is not a JSON object ({exc})")
        try:
            handler = getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", action).lower())
            return _answer(200, handler(body, account, region, access_key))
        except validate.Refused as refused:
            return _error(refused.code, refused.message)

    # -- actions ------------------------------------------------------------------------------------
    def _create_training_job(self, body: dict, account: str, region: str, access_key: str) -> dict:
        name = str(body.get("TrainingJobName", ""))
        with self.store.lock:
            exists = self.store.get(account, region, name) is not None
            kind = str((body.get("ResourceConfig") or {}).get("InstanceType", ""))
            in_flight = self.store.in_flight(account, region, kind)
            validate.check_create({**body, "_arn": arn(account, region, name)}, account, region, exists,
                                  in_flight, quota())
            job = Job(self._record(body, account, region, access_key))
            job.transition("Starting", "Launching requested ML instances", job.record["CreationTime"])
            self.store.add(job)     # on disk before the answer: a restart knows the job
        self.runner.start(job)
        LOG.info("training job %s created (%s)", name, kind)
        return {"TrainingJobArn": job.record["TrainingJobArn"]}

    @staticmethod
    def _record(body: dict, account: str, region: str, access_key: str) -> dict[str, Any]:
        now = time.time()
        spec = dict(body.get("AlgorithmSpecification") or {})
        spec.setdefault("TrainingInputMode", "File")
        record: dict[str, Any] = {
            "TrainingJobName": body["TrainingJobName"], "TrainingJobArn": arn(account, region, body["TrainingJobName"]),
            "TrainingJobStatus": "InProgress", "SecondaryStatus": "Starting",
            "HyperParameters": {str(k): str(v) for k, v in (body.get("HyperParameters") or {}).items()},
            "AlgorithmSpecification": spec, "RoleArn": body["RoleArn"],
            "InputDataConfig": body["InputDataConfig"], "OutputDataConfig": body["OutputDataConfig"],
            "ResourceConfig": body["ResourceConfig"],
            "StoppingCondition": body.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400},
            "CreationTime": now, "LastModifiedTime": now, "SecondaryStatusTransitions": [],
            "EnableNetworkIsolation": bool(body.get("EnableNetworkIsolation")),
            "EnableInterContainerTrafficEncryption": bool(body.get("EnableInterContainerTrafficEncryption")),
            "EnableManagedSpotTraining": bool(body.get("EnableManagedSpotTraining")),
            "Tags": body.get("Tags") or [],
            "_account": account, "_region": region, "_access_key": access_key,
        }
        if body.get("CheckpointConfig"):
            record["CheckpointConfig"] = body["CheckpointConfig"]
        return record

    def _job(self, body: dict, account: str, region: str) -> Job:
        job = self.store.get(account, region, str(body.get("TrainingJobName", "")))
        if job is None:
            raise validate.Refused("ValidationException", "Requested resource not found.")
        return job

    def _describe_training_job(self, body: dict, account: str, region: str, access_key: str) -> dict:
        with self.store.lock:
            return json.loads(json.dumps(self._job(body, account, region).describe()))

    def _stop_training_job(self, body: dict, account: str, region: str, access_key: str) -> dict:
        job = self._job(body, account, region)
        with self.store.lock:
            if job.status not in RUNNING:
                raise validate.Refused("ValidationException", f"The request was rejected because the training job "
                                       f"is in status {job.status}.")
            job.record["TrainingJobStatus"] = "Stopping"
            job.transition("Stopping", "Stopping the training job")
            self.store.update(job)
        self.runner.stop(job)
        return {}

    def _update_training_job(self, body: dict, account: str, region: str, access_key: str) -> dict:
        raise validate.Refused("ValidationException", "UpdateTrainingJob is not supported by the local target")

    def _list_training_jobs(self, body: dict, account: str, region: str, access_key: str) -> dict:
        jobs = [job.summary() for job in self.store.of(account, region)]
        contains = body.get("NameContains")
        status = body.get("StatusEquals")
        after, before = body.get("CreationTimeAfter"), body.get("CreationTimeBefore")
        jobs = [j for j in jobs if (not contains or contains in j["TrainingJobName"])
                and (not status or j["TrainingJobStatus"] == status)
                and (after is None or j["CreationTime"] > float(after))
                and (before is None or j["CreationTime"] < float(before))]
        by = {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"}.get(
            body.get("SortBy", "CreationTime"), "CreationTime")
        jobs.sort(key=lambda j: j[by], reverse=body.get("SortOrder", "Ascending") == "Descending")
        start = int(body.get("NextToken") or 0) if str(body.get("NextToken") or "0").isdigit() else 0
        size = max(1, min(100, int(body.get("MaxResults") or 100)))
        page = jobs[start:start + size]
        answer: dict[str, Any] = {"TrainingJobSummaries": page}
        if start + size < len(jobs):
            answer["NextToken"] = str(start + size)
        return answer
