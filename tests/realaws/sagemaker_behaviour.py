"""Real SageMaker training-job behaviour that moto lacks, for ``AwsBehaviour`` (mixed into it).

moto's CreateTrainingJob stores the request and its DescribeTrainingJob answers
``Completed`` at once with a ModelArtifacts path where nothing was written; it has
no StopTrainingJob. SageMaker (API Reference: DescribeTrainingJob, StopTrainingJob;
Developer Guide: "Managed Spot Training", "CreateTrainingJob API: Execution Role
Permissions") does this instead, and so does this layer:

1. A job is ``InProgress`` for a while, its ``SecondaryStatus`` moving through
   Starting, Downloading, Training, Uploading to Completed, each change one
   ``SecondaryStatusTransitions`` entry; TrainingStartTime/EndTime, TrainingTimeInSeconds
   and BillableTimeInSeconds appear when it ends; ``FinalMetricDataList`` holds the
   algorithm's final metrics; the model exists at ``<S3OutputPath>/<job>/output/model.tar.gz``
   only once the job is Completed (written here into moto's S3: a real linear-learner
   archive over the workshop's features).
2. A failure: ``Failed`` with a ``FailureReason`` (``fail_job``).
3. A spot interruption (managed spot training): SecondaryStatus ``Interrupted`` and
   then ``Training`` again; BillableTimeInSeconds less than TrainingTimeInSeconds (the
   savings) (``interrupt_spot``).
4. StopTrainingJob: ``Stopping``, then ``Stopped``, no model.
5. CreateTrainingJob by a caller without ``iam:PassRole`` on the role:
   AccessDeniedException "... is not authorized to perform: iam:PassRole on resource: ..."
   (``deny_pass_role``); past the account's quota: ResourceLimitExceeded (``quota``).
6. The job reads its channels and writes its model as its execution role (Developer Guide,
   "CreateTrainingJob API: Execution Role Permissions"): a role whose policies (inline and
   attached, evaluated by the local target's IAM evaluator) do not allow s3:ListBucket on a
   channel's prefix and s3:GetObject on its objects fails the job at Downloading, "ClientError:
   Data download failed:Unable to download object s3://... (AccessDenied: Access Denied)" (the
   form of aws/amazon-sagemaker-examples#4384); one that may not s3:PutObject the model fails at
   Uploading. In an SSE-KMS bucket reading also needs kms:Decrypt on an object's customer managed
   key, and writing kms:GenerateDataKey on the bucket's default key (S3 User Guide, "Using
   server-side encryption with AWS KMS keys"). CreateTrainingJob itself succeeds: SageMaker does
   not check this up front.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from answers import error, response

STEPS = (("Starting", "Preparing the instances for training"), ("Downloading", "Downloading input data"),
         ("Training", "Training image download completed. Training in progress."),
         ("Uploading", "Uploading generated training model"), ("Completed", "Training job completed"))


@dataclass
class _Job:
    params: dict
    polls: int = 0
    stop: bool = False
    fail: str | None = None
    fail_at: str = "Training"      # the secondary status the job fails after
    interrupt: bool = False
    statuses: list[str] = field(default_factory=list)


class SageMakerBehaviour:
    """Scripted training jobs (see the module docstring); state lives beside moto's."""

    polls_per_step = 1
    region: str

    def _sagemaker_init(self) -> None:
        self.training_jobs: dict[str, _Job] = {}
        self.pass_role_denied = False
        self.quota_left: int | None = None
        self.fail_next_job: str | None = None
        self.interrupt_next_job = False

    # -- scripting API ------------------------------------------------------------------
    def deny_pass_role(self) -> None:
        self.pass_role_denied = True

    def fail_job(self, reason: str) -> None:
        self.fail_next_job = reason

    def interrupt_spot(self) -> None:
        self.interrupt_next_job = True

    def quota(self, jobs: int) -> None:
        """At most ``jobs`` jobs in flight; another CreateTrainingJob is ResourceLimitExceeded."""
        self.quota_left = jobs

    def jobs_in_flight(self) -> int:
        return sum(1 for job in self.training_jobs.values() if not job.statuses or job.statuses[-1] not in
                   ("Completed", "Failed", "Stopped", "MaxRuntimeExceeded"))

    # -- handlers -------------------------------------------------------------------------
    def _before_sagemaker(self, operation: str, params: dict) -> tuple | None:
        if operation == "CreateTrainingJob":
            if self.pass_role_denied:
                return error(400, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/workshop is not "
                             f"authorized to perform: iam:PassRole on resource: {params.get('RoleArn')}")
            if self.quota_left is not None and self.jobs_in_flight() >= self.quota_left:
                kind = params["ResourceConfig"]["InstanceType"]
                return error(400, "ResourceLimitExceeded", f"The account-level service limit '{kind} for training "
                             f"job usage' is {self.quota_left} Instances, with current utilization of "
                             f"{self.jobs_in_flight()} Instances and a request delta of 1 Instances.")
        if operation == "StopTrainingJob":
            job = self.training_jobs.get(params["TrainingJobName"])
            if job is None:
                return error(400, "ValidationException", "Requested resource not found.")
            job.stop = True
            return response(200), {"ResponseMetadata": {"HTTPStatusCode": 200}}
        return None

    def _after_sagemaker(self, operation: str, params: dict, parsed: dict, http: Any) -> None:
        if http.status_code >= 300:
            return
        if operation == "CreateTrainingJob":
            job = _Job(dict(params), fail=self.fail_next_job, interrupt=self.interrupt_next_job)
            self.fail_next_job, self.interrupt_next_job = None, False
            denied = self._role_denies(params)
            if denied is not None:
                job.fail_at, job.fail = denied
            self.training_jobs[params["TrainingJobName"]] = job
        elif operation == "DescribeTrainingJob":
            job = self.training_jobs.get(params["TrainingJobName"])
            if job is not None:
                self._advance(job, parsed)
        elif operation == "ListTrainingJobs":
            for item in parsed.get("TrainingJobSummaries", []):
                job = self.training_jobs.get(item["TrainingJobName"])
                if job is not None and job.statuses:
                    item["TrainingJobStatus"] = _status(job.statuses[-1])

    def _advance(self, job: _Job, parsed: dict) -> None:
        job.polls += 1
        last = job.statuses[-1] if job.statuses else None
        if last in ("Completed", "Failed", "Stopped"):
            pass
        elif job.stop:
            job.statuses += ["Stopping", "Stopped"] if last != "Stopping" else ["Stopped"]
        elif job.fail and last == job.fail_at:
            job.statuses.append("Failed")
        else:
            plan = [step for step, _ in STEPS]
            if job.interrupt:
                plan = plan[:3] + ["Interrupted", "Training"] + plan[3:]
            wanted = min(len(plan), 1 + job.polls // self.polls_per_step)
            job.statuses = plan[:wanted]
        status = job.statuses[-1]
        created = parsed.get("CreationTime") or datetime.now(UTC)
        parsed["TrainingJobStatus"] = _status(status)
        parsed["SecondaryStatus"] = status
        parsed["SecondaryStatusTransitions"] = [
            {"Status": s, "StartTime": created + timedelta(minutes=n), "StatusMessage": dict(STEPS).get(s, s)}
            for n, s in enumerate(job.statuses)]
        for key in ("ModelArtifacts", "FinalMetricDataList", "TrainingStartTime", "TrainingEndTime",
                    "TrainingTimeInSeconds", "BillableTimeInSeconds", "FailureReason"):
            parsed.pop(key, None)
        if status in ("Completed", "Failed", "Stopped"):
            seconds = 60 * len(job.statuses)
            parsed.update(TrainingStartTime=created + timedelta(minutes=1),
                          TrainingEndTime=created + timedelta(seconds=60 + seconds),
                          TrainingTimeInSeconds=seconds,
                          BillableTimeInSeconds=seconds // 3 if job.interrupt else seconds)
        if status == "Failed":
            parsed["FailureReason"] = job.fail
        if status == "Completed":
            parsed["FinalMetricDataList"] = [
                {"MetricName": "validation:binary_classification_accuracy", "Value": 0.998, "Timestamp": created},
                {"MetricName": "validation:roc_auc_score", "Value": 0.9999, "Timestamp": created},
                {"MetricName": "validation:objective_loss", "Value": 0.04, "Timestamp": created}]
            parsed["ModelArtifacts"] = {"S3ModelArtifacts": self._write_model(job.params)}

    def _role_denies(self, params: dict) -> tuple[str, str] | None:
        """(where the job fails, its FailureReason) when its role may not read a channel or write the model."""
        from wildrydes_cli.local.awsapi import iam_policy

        policies = self._role_policies(params["RoleArn"])

        def may(action: str, resource: str, **keys: str) -> bool:
            request = iam_policy.Request(action, resource, iam_policy.context(**keys))
            return iam_policy.evaluate(policies, request).allowed

        s3 = self.raw("s3")   # type: ignore[attr-defined]
        for channel in params["InputDataConfig"]:
            bucket, _, prefix = channel["DataSource"]["S3DataSource"]["S3Uri"][len("s3://"):].partition("/")
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
            if not may("s3:ListBucket", f"arn:aws:s3:::{bucket}", **{"s3:prefix": prefix}):
                return "Downloading", (f"ClientError: Data download failed:Unable to list s3://{bucket}/{prefix} "
                                       "(AccessDenied: Access Denied)")
            for item in listed:
                encrypted = self._customer_key(s3.head_object(Bucket=bucket, Key=item["Key"]).get("SSEKMSKeyId"))
                if not may("s3:GetObject", f"arn:aws:s3:::{bucket}/{item['Key']}") or (
                        encrypted and not may("kms:Decrypt", encrypted)):
                    return "Downloading", (f"ClientError: Data download failed:Unable to download object "
                                           f"s3://{bucket}/{item['Key']} (AccessDenied: Access Denied)")
        output = params["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        bucket, _, prefix = output[len("s3://"):].partition("/")
        key = "/".join(p for p in (prefix, params["TrainingJobName"], "output", "model.tar.gz") if p)
        try:
            default = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0][
                "ApplyServerSideEncryptionByDefault"]
        except Exception:   # noqa: BLE001 - no default encryption configured
            default = {}
        encrypting = self._customer_key(default.get("KMSMasterKeyID"))
        if not may("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}") or (
                encrypting and not may("kms:GenerateDataKey", encrypting)):
            return "Uploading", (f"ClientError: Failed to upload the model to s3://{bucket}/{key} "
                                 "(AccessDenied: Access Denied)")
        return None

    def _customer_key(self, key_id: str | None) -> str | None:
        """The ARN of a customer managed KMS key S3 names (alias, id or ARN); None for none or an AWS managed
        one (aws/s3's key policy lets S3 use it for any principal of the account: S3 User Guide, "Using
        server-side encryption with AWS KMS keys")."""
        if not key_id:
            return None
        metadata = self.raw("kms").describe_key(KeyId=key_id)["KeyMetadata"]   # type: ignore[attr-defined]
        return None if metadata.get("KeyManager") == "AWS" else metadata["Arn"]

    def _role_policies(self, arn: str) -> list:
        """The role's inline and attached policies, parsed. Read from moto's IAM backend (as the local target
        reads them): through the API, moto gives a policy CloudFormation made as a Python repr, not JSON."""
        from wildrydes_cli.local.awsapi import iam_policy
        from wildrydes_cli.local.awsapi.moto_backends.iam import role_record

        role = role_record(arn)
        if role is None:
            return []
        return [iam_policy.parse(text, name) for name, text in (*role.inline, *role.managed)]

    def _write_model(self, params: dict) -> str:
        from emulated import workshop_model
        output = params["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        bucket, _, prefix = output[len("s3://"):].partition("/")
        key = "/".join(p for p in (prefix, params["TrainingJobName"], "output", "model.tar.gz") if p)
        self.raw("s3").put_object(Bucket=bucket, Key=key, Body=workshop_model(scale=1.0))   # type: ignore[attr-defined]
        return f"s3://{bucket}/{key}"


def _status(secondary: str) -> str:
    return {"Completed": "Completed", "Failed": "Failed", "Stopped": "Stopped", "Stopping": "Stopping"}.get(
        secondary, "InProgress")
