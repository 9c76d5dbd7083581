"""The IAM users' answers are cached, and every change to what decides them counts on the very next request:
a managed policy attached, detached or given a new default version, a user taken out of its group, a key
deactivated or deleted, a stack's IAM resources; a policy that names the clock is never cached; reads of IAM
keep the cache, writes and resets drop it (in-process against moto, as test_execute_api_auth.py)."""
from __future__ import annotations

import json

import boto3
import execute_api_rules as rules
import pytest
from moto import mock_aws
from test_execute_api_auth import ACCOUNT, ARN_PREFIX, METHOD_ARN, answer, request

from wildrydes_cli.local.awsapi import iam_users, moto_backends
from wildrydes_cli.local.awsapi.auth import Gate
from wildrydes_cli.local.awsapi.credentials import local_credentials
from wildrydes_cli.local.awsapi.function_credentials import Sessions
from wildrydes_cli.local.awsapi.iam_users import UserCalls
from wildrydes_cli.local.awsapi.role_calls import RoleCalls

ALLOW = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{ARN_PREFIX}/prod/POST/*"}]}
ELSEWHERE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{ARN_PREFIX}/dev/POST/*"}]}


@pytest.fixture
def world(tmp_path):
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        keys = rules.make_callers(iam, ARN_PREFIX)
        clock = {"now": 1_800_000_000.0}
        users = UserCalls(clock=lambda: clock["now"])
        gate = Gate(tmp_path, local_credentials(tmp_path), roles=RoleCalls(Sessions()), users=users)
        yield {"iam": iam, "keys": keys, "gate": gate, "clock": clock,
               "cfn": boto3.client("cloudformation", region_name="us-east-1")}


def status(world, key) -> int:
    """Two requests, the same answer: the second is served from the cache when nothing changed."""
    first, second = answer(world["gate"], request(key)), answer(world["gate"], request(key))
    assert first == second
    return first[0]


def test_a_managed_policy_attached_then_detached_counts_on_the_next_request(world):
    iam, key = world["iam"], world["keys"]["denied"]
    arn = iam.create_policy(PolicyName="invoke", PolicyDocument=json.dumps(ALLOW))["Policy"]["Arn"]
    assert status(world, key) == 403
    iam.attach_user_policy(UserName="denied", PolicyArn=arn)
    assert status(world, key) == 200
    iam.detach_user_policy(UserName="denied", PolicyArn=arn)
    assert status(world, key) == 403


def test_a_new_default_version_of_a_managed_policy_counts_on_the_next_request(world):
    iam, key = world["iam"], world["keys"]["managed"]
    arn = iam.list_attached_user_policies(UserName="managed")["AttachedPolicies"][0]["PolicyArn"]
    assert status(world, key) == 200
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ELSEWHERE), SetAsDefault=True)
    assert status(world, key) == 403
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert status(world, key) == 200


def test_an_inline_policy_edited_or_deleted_counts_on_the_next_request(world):
    iam, key = world["iam"], world["keys"]["allowed"]
    assert status(world, key) == 200
    iam.put_user_policy(UserName="allowed", PolicyName="invoke-0", PolicyDocument=json.dumps(ELSEWHERE))
    assert status(world, key) == 403
    iam.put_user_policy(UserName="allowed", PolicyName="invoke-0", PolicyDocument=json.dumps(ALLOW))
    assert status(world, key) == 200
    iam.delete_user_policy(UserName="allowed", PolicyName="invoke-0")
    assert status(world, key) == 403


def test_a_user_taken_out_of_its_group_counts_on_the_next_request(world):
    iam, key = world["iam"], world["keys"]["group"]
    assert status(world, key) == 200
    iam.remove_user_from_group(GroupName="group-group-0", UserName="group")
    assert status(world, key) == 403
    iam.add_user_to_group(GroupName="group-group-0", UserName="group")
    assert status(world, key) == 200


def test_a_key_deactivated_reactivated_or_deleted_counts_on_the_next_request(world):
    iam, key = world["iam"], world["keys"]["allowed"]
    assert status(world, key) == 200
    iam.update_access_key(UserName="allowed", AccessKeyId=key[0], Status="Inactive")
    assert answer(world["gate"], request(key))[1] == "UnrecognizedClientException"
    iam.update_access_key(UserName="allowed", AccessKeyId=key[0], Status="Active")
    assert status(world, key) == 200
    iam.delete_access_key(UserName="allowed", AccessKeyId=key[0])
    assert answer(world["gate"], request(key))[1] == "UnrecognizedClientException"


def test_a_user_made_while_others_are_cached_then_its_key_deleted_counts_on_the_next_request(world):
    """An inactive key's "nobody" is cached too (above); here a new user is found, then its key forgotten."""
    assert status(world, world["keys"]["allowed"]) == 200
    iam = world["iam"]
    iam.create_user(UserName="late")
    iam.put_user_policy(UserName="late", PolicyName="invoke", PolicyDocument=json.dumps(ALLOW))
    made = iam.create_access_key(UserName="late")["AccessKey"]
    key = (made["AccessKeyId"], made["SecretAccessKey"])
    assert status(world, key) == 200
    iam.delete_access_key(UserName="late", AccessKeyId=key[0])
    assert answer(world["gate"], request(key))[1] == "UnrecognizedClientException"


STACK_POLICY = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
    "Invoke": {"Type": "AWS::IAM::Policy",
               "Properties": {"PolicyName": "from-a-stack", "PolicyDocument": ALLOW, "Users": ["denied"]}}}}


def test_a_policy_a_stack_gives_and_takes_back_counts_on_the_next_request(world):
    """CloudFormation writes moto's IAM without going through IAM's actions: its writes count too."""
    cfn, key = world["cfn"], world["keys"]["denied"]
    assert status(world, key) == 403
    cfn.create_stack(StackName="callers", TemplateBody=json.dumps(STACK_POLICY))
    assert status(world, key) == 200
    cfn.delete_stack(StackName="callers")
    assert status(world, key) == 403


def test_a_policy_that_names_the_clock_is_judged_at_each_request(world):
    """aws:EpochTime moves without any IAM write: such a decision is never kept."""
    iam, key, clock = world["iam"], world["keys"]["denied"], world["clock"]
    until = int(clock["now"]) + 60
    iam.put_user_policy(UserName="denied", PolicyName="until", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{**ALLOW["Statement"][0],
                                                 "Condition": {"NumericLessThan": {"aws:EpochTime": str(until)}}}]}))
    assert status(world, key) == 200
    clock["now"] += 120
    assert world["gate"].execute_api_refusal(request(key), METHOD_ARN) is not None


def test_reads_keep_the_generation_and_writes_and_resets_move_it(world):
    iam = world["iam"]
    before = moto_backends.iam_generation()
    iam.list_users()
    iam.get_user(UserName="allowed")
    world["cfn"].describe_stacks()
    assert moto_backends.iam_generation() == before
    iam.tag_user(UserName="allowed", Tags=[{"Key": "team", "Value": "ci"}])
    assert moto_backends.iam_generation() > before
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.delete_user(UserName="nobody")      # a refused write moves it too: harmless
    moved = moto_backends.iam_generation()
    from moto.iam.models import iam_backends

    iam_backends[ACCOUNT]["aws"].reset()
    assert moto_backends.iam_generation() > moved
    assert answer(world["gate"], request(world["keys"]["allowed"]))[1] == "UnrecognizedClientException"


def test_unknown_keys_cannot_grow_the_cache(world):
    users = world["gate"].users
    for i in range(iam_users.MAX_CALLERS + 50):
        assert users.find(f"AKIANOBODY{i:010d}") is None
    assert len(users._callers) <= iam_users.MAX_CALLERS


def test_the_local_targets_new_credentials_file_is_still_picked_up_on_an_aws_iam_method(world, tmp_path):
    """An IAM user's key is looked up before the credentials file is asked whether it was replaced: a new
    file's key (not a user's) still gets there, and the old key is refused."""
    from wildrydes_cli.local.awsapi.credentials import credentials_file, local_credentials

    assert status(world, world["keys"]["allowed"]) == 200
    old = world["gate"].credentials
    credentials_file(tmp_path).unlink()
    new = local_credentials(tmp_path)
    assert new.access_key_id != old.access_key_id
    assert status(world, (new.access_key_id, new.secret_access_key)) == 200
    assert answer(world["gate"], request((old.access_key_id, old.secret_access_key)))[1] == \
        "UnrecognizedClientException"
    assert status(world, world["keys"]["allowed"]) == 200
