"""``wildrydes package``: the function's zip in the data bucket, for the workshop's steps done by hand.

Why: the template (``function.yml``, the seed's ``4_Lambda_function.yml``) takes the
code from the bucket (``CodeKey``), and only ``deploy`` used to build and upload it,
so the AWS CLI path of the workshop had no code to point at. This builds the same zip
``deploy`` builds (``packaging.build``, content-addressed: an unchanged build is not
uploaded again) and answers with its key, the template's path and the parameters the
template needs for it.
"""
from __future__ import annotations

import logging
from importlib import resources

from wildrydes_cli.aws import checks
from wildrydes_cli.aws.client import Aws
from wildrydes_cli.aws.data_bucket import find_data_bucket
from wildrydes_cli.deploy import packaging, stacks
from wildrydes_cli.errors import NotFoundError
from wildrydes_cli.progress import Progress
from wildrydes_cli.results import PackageResult
from wildrydes_cli.settings import Settings

LOG = logging.getLogger(__name__)


def template_path(name: str = stacks.FUNCTION) -> str:
    """Where this install keeps the template (for ``aws cloudformation create-stack --template-body file://...``)."""
    return str(resources.files("wildrydes_cli.templates").joinpath(name))


def package(settings: Settings, aws: Aws, engine: str, bucket: str | None, console: Progress) -> PackageResult:
    """Build the engine's zip and put it under ``code/`` in the data bucket; the key goes into CodeKey."""
    bucket = bucket or find_data_bucket(settings, aws)
    if bucket is None or not aws.bucket_exists(bucket):
        where = f"Bucket {bucket} does not exist" if bucket else "No data bucket is known"
        raise NotFoundError(f"{where}: pass --bucket NAME, or run `wildrydes bootstrap` to create stack "
                            f"{settings.prereq_stack}.")
    checks.check_bucket_region(bucket, aws.bucket_region(bucket), settings.region)   # Lambda's code: same region
    runtime = packaging.RUNTIMES[engine]
    with console.step(f"Package the {engine} function for {runtime}") as note:
        built = packaging.build(engine, settings.state_dir / "packages")
        note["detail"] = f"{built.size / 1024:.0f} KB zip, {len(built.files)} files"
    with console.step(f"Upload s3://{bucket}/{built.key}") as note:
        key, uploaded = packaging.upload(aws, bucket, built)
        note["detail"] = "uploaded" if uploaded else "already there"
    parameters = {"DataBucket": bucket, "CodeKey": key, "Engine": engine, "Runtime": runtime,
                  "MemorySize": str(packaging.MEMORY_MB[engine])}
    if aws.target.execute_api_endpoint:
        parameters["ExecuteApiEndpoint"] = aws.target.execute_api_endpoint
    return PackageResult(bucket=bucket, code_key=key, engine=engine, runtime=runtime, bytes=built.size,
                         uploaded=uploaded, template=template_path(), parameters=parameters)
