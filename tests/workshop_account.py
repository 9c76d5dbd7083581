"""The accounts a workshop participant brings, built from the workshop's own templates.

tests/fixtures/workshop/ holds the workshop's templates and function as published. A participant
who did the workshop by hand has, in one region:

* ``invoked``: module 1's complete stack ``wildrydes-ml-mod1-3`` (its data bucket and
  DataProcessingExecutionRole), a SageMaker model in that bucket, the participant's own code zip
  (``code/inferencefunction.zip``, the workshop's index.py) and stack ``wildrydes-ml-mod3-4`` from
  ``3_lambda_function.yml``; its function was invoked once, so Lambda made its log group
  ``/aws/lambda/<function>``;
* ``never-invoked``: the same without that log group;
* ``break-glass``: module 1's stack, the model and code zip, and the seed's break-glass stack
  ``wildrydes-ml-mod0-4`` from the complete template (``3_inference_complete.yml``).

``build`` makes one with any boto3 client factory: moto in-process (functional and real-AWS-layer
tests) or the local target through its endpoint and credentials (end-to-end tests).
"""
from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

WORKSHOP = Path(__file__).resolve().parent / "fixtures" / "workshop"
STATES = ("invoked", "never-invoked", "break-glass")
MODULE1_STACK = "wildrydes-ml-mod1-3"
# The participant's SageMaker model and code, at the keys the workshop uses.
MODEL_KEY = "linear-learner-2019-05-10-00-40-46-627/output/model.tar.gz"
CODE_KEY = "code/inferencefunction.zip"
# A 6-feature classifier in the workshop's training order (distance, healthpoints, magicpoints, TMIN, TMAX, PRCP).
WEIGHTS = (0.02, -0.001, 0.0004, 0.003, -0.002, 0.01)
BIAS = -1.5


@dataclass(frozen=True)
class Account:
    state: str
    stack: str                 # the inference stack deploy takes over
    bucket: str
    role: str
    function: str
    log_group: str | None      # Lambda's own, when the function was invoked


def participant_model() -> bytes:
    from wildrydes_cli.training.sagemaker_archive import write_model_archive
    return write_model_archive(list(WEIGHTS), BIAS, "binary_classifier", 0.5)


def expected_score(ride: dict) -> float:
    import math
    values = [ride[k] for k in ("distance", "healthpoints", "magicpoints", "TMIN", "TMAX", "PRCP")]
    return 1 / (1 + math.exp(-(sum(w * x for w, x in zip(WEIGHTS, values)) + BIAS)))


def participant_code() -> bytes:
    """The workshop's function zipped as its instructions say: index.py at the root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", (WORKSHOP / "index.py").read_text())
    return buffer.getvalue()


def settled(cfn: Any, name: str, sleep: Callable[[float], None] = time.sleep, polls: int = 60) -> dict:
    """The stack once no operation runs on it (CloudFormation is asynchronous; moto is not)."""
    for _ in range(polls):
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        sleep(0.5)
    raise AssertionError(f"stack {name} still {stack['StackStatus']}")


def _physical(cfn: Any, stack: str, logical: str) -> str:
    """The workshop's Step 1: describe-stack-resources --logical-resource-id."""
    return cfn.describe_stack_resources(StackName=stack, LogicalResourceId=logical)["StackResources"][0][
        "PhysicalResourceId"]


def build(client: Callable[[str], Any], state: str, sleep: Callable[[float], None] = time.sleep) -> Account:
    """Make the participant's account ``state`` (one of STATES); module 1's stack is reused when there."""
    assert state in STATES, state
    cfn, s3 = client("cloudformation"), client("s3")
    names = [s["StackName"] for s in cfn.describe_stacks()["Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"]
    if MODULE1_STACK not in names:
        cfn.create_stack(StackName=MODULE1_STACK, Capabilities=["CAPABILITY_NAMED_IAM"],
                         TemplateBody=(WORKSHOP / "1_data_processing_complete.yml").read_text())
    assert settled(cfn, MODULE1_STACK, sleep)["StackStatus"] == "CREATE_COMPLETE"
    bucket = _physical(cfn, MODULE1_STACK, "DataBucket")
    role = _physical(cfn, MODULE1_STACK, "DataProcessingExecutionRole")
    s3.put_object(Bucket=bucket, Key=MODEL_KEY, Body=participant_model())
    s3.put_object(Bucket=bucket, Key=CODE_KEY, Body=participant_code())
    params = [{"ParameterKey": "DataBucket", "ParameterValue": bucket},
              {"ParameterKey": "DataProcessingExecutionRoleName", "ParameterValue": role}]
    if state == "break-glass":
        stack, template = "wildrydes-ml-mod0-4", "3_inference_complete.yml"
        params.append({"ParameterKey": "TrainedModelPath", "ParameterValue": MODEL_KEY})
    else:
        stack, template = "wildrydes-ml-mod3-4", "3_lambda_function.yml"
    cfn.create_stack(StackName=stack, Parameters=params, Capabilities=["CAPABILITY_NAMED_IAM"],
                     TemplateBody=(WORKSHOP / template).read_text())
    assert settled(cfn, stack, sleep)["StackStatus"] == "CREATE_COMPLETE"
    function = _physical(cfn, stack, "ModelInferenceFunction")
    log_group = None
    if state == "invoked":   # what Lambda does on the function's first invocation
        log_group = f"/aws/lambda/{function}"
        client("logs").create_log_group(logGroupName=log_group)
    return Account(state, stack, bucket, role, function, log_group)
