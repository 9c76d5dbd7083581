"""The contract with moto's internals: every read the local target makes, against moto as installed.

If a moto upgrade renames a backend or an attribute, these fail here, naming
the read that broke, instead of the emulator answering 403 or losing a function.
"""
from __future__ import annotations

import io
import zipfile

import boto3
import pytest
from moto import mock_aws

from wildrydes_cli.local.awsapi import moto_backends

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


@pytest.fixture
def made():
    """An API (root ANY -> AWS_PROXY, /breeds/{breed} with no integration, stage prod with a variable),
    a function created from an S3 object, all made through the public API as deploy makes them."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="code")
        code = _zip()
        s3.put_object(Bucket="code", Key="fn.zip", Body=code)
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        fn = lam.create_function(FunctionName="fn", Runtime="python3.13", Role=role, Handler="index.handler",
                                 Code={"S3Bucket": "code", "S3Key": "fn.zip"}, Timeout=7, MemorySize=256,
                                 Environment={"Variables": {"MODEL_PATH": "m.tar.gz"}})
        gw = boto3.client("apigateway", region_name=REGION)
        api_id = gw.create_rest_api(name="api")["id"]
        root = next(r["id"] for r in gw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"
        gw.put_method(restApiId=api_id, resourceId=root, httpMethod="ANY", authorizationType="NONE")
        gw.put_integration(restApiId=api_id, resourceId=root, httpMethod="ANY", type="AWS_PROXY",
                           integrationHttpMethod="POST", uri=uri)
        breeds = gw.create_resource(restApiId=api_id, parentId=root, pathPart="breeds")["id"]
        breed = gw.create_resource(restApiId=api_id, parentId=breeds, pathPart="{breed}")["id"]
        gw.put_method(restApiId=api_id, resourceId=breed, httpMethod="GET", authorizationType="NONE")
        gw.create_deployment(restApiId=api_id, stageName="prod", variables={"colour": "blue"})
        yield {"api_id": api_id, "root": root, "breeds": breeds, "breed": breed, "uri": uri, "code": code,
               "function": fn}


def test_rest_api_is_found_by_id_and_by_location(made):
    account_id, region, api = moto_backends.find_rest_api(made["api_id"])
    assert (account_id, region) == (ACCOUNT, REGION)
    assert moto_backends.rest_api_in(ACCOUNT, REGION, made["api_id"]) is api
    assert moto_backends.find_rest_api("nope") is None
    assert moto_backends.rest_api_in(ACCOUNT, "eu-west-3", made["api_id"]) is None


def test_resources_methods_and_integrations(made):
    api = moto_backends.find_rest_api(made["api_id"])[2]
    resources = {r.resource_id: r for r in moto_backends.api_resources(api)}
    assert set(resources) == {made["root"], made["breeds"], made["breed"]}
    assert resources[made["root"]].parent_id is None
    assert resources[made["root"]].methods == {"ANY": ("AWS_PROXY", made["uri"], False, "NONE")}
    assert (resources[made["breed"]].parent_id, resources[made["breed"]].path_part) == (made["breeds"], "{breed}")
    assert resources[made["breed"]].methods == {"GET": None}   # a method without an integration


def test_stage_variables(made):
    api = moto_backends.find_rest_api(made["api_id"])[2]
    assert moto_backends.stage_variables(api, "prod") == {"colour": "blue"}
    assert moto_backends.stage_variables(api, "dev") is None


def test_lambda_function_configuration_and_code(made):
    arn = made["function"]["FunctionArn"]
    fn = moto_backends.lambda_function(arn)
    config = moto_backends.function_config(fn)
    assert (config.arn, config.name, config.account_id, config.region) == (arn, "fn", ACCOUNT, REGION)
    assert (config.handler, config.runtime, config.timeout, config.memory_size) == \
        ("index.handler", "python3.13", 7.0, 256)
    assert dict(config.environment) == {"MODEL_PATH": "m.tar.gz"}
    assert config.code_sha256 == made["function"]["CodeSha256"]
    assert config.last_modified and (config.code_bucket, config.code_key) == ("code", "fn.zip")
    assert moto_backends.function_code_snapshot(fn) == made["code"]
    assert moto_backends.s3_object(ACCOUNT, "code", "fn.zip") == made["code"]
    assert moto_backends.s3_object(ACCOUNT, "code", "missing.zip") is None
    assert moto_backends.s3_object(ACCOUNT, "no-bucket", "fn.zip") is None
    assert moto_backends.lambda_function(arn.replace(":fn", ":other")) is None
    assert moto_backends.lambda_function("not-an-arn") is None


def test_function_version_moves_with_an_update(made):
    arn = made["function"]["FunctionArn"]
    before = moto_backends.function_version(moto_backends.lambda_function(arn))
    boto3.client("lambda", region_name=REGION).update_function_configuration(
        FunctionName="fn", Environment={"Variables": {"MODEL_PATH": "newer.tar.gz"}})
    fn = moto_backends.lambda_function(arn)
    assert moto_backends.function_version(fn) != before
    assert dict(moto_backends.function_config(fn).environment) == {"MODEL_PATH": "newer.tar.gz"}


# --- writes: the Lambda runner's log events and the journal's replay ----------------------

def test_log_events_are_appended_and_read_back_through_the_public_api():
    import time
    now = int(time.time() * 1000)   # CloudWatch (and moto) drop events older than 14 days
    with mock_aws():
        group = "/aws/lambda/fn"
        moto_backends.append_log_events(ACCOUNT, REGION, group, "s", [{"timestamp": now, "message": "a"}], keep=2)
        moto_backends.append_log_events(ACCOUNT, REGION, group, "s", [{"timestamp": now + 1, "message": "b"},
                                                                       {"timestamp": now + 2, "message": "c"}], keep=2)
        events = boto3.client("logs", region_name=REGION).get_log_events(logGroupName=group, logStreamName="s")
        assert [e["message"] for e in events["events"]] == ["b", "c"]   # the oldest dropped past ``keep``


def test_seeding_makes_moto_ids_repeat():
    with mock_aws():
        gateway = boto3.client("apigateway", region_name=REGION)
        moto_backends.seed_ids(42)
        first = gateway.create_rest_api(name="a")["id"]
        gateway.delete_rest_api(restApiId=first)
        moto_backends.seed_ids(42)
        assert gateway.create_rest_api(name="a")["id"] == first


def test_a_plain_put_goes_straight_into_the_s3_backend():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="models")
        assert moto_backends.put_s3_object("AKIAEXAMPLE", REGION, "models", "k/model.tar.gz", b"bytes",
                                           {"Content-Type": "application/x-gzip"}, None, None)
        got = s3.get_object(Bucket="models", Key="k/model.tar.gz")
        assert got["Body"].read() == b"bytes" and got["ContentType"] == "application/x-gzip"
        assert not moto_backends.put_s3_object("AKIAEXAMPLE", REGION, "no-such-bucket", "k", b"", {}, None, None)


def test_an_object_is_copied_to_a_file_whole_in_pieces(tmp_path):
    """A training job's channel object, larger than moto keeps in memory and than one piece of the copy."""
    import os

    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="channels")
        body = os.urandom((6 << 20) + 12345)
        s3.put_object(Bucket="channels", Key="train/part-0.pbr", Body=body)
        account = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
        out = tmp_path / "part-0.pbr"
        assert moto_backends.copy_s3_object(account, "channels", "train/part-0.pbr", out) == len(body)
        assert out.read_bytes() == body
        assert s3.get_object(Bucket="channels", Key="train/part-0.pbr")["Body"].read() == body   # still whole
        assert moto_backends.copy_s3_object(account, "channels", "train/gone.pbr", tmp_path / "gone") is None
        assert moto_backends.copy_s3_object(account, "no-such-bucket", "k", tmp_path / "gone") is None
        assert not (tmp_path / "gone").exists()


def test_a_multipart_upload_is_found_and_renamed_through_the_public_api():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="code")
        upload = s3.create_multipart_upload(Bucket="code", Key="big")["UploadId"]
        assert moto_backends.s3_upload_exists("AKIAEXAMPLE", REGION, "code", upload) is True
        assert moto_backends.s3_upload_exists("AKIAEXAMPLE", REGION, "code", "other") is False
        assert moto_backends.s3_upload_exists("AKIAEXAMPLE", REGION, "no-such-bucket", upload) is None
        assert moto_backends.rename_s3_upload("AKIAEXAMPLE", REGION, "code", upload, "kept-id") is True
        assert moto_backends.rename_s3_upload("AKIAEXAMPLE", REGION, "code", upload, "x") is False
        assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="code")["Uploads"]] == ["kept-id"]
        etag = s3.upload_part(Bucket="code", Key="big", UploadId="kept-id", PartNumber=1, Body=b"x")["ETag"]
        s3.complete_multipart_upload(Bucket="code", Key="big", UploadId="kept-id",
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        assert s3.get_object(Bucket="code", Key="big")["Body"].read() == b"x"


def test_log_groups_lists_every_group_moto_holds():
    with mock_aws():
        boto3.client("logs", region_name=REGION).create_log_group(logGroupName="/aws/lambda/fn")
        boto3.client("logs", region_name="eu-west-1").create_log_group(logGroupName="/other")
        assert {("123456789012", REGION, "/aws/lambda/fn"), ("123456789012", "eu-west-1", "/other")} <= \
            set(moto_backends.log_groups())


# --- memory: moto's registry of every model object (the daemon makes it weak) --------------

@pytest.fixture
def weak_tracking():
    """``track_instances_weakly`` for one test; moto's own ``__new__`` put back afterwards."""
    from moto.core.common_models import BaseModel

    original = BaseModel.__dict__["__new__"]
    moto_backends.track_instances_weakly()
    try:
        yield
    finally:
        BaseModel.__new__ = original
        classes = list(BaseModel.__subclasses__())
        while classes:
            cls = classes.pop()
            classes.extend(cls.__subclasses__())
            tracked = cls.__dict__.get("instances_tracked")
            if isinstance(tracked, moto_backends.WeakInstances):
                cls.instances_tracked = list(tracked)


def test_moto_still_tracks_every_model_object_strongly():
    """What the daemon works around: if this fails, moto changed how it tracks instances, and
    ``track_instances_weakly`` must be checked against the new code (it may no longer be needed)."""
    import inspect
    import weakref

    from moto.core.common_models import BaseModel
    from moto.logs.models import LogEvent

    assert "cls.instances_tracked.append(instance)" in inspect.getsource(BaseModel.__new__)
    event = LogEvent(0, {"timestamp": 0, "message": "m"})
    alive = weakref.ref(event)
    assert any(tracked is event for tracked in LogEvent.instances_tracked)
    del event
    assert alive() is not None   # held by moto's list: never freed


def test_weak_tracking_frees_trimmed_log_events_and_replaced_objects(weak_tracking):
    import gc
    import time
    import weakref

    from moto.logs.models import LogEvent
    from moto.s3.models import FakeKey, s3_backends

    now = int(time.time() * 1000)
    with mock_aws():
        gc.disable()   # freed by reference counting, not by a collection that may come late
        try:
            moto_backends.append_log_events(ACCOUNT, REGION, "/aws/lambda/fn", "s",
                                            [{"timestamp": now, "message": str(i)} for i in range(50)], keep=10)
            assert len(list(LogEvent.instances_tracked)) == 10   # the 40 trimmed events are gone
            s3 = boto3.client("s3", region_name=REGION)
            s3.create_bucket(Bucket="models")
            s3.put_object(Bucket="models", Key="k", Body=b"first")
            first = weakref.ref(s3_backends[ACCOUNT]["aws"].buckets["models"].keys["k"])
            s3.put_object(Bucket="models", Key="k", Body=b"second")
            assert first() is None
            assert [key.value for key in FakeKey.instances_tracked] == [b"second"]
        finally:
            gc.enable()
        assert s3.get_object(Bucket="models", Key="k")["Body"].read() == b"second"


def test_weak_tracking_keeps_what_moto_uses_the_registry_for(weak_tracking):
    """moto's dashboard (/moto-api/data.json) lists live objects, and a reset still disposes S3 buffers."""
    from moto.core.model_instances import model_data, reset_model_data
    from moto.s3.models import FakeKey, s3_backends

    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="models")
        s3.put_object(Bucket="models", Key="k", Body=b"kept")
        listed = [key for key in model_data["s3"]["FakeKey"].instances_tracked]
        assert [key.name for key in listed] == ["k"]
        reset_model_data()   # moto puts plain lists back ...
        s3.put_object(Bucket="models", Key="j", Body=b"new")
        assert isinstance(FakeKey.instances_tracked, moto_backends.WeakInstances)   # ... made weak again on use
        key = s3_backends[ACCOUNT]["aws"].buckets["models"].keys["j"]
        s3_backends[ACCOUNT]["aws"].reset()
        assert key.disposed


def test_a_group_keeps_its_most_recently_written_streams():
    import time
    now = int(time.time() * 1000)
    with mock_aws():
        group = "/aws/lambda/fn"
        for name in ("a", "b", "c", "d"):
            moto_backends.append_log_events(ACCOUNT, REGION, group, name, [{"timestamp": now, "message": name}],
                                            keep=5, keep_streams=3)
            time.sleep(0.002)   # distinct ingestion times
        moto_backends.append_log_events(ACCOUNT, REGION, group, "b", [{"timestamp": now, "message": "b2"}],
                                        keep=5, keep_streams=3)
        moto_backends.append_log_events(ACCOUNT, REGION, group, "e", [{"timestamp": now, "message": "e"}],
                                        keep=5, keep_streams=3)
        streams = boto3.client("logs", region_name=REGION).describe_log_streams(logGroupName=group)["logStreams"]
        assert sorted(s["logStreamName"] for s in streams) == ["b", "d", "e"]   # a, then c, written least recently


def test_the_log_bounds_stated_in_the_docs():
    """docs/logs.md: 5,000 events a stream, 16 streams a group, at most 80,000 events a group."""
    from pathlib import Path

    from wildrydes_cli.local.invoke.lambda_log_lines import LogSink

    assert (LogSink.MAX_EVENTS_PER_STREAM, moto_backends.MAX_STREAMS_PER_GROUP) == (5_000, 16)
    docs = (Path(__file__).resolve().parents[3] / "docs" / "logs.md").read_text()
    assert "its newest 5,000 events and each log group its 16 most recently written" in docs
    assert "at most 80,000 events" in docs
    import time
    now = int(time.time() * 1000)
    with mock_aws():
        for i in range(20):
            moto_backends.append_log_events(ACCOUNT, REGION, "/aws/lambda/fn", f"s{i}",
                                            [{"timestamp": now, "message": "m"}], keep=5)
        groups = boto3.client("logs", region_name=REGION).describe_log_streams(logGroupName="/aws/lambda/fn")
        assert len(groups["logStreams"]) == 16   # the default bound


def test_stack_facts_and_a_failed_operation_recorded_as_cloudformation_shows_it():
    template = ('{"Parameters": {"N": {"Type": "String"}}, '
                '"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "N"}}}}}')
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName="s", TemplateBody=template, Parameters=[{"ParameterKey": "N", "ParameterValue": "t"}])
        facts = moto_backends.stack_facts(ACCOUNT, REGION, "s")
        assert facts is not None and facts.status == "CREATE_COMPLETE" and facts.parameters == {"N": "t"}
        assert facts.resources == {"T": f"arn:aws:sns:{REGION}:{ACCOUNT}:t"} and facts.template == template
        assert moto_backends.stack_facts(ACCOUNT, REGION, "nope") is None
        assert moto_backends.parse_template("Resources:\n  L:\n    Type: X\n    Properties: {N: !Sub '${A}'}\n") == {
            "Resources": {"L": {"Type": "X", "Properties": {"N": {"Fn::Sub": "${A}"}}}}}

        moto_backends.fail_stack_operation(ACCOUNT, REGION, "s", template, False, ("L", "AWS::Logs::LogGroup",
                                                                                   "/g", "already exists"))
        stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
        assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        newest_first = [e["ResourceStatus"] for e in cfn.describe_stack_events(StackName="s")["StackEvents"]]
        assert newest_first[:5] == ["UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_IN_PROGRESS", "CREATE_FAILED",
                                    "CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"]

        made = moto_backends.fail_stack_operation(ACCOUNT, REGION, "new", template, True,
                                                  ("L", "AWS::Logs::LogGroup", "/g", "already exists"))
        stack = cfn.describe_stacks(StackName="new")["Stacks"][0]
        assert (stack["StackId"], stack["StackStatus"]) == (made, "ROLLBACK_COMPLETE")
        assert cfn.get_template(StackName="new")["TemplateBody"] and \
            cfn.describe_stack_resources(StackName="new")["StackResources"] == []
        assert moto_backends.account_of("AKIAUNKNOWN") == ACCOUNT


# --- IAM and STS: a function's role, its policies and its session ----------------------

def test_a_functions_role_is_part_of_its_configuration(made):
    fn = moto_backends.lambda_function(made["function"]["FunctionArn"])
    config = moto_backends.function_config(fn)
    assert config.role == made["function"]["Role"] == f"arn:aws:iam::{ACCOUNT}:role/r"
    assert config.role in config.fingerprint and fn.role in moto_backends.function_version(fn)


def test_role_record_holds_the_policies_as_the_api_and_cloudformation_make_them():
    import json
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    reads = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    with mock_aws():
        iam = boto3.client("iam")
        arn = iam.create_role(RoleName="r", Path="/service-role/", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName="r", PolicyName="reads", PolicyDocument=json.dumps(reads))
        managed = iam.create_policy(PolicyName="m", PolicyDocument=json.dumps(reads))["Policy"]["Arn"]
        newer = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
        iam.create_policy_version(PolicyArn=managed, PolicyDocument=json.dumps(newer), SetAsDefault=True)
        iam.attach_role_policy(RoleName="r", PolicyArn=managed)
        record = moto_backends.role_record(arn)
        assert record is not None and record.arn == arn and record.name == "r" and record.account_id == ACCOUNT
        assert record.role_id.startswith("AROA") and json.loads(record.trust_policy) == trust
        assert [(n, json.loads(d)) for n, d in record.inline] == [("reads", reads)]
        assert [(a, json.loads(d)) for a, d in record.managed] == [(managed, newer)]   # the default version
        assert moto_backends.role_record(f"arn:aws:iam::{ACCOUNT}:role/r") is None       # the path is part of the ARN
        assert moto_backends.role_record("arn:aws:iam::999999999999:role/r") is None
        assert moto_backends.role_record("not an arn") is None
        # CloudFormation keeps inline documents decoded: the record gives JSON text either way
        boto3.client("cloudformation", region_name=REGION).create_stack(StackName="s", TemplateBody=json.dumps({
            "Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": trust, "Policies": [{"PolicyName": "ReadModels", "PolicyDocument": reads}],
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]}}}}))
        made_by_stack = next(r["Arn"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("s-R-"))
        record = moto_backends.role_record(made_by_stack)
        assert record is not None and [(n, json.loads(d)) for n, d in record.inline] == [("ReadModels", reads)]
        assert record.managed == ()   # moto does not attach a template's ManagedPolicyArns (docs/targets.md says so)


def test_a_stack_update_gives_a_role_the_policies_its_template_now_names():
    """moto 5.2's update of an AWS::IAM::Role keeps its old inline and trust policies (the first half pins
    that: when moto learns it, apply_role_updates can go); apply_role_updates gives the role the template's,
    resolved against the stack's parameters. A policy the template does not name stays: it may be an
    AWS::IAM::Policy resource's (function.yml's DecryptModels) or one put by hand."""
    import json

    def template(sid: str, trusted: str, extra: bool) -> str:
        statement = {"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject",
                     "Resource": {"Fn::Sub": "arn:aws:s3:::${Bucket}/training/*"}}
        policies = [{"PolicyName": "Reads", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}]
        if extra:
            policies.append({"PolicyName": "Extra", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}})
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": trusted}, "Action": "sts:AssumeRole"}]}
        attached = {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "Attached", "Roles": [{"Ref": "R"}],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}}}
        return json.dumps({"Parameters": {"Bucket": {"Type": "String"}}, "Resources": {"R": {
            "Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust, "Policies": policies}},
            "Attached": attached}})

    with mock_aws():
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName="s", TemplateBody=template("Before", "lambda.amazonaws.com", True),
                         Parameters=[{"ParameterKey": "Bucket", "ParameterValue": "b1"}])
        arn = next(r["Arn"] for r in boto3.client("iam").list_roles()["Roles"] if r["RoleName"].startswith("s-R-"))
        cfn.update_stack(StackName="s", TemplateBody=template("After", "sagemaker.amazonaws.com", False),
                         Parameters=[{"ParameterKey": "Bucket", "ParameterValue": "b2"}])
        record = moto_backends.role_record(arn)
        assert record is not None and {n for n, _ in record.inline} == {"Reads", "Extra", "Attached"}   # moto
        assert "lambda.amazonaws.com" in record.trust_policy
        assert moto_backends.apply_role_updates(ACCOUNT, REGION, "s") == [arn.rsplit("/", 1)[1]]
        record = moto_backends.role_record(arn)
        assert record is not None and sorted(n for n, _ in record.inline) == ["Attached", "Extra", "Reads"]
        statement = json.loads(dict(record.inline)["Reads"])["Statement"][0]
        assert statement["Sid"] == "After" and statement["Resource"] == "arn:aws:s3:::b2/training/*"
        assert json.loads(record.trust_policy)["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
        policy = boto3.client("iam").get_role_policy(RoleName=arn.rsplit("/", 1)[1], PolicyName="Reads")
        assert policy["PolicyDocument"]["Statement"][0]["Sid"] == "After"   # JSON through the API too
        assert moto_backends.apply_role_updates(ACCOUNT, REGION, "no-such-stack") == []


def test_user_by_access_key_finds_the_user_its_policies_and_its_groups():
    import json
    reads = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    newer = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    with mock_aws():
        iam = boto3.client("iam")
        user = iam.create_user(UserName="u")["User"]
        iam.put_user_policy(UserName="u", PolicyName="own", PolicyDocument=json.dumps(reads))
        managed = iam.create_policy(PolicyName="m", PolicyDocument=json.dumps(reads))["Policy"]["Arn"]
        iam.create_policy_version(PolicyArn=managed, PolicyDocument=json.dumps(newer), SetAsDefault=True)
        iam.attach_user_policy(UserName="u", PolicyArn=managed)
        iam.create_group(GroupName="g")
        iam.put_group_policy(GroupName="g", PolicyName="team", PolicyDocument=json.dumps(reads))
        iam.add_user_to_group(GroupName="g", UserName="u")
        iam.create_user(UserName="other")
        iam.create_access_key(UserName="other")
        key = iam.create_access_key(UserName="u")["AccessKey"]
        record = moto_backends.user_by_access_key(key["AccessKeyId"])
        assert record is not None and (record.arn, record.name, record.account_id) == (user["Arn"], "u", ACCOUNT)
        assert record.user_id == user["UserId"] and record.secret_access_key == key["SecretAccessKey"]
        assert [(where, json.loads(doc)) for where, doc in record.policies] == [
            ("inline policy own of user u", reads), (f"managed policy {managed} attached to user u", newer),
            ("inline policy team of group g", reads)]
        assert key["SecretAccessKey"] not in repr(record)
        iam.update_access_key(UserName="u", AccessKeyId=key["AccessKeyId"], Status="Inactive")
        assert moto_backends.user_by_access_key(key["AccessKeyId"]) is None
        assert moto_backends.user_by_access_key("AKIANOBODY0000000000") is None


def test_assume_role_issues_a_session_sts_and_iam_know_until_it_is_forgotten():
    with mock_aws():
        arn = boto3.client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        issued = moto_backends.assume_role(arn, "fn", REGION, 3600)
        assert issued.access_key_id.startswith("ASIA") and issued.session_token and issued.account_id == ACCOUNT
        assert issued.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/fn-role/fn"
        import time
        assert 3500 < issued.expiration - time.time() <= 3600
        assert issued.secret_access_key not in repr(issued)
        sts = boto3.client("sts", region_name=REGION, aws_access_key_id=issued.access_key_id,
                           aws_secret_access_key=issued.secret_access_key, aws_session_token=issued.session_token)
        assert sts.get_caller_identity()["Arn"] == issued.arn
        from moto.iam.models import get_account_id_from
        assert get_account_id_from(issued.access_key_id) == ACCOUNT
        moto_backends.forget_assumed_role(ACCOUNT, REGION, issued.access_key_id)
        from moto.sts.models import sts_backends
        assert issued.access_key_id not in [r.access_key_id for r in sts_backends[ACCOUNT]["aws"].assumed_roles]


def test_bucket_policy_is_read_as_text():
    import json
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::with-policy/*"}]}
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="with-policy")
        s3.create_bucket(Bucket="without-policy")
        s3.put_bucket_policy(Bucket="with-policy", Policy=json.dumps(document))
        assert json.loads(moto_backends.bucket_policy(ACCOUNT, REGION, "with-policy") or "") == document
        assert moto_backends.bucket_policy(ACCOUNT, REGION, "without-policy") is None
        assert moto_backends.bucket_policy(ACCOUNT, REGION, "no-such-bucket") is None


def test_aws_managed_policies_do_not_exist_in_moto_by_default():
    """Why docs/targets.md says a role relying on one (AmazonS3ReadOnlyAccess) needs an inline policy locally."""
    from botocore.exceptions import ClientError
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        with pytest.raises(ClientError, match="NoSuchEntity"):
            iam.attach_role_policy(RoleName="r", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")


def test_a_configuration_update_stamps_last_modified_as_lambda_does(made, monkeypatch):
    import time

    from moto.awslambda.models import LambdaFunction as MotoFunction
    monkeypatch.setattr(MotoFunction, "update_configuration", MotoFunction.update_configuration)   # restored after
    lam = boto3.client("lambda", region_name=REGION)
    created = lam.get_function_configuration(FunctionName="fn")["LastModified"]
    time.sleep(0.01)
    lam.update_function_configuration(FunctionName="fn", Environment={"Variables": {"MODEL_PATH": "a.tar.gz"}})
    assert lam.get_function_configuration(FunctionName="fn")["LastModified"] == created   # moto as installed
    moto_backends.stamp_configuration_updates()
    moto_backends.stamp_configuration_updates()                                            # once is enough
    time.sleep(0.01)
    answer = lam.update_function_configuration(FunctionName="fn", Environment={"Variables": {"MODEL_PATH": "b"}})
    stamped = lam.get_function_configuration(FunctionName="fn")["LastModified"]
    assert stamped > created and answer["LastModified"] == stamped


def test_api_keys_usage_plans_and_a_methods_key_requirement(made):
    gw = boto3.client("apigateway", region_name=REGION)
    gw.put_method(restApiId=made["api_id"], resourceId=made["breeds"], httpMethod="ANY", authorizationType="NONE",
                  apiKeyRequired=True)
    gw.put_integration(restApiId=made["api_id"], resourceId=made["breeds"], httpMethod="ANY", type="AWS_PROXY",
                       integrationHttpMethod="POST", uri=made["uri"])
    key = gw.create_api_key(name="k", enabled=True, value="v" * 40, tags={"owner": "me"})
    plan = gw.create_usage_plan(name="p", apiStages=[{"apiId": made["api_id"], "stage": "prod"}],
                                throttle={"rateLimit": 100.0, "burstLimit": 20},
                                quota={"limit": 5, "period": "DAY"}, tags={"owner": "me"})
    gw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    api = moto_backends.find_rest_api(made["api_id"])[2]
    by_id = {r.resource_id: r for r in moto_backends.api_resources(api)}
    assert by_id[made["breeds"]].methods["ANY"] == ("AWS_PROXY", made["uri"], True, "NONE")
    assert by_id[made["root"]].methods["ANY"][2] is False
    assert moto_backends.api_keys(ACCOUNT, REGION) == [
        moto_backends.ApiKeyFacts(key["id"], "k", "v" * 40, True, {"owner": "me"})]
    assert moto_backends.usage_plans(ACCOUNT, REGION) == [moto_backends.UsagePlanFacts(
        plan["id"], "p", ((made["api_id"], "prod"),), 100.0, 20, 5, "DAY", (key["id"],), {"owner": "me"})]
    assert moto_backends.plan_for_key(ACCOUNT, REGION, key["id"], made["api_id"], "prod") == \
        moto_backends.usage_plans(ACCOUNT, REGION)[0]
    assert moto_backends.plan_for_key(ACCOUNT, REGION, key["id"], made["api_id"], "dev") is None
    assert moto_backends.plan_for_key(ACCOUNT, REGION, "other", made["api_id"], "prod") is None
    assert moto_backends.api_key_by_value(ACCOUNT, REGION, "v" * 40).key_id == key["id"]
    assert moto_backends.api_key_by_value(ACCOUNT, REGION, "w" * 40) is None
    assert moto_backends.api_keys(ACCOUNT, "eu-west-3") == [] and moto_backends.usage_plans("000000000000", REGION) == []


def test_filter_log_events_reads_the_stream_prefix_and_the_pattern_as_cloudwatch_does(monkeypatch):
    """moto ignores FilterLogEvents' logStreamNamePrefix (`logs --training JOB` showed every job's lines) and
    matches a pattern it cannot read to every event; once the daemon's patch is in, both are read as CloudWatch
    Logs reads them (the patterns themselves: test_log_filter_pattern.py)."""
    import time

    from botocore.exceptions import ClientError
    from moto.logs import models as logs_models
    from moto.logs.responses import LogsResponse

    monkeypatch.setattr(LogsResponse, "filter_log_events", LogsResponse.filter_log_events)   # put back after
    monkeypatch.setattr(logs_models, "EventMessageFilter", logs_models.EventMessageFilter)
    moto_backends.install_filter_log_events()
    now = int(time.time() * 1000)
    with mock_aws():
        group = "/aws/sagemaker/TrainingJobs"
        for number, (stream, message) in enumerate([("job-1/algo-1-1", "one"), ("job-10/algo-1-2", "ten"),
                                                    ("job-1/algo-2-1", "one, second instance"),
                                                    ("job-2/algo-1-3", "two")]):
            moto_backends.append_log_events(ACCOUNT, REGION, group, stream,
                                            [{"timestamp": now + number, "message": message}], keep=10)
        logs = boto3.client("logs", region_name=REGION)
        found = logs.filter_log_events(logGroupName=group, logStreamNamePrefix="job-1/")
        assert [e["message"] for e in found["events"]] == ["one", "one, second instance"]
        assert logs.filter_log_events(logGroupName=group, logStreamNamePrefix="job-3/")["events"] == []
        assert len(logs.filter_log_events(logGroupName=group)["events"]) == 4      # no prefix: moto's own answer
        with pytest.raises(ClientError) as both:
            logs.filter_log_events(logGroupName=group, logStreamNamePrefix="job-1/", logStreamNames=["job-2/algo-1-3"])
        assert both.value.response["Error"]["Code"] == "InvalidParameterException"
        with pytest.raises(ClientError) as missing:
            logs.filter_log_events(logGroupName="/aws/sagemaker/Nothing", logStreamNamePrefix="job-1/")
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
        def messages(**kw) -> list[str]:
            return [e["message"] for e in logs.filter_log_events(logGroupName=group, **kw)["events"]]

        assert messages(filterPattern="?two ?ten") == ["ten", "two"]            # moto: every event
        assert messages(filterPattern="-one") == ["ten", "two"]
        assert messages(filterPattern="one", logStreamNamePrefix="job-1/algo-2") == ["one, second instance"]
        for unread in ("{ $.status = 503 }", "[ip, user]"):
            with pytest.raises(ClientError) as refused:
                logs.filter_log_events(logGroupName=group, filterPattern=unread)
            assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
            assert "the local target does not evaluate" in refused.value.response["Error"]["Message"]
