"""The IAM policy evaluator: IAM's documented logic, and moto's evaluator as an oracle where moto is right.

Documented logic (IAM User Guide, "Policy evaluation logic", "IAM JSON policy
elements: Condition operators", "IAM policy elements: Variables and tags"):
an explicit Deny wins, else an Allow, else the implicit deny; a condition key
missing from the request makes a condition false except for negated
operators, ...IfExists, ForAllValues and Null. S3's condition key s3:prefix
exists on ListObjects requests only (S3's "Actions, resources, and condition
keys"), so a GetObject never satisfies a prefix condition.
"""
from __future__ import annotations

import json
import random

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from wildrydes_cli.local.awsapi import iam_policy as ip
from wildrydes_cli.local.awsapi.iam_matching import arn_match

BUCKET = "arn:aws:s3:::data"
MODEL = f"{BUCKET}/linear-learner-2026-01-01-00-00-00-000/output/model.tar.gz"


def doc(*statements: dict, version: str = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})


def allow(action, resource, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource, **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(documents, action, resource, principal=None, **keys) -> ip.Decision:
    policies = [ip.parse(d, f"policy {i}") for i, d in enumerate(documents)]
    return ip.evaluate(policies, ip.Request(action, resource, ip.context(**keys), principal))


# --- Allow, Deny, wildcards ---------------------------------------------------------------

def test_an_allow_on_the_object_pattern_allows_the_object_and_nothing_else():
    policy = doc(allow("s3:GetObject", f"{BUCKET}/linear-learner-*/output/model.tar.gz"))
    assert decide([policy], "s3:GetObject", MODEL).allowed
    assert decide([policy], "s3:GetObject", f"{BUCKET}/my-models/model.tar.gz").effect == ip.IMPLICIT_DENY
    assert decide([policy], "s3:GetObject", "arn:aws:s3:::other/linear-learner-x/output/model.tar.gz"
                  ).effect == ip.IMPLICIT_DENY
    assert decide([policy], "s3:PutObject", MODEL).effect == ip.IMPLICIT_DENY


def test_star_spans_slashes_and_question_mark_is_exactly_one_character():
    policy = doc(allow("s3:GetObject", f"{BUCKET}/breeds/?/latest.json"))
    assert decide([policy], "s3:GetObject", f"{BUCKET}/breeds/a/latest.json").allowed
    assert not decide([policy], "s3:GetObject", f"{BUCKET}/breeds/ab/latest.json").allowed
    assert not decide([policy], "s3:GetObject", f"{BUCKET}/breeds//latest.json").allowed
    deep = doc(allow("s3:GetObject", f"{BUCKET}/*"))
    assert decide([deep], "s3:GetObject", f"{BUCKET}/a/b/c").allowed
    assert not decide([deep], "s3:ListBucket", BUCKET).allowed       # the bucket is not an object


def test_regex_characters_in_a_resource_are_literal():
    policy = doc(allow("s3:GetObject", "arn:aws:s3:::my.bucket/a+b(1).txt"))
    assert decide([policy], "s3:GetObject", "arn:aws:s3:::my.bucket/a+b(1).txt").allowed
    assert not decide([policy], "s3:GetObject", "arn:aws:s3:::myXbucket/a+b(1).txt").allowed


def test_actions_are_case_insensitive_and_take_wildcards():
    assert decide([doc(allow("S3:getobject", "*"))], "s3:GetObject", MODEL).allowed
    assert decide([doc(allow("s3:Get*", "*"))], "s3:GetObjectVersion", MODEL).allowed
    assert decide([doc(allow("s3:Get?bject", "*"))], "s3:GetObject", MODEL).allowed
    assert not decide([doc(allow("s3:Get*", "*"))], "s3:ListBucket", BUCKET).allowed
    assert decide([doc(allow("*", "*"))], "kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k").allowed


def test_an_explicit_deny_wins_over_an_allow_in_another_policy():
    granted = doc(allow("s3:*", "*"))
    denied = doc(deny("s3:GetObject", f"{BUCKET}/linear-learner-*"), )
    decision = decide([granted, denied], "s3:GetObject", MODEL)
    assert decision.effect == ip.EXPLICIT_DENY and decision.policy == "policy 1"
    assert decide([granted, denied], "s3:ListBucket", BUCKET).allowed


def test_not_action_and_not_resource():
    everything_but_delete = doc({"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"})
    assert decide([everything_but_delete], "s3:GetObject", MODEL).allowed
    assert not decide([everything_but_delete], "s3:DeleteObject", MODEL).allowed
    not_secrets = doc({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": f"{BUCKET}/secret/*"})
    assert decide([not_secrets], "s3:GetObject", MODEL).allowed
    assert not decide([not_secrets], "s3:GetObject", f"{BUCKET}/secret/k").allowed


def test_no_statement_means_the_implicit_deny():
    decision = decide([doc(allow("s3:GetObject", "arn:aws:s3:::elsewhere/*"))], "s3:GetObject", MODEL)
    assert decision == ip.Decision(ip.IMPLICIT_DENY)
    assert decide([], "s3:GetObject", MODEL).effect == ip.IMPLICIT_DENY


def test_arn_parts_are_matched_one_by_one():
    # a * in the region part cannot reach into the account part
    policy = doc(allow("lambda:InvokeFunction", "arn:aws:lambda:*:123456789012:function:fn"))
    assert decide([policy], "lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:123456789012:function:fn").allowed
    assert not decide([policy], "lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:999999999999:function:fn").allowed
    assert arn_match("arn:aws:s3:::*", MODEL) and arn_match("*", "anything")
    # a wildcard part never spans a colon: this pattern's region part is the account id
    assert not arn_match("arn:aws:*:123456789012:function:fn", "arn:aws:lambda:us-east-1:123456789012:function:fn")
    assert arn_match("arn:aws:lambda:*:*:function:*", "arn:aws:lambda:us-east-1:123456789012:function:fn:live")
    assert not arn_match("arn:aws:s3:::Data/*", "arn:aws:s3:::data/x")      # ARNs are case-sensitive


# --- conditions ---------------------------------------------------------------------------

LIST_BREEDS = doc(allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": "breeds/*"}}))


def test_a_prefix_condition_grants_listings_under_the_prefix_only():
    assert decide([LIST_BREEDS], "s3:ListBucket", BUCKET, **{"s3:prefix": "breeds/"}).allowed
    assert decide([LIST_BREEDS], "s3:ListBucket", BUCKET, **{"s3:prefix": "breeds/unicorn/latest.json"}).allowed
    assert not decide([LIST_BREEDS], "s3:ListBucket", BUCKET, **{"s3:prefix": "linear-learner-"}).allowed


def test_a_request_without_the_prefix_key_does_not_satisfy_a_prefix_condition():
    # a GetObject (and the 403-for-missing-key check of s3:ListBucket it implies) carries no s3:prefix
    assert decide([LIST_BREEDS], "s3:ListBucket", BUCKET).effect == ip.IMPLICIT_DENY
    # ... but a negated operator is true when the key is missing, and so is ...IfExists
    not_like = doc(allow("s3:ListBucket", BUCKET, Condition={"StringNotLike": {"s3:prefix": "secret/*"}}))
    assert decide([not_like], "s3:ListBucket", BUCKET).allowed
    assert not decide([not_like], "s3:ListBucket", BUCKET, **{"s3:prefix": "secret/x"}).allowed
    if_exists = doc(allow("s3:ListBucket", BUCKET, Condition={"StringLikeIfExists": {"s3:prefix": "breeds/*"}}))
    assert decide([if_exists], "s3:ListBucket", BUCKET).allowed
    assert not decide([if_exists], "s3:ListBucket", BUCKET, **{"s3:prefix": "x"}).allowed


def test_string_equals_is_exact_and_case_sensitive_any_listed_value_matching():
    policy = doc(allow("s3:ListBucket", BUCKET, Condition={"StringEquals": {"s3:prefix": ["", "breeds/"]}}))
    assert decide([policy], "s3:ListBucket", BUCKET, **{"s3:prefix": "breeds/"}).allowed
    assert decide([policy], "s3:ListBucket", BUCKET, **{"s3:prefix": ""}).allowed
    assert not decide([policy], "s3:ListBucket", BUCKET, **{"s3:prefix": "Breeds/"}).allowed
    assert not decide([policy], "s3:ListBucket", BUCKET, **{"s3:prefix": "breeds/*"}).allowed   # * is literal here
    ignore_case = doc(allow("s3:ListBucket", BUCKET, Condition={"StringEqualsIgnoreCase": {"s3:prefix": "BREEDS/"}}))
    assert decide([ignore_case], "s3:ListBucket", BUCKET, **{"s3:prefix": "breeds/"}).allowed


def test_negated_operators_refuse_every_listed_value():
    policy = doc(allow("s3:ListBucket", BUCKET, Condition={"StringNotEquals": {"s3:prefix": ["secret/", "private/"]}}))
    assert decide([policy], "s3:ListBucket", BUCKET, **{"s3:prefix": "breeds/"}).allowed
    assert not decide([policy], "s3:ListBucket", BUCKET, **{"s3:prefix": "private/"}).allowed
    not_role = doc(allow("s3:*", "*", Condition={"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin*"}}))
    assert decide([not_role], "s3:GetObject", MODEL, **{"aws:PrincipalArn": "arn:aws:iam::1:role/fn"}).allowed
    assert not decide([not_role], "s3:GetObject", MODEL, **{"aws:PrincipalArn": "arn:aws:iam::1:role/admins"}).allowed


def test_every_operator_and_every_key_must_hold():
    policy = doc(allow("s3:ListBucket", BUCKET, Condition={
        "StringLike": {"s3:prefix": "breeds/*"}, "StringEquals": {"s3:delimiter": "/"}}))
    assert decide([policy], "s3:ListBucket", BUCKET, **{"s3:prefix": "breeds/", "s3:delimiter": "/"}).allowed
    assert not decide([policy], "s3:ListBucket", BUCKET, **{"s3:prefix": "breeds/"}).allowed


def test_a_conditional_deny_applies_only_when_its_condition_holds():
    policies = [doc(allow("s3:*", "*")),
                doc(deny("s3:*", "*", Condition={"Bool": {"aws:SecureTransport": "false"}}))]
    assert decide(policies, "s3:GetObject", MODEL, **{"aws:SecureTransport": "true"}).allowed
    assert decide(policies, "s3:GetObject", MODEL, **{"aws:SecureTransport": "false"}).effect == ip.EXPLICIT_DENY
    assert decide(policies, "s3:GetObject", MODEL).allowed     # Bool on a missing key is false


def test_arn_like_numeric_ip_and_null():
    arn = doc(allow("s3:GetObject", "*", Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/wild*"}}))
    assert decide([arn], "s3:GetObject", MODEL, **{"aws:PrincipalArn": "arn:aws:iam::1:role/wildrydes"}).allowed
    assert not decide([arn], "s3:GetObject", MODEL, **{"aws:PrincipalArn": "arn:aws:iam::1:user/wildrydes"}).allowed
    keys = doc(allow("s3:ListBucket", BUCKET, Condition={"NumericLessThanEquals": {"s3:max-keys": 10}}))
    assert decide([keys], "s3:ListBucket", BUCKET, **{"s3:max-keys": "10"}).allowed
    assert not decide([keys], "s3:ListBucket", BUCKET, **{"s3:max-keys": "1000"}).allowed
    assert not decide([keys], "s3:ListBucket", BUCKET, **{"s3:max-keys": "many"}).allowed
    ip_only = doc(allow("s3:*", "*", Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    assert decide([ip_only], "s3:GetObject", MODEL, **{"aws:SourceIp": "127.0.0.1"}).allowed
    assert not decide([ip_only], "s3:GetObject", MODEL, **{"aws:SourceIp": "10.0.0.1"}).allowed
    null = doc(allow("s3:ListBucket", BUCKET, Condition={"Null": {"s3:prefix": "true"}}))
    assert decide([null], "s3:ListBucket", BUCKET).allowed
    assert not decide([null], "s3:ListBucket", BUCKET, **{"s3:prefix": ""}).allowed


def test_set_qualifiers_on_multivalued_keys():
    any_of = doc(allow("s3:*", "*", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}))
    all_of = doc(allow("s3:*", "*", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}))
    assert decide([any_of], "s3:GetObject", MODEL, **{"aws:TagKeys": ["a", "z"]}).allowed
    assert not decide([all_of], "s3:GetObject", MODEL, **{"aws:TagKeys": ["a", "z"]}).allowed
    assert decide([all_of], "s3:GetObject", MODEL, **{"aws:TagKeys": ["a", "b"]}).allowed
    assert decide([all_of], "s3:GetObject", MODEL).allowed          # ForAllValues of nothing is true
    assert not decide([any_of], "s3:GetObject", MODEL).allowed


def test_condition_key_names_are_case_insensitive():
    policy = doc(allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"S3:Prefix": "breeds/*"}}))
    assert decide([policy], "s3:ListBucket", BUCKET, **{"s3:prefix": "breeds/"}).allowed


# --- policy variables ---------------------------------------------------------------------

def test_policy_variables_in_resources_and_conditions():
    home = doc(allow("s3:GetObject", f"{BUCKET}/home/${{aws:userid}}/*"))
    me = {"aws:userid": "AROAEXAMPLE:fn"}
    assert decide([home], "s3:GetObject", f"{BUCKET}/home/AROAEXAMPLE:fn/x", **me).allowed
    assert not decide([home], "s3:GetObject", f"{BUCKET}/home/other/x", **me).allowed
    assert not decide([home], "s3:GetObject", f"{BUCKET}/home/AROAEXAMPLE:fn/x").allowed   # no value: no match
    defaulted = doc(allow("s3:GetObject", f"{BUCKET}/home/${{aws:username, 'shared'}}/*"))
    assert decide([defaulted], "s3:GetObject", f"{BUCKET}/home/shared/x").allowed
    literal_star = doc(allow("s3:GetObject", f"{BUCKET}/odd${{*}}name"))
    assert decide([literal_star], "s3:GetObject", f"{BUCKET}/odd*name").allowed
    assert not decide([literal_star], "s3:GetObject", f"{BUCKET}/oddXname").allowed
    in_condition = doc(allow("s3:ListBucket", BUCKET,
                             Condition={"StringLike": {"s3:prefix": "home/${aws:userid}/*"}}))
    assert decide([in_condition], "s3:ListBucket", BUCKET, **{"s3:prefix": "home/AROAEXAMPLE:fn/", **me}).allowed


def test_variables_are_literal_text_in_version_2008_policies():
    old = doc(allow("s3:GetObject", f"{BUCKET}/home/${{aws:userid}}/*"), version="2008-10-17")
    assert decide([old], "s3:GetObject", f"{BUCKET}/home/${{aws:userid}}/x", **{"aws:userid": "u"}).allowed
    assert not decide([old], "s3:GetObject", f"{BUCKET}/home/u/x", **{"aws:userid": "u"}).allowed


# --- principals (trust and resource-based policies) ----------------------------------------

LAMBDA_TRUST = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})


def test_a_service_principal_trust_policy():
    role = "arn:aws:iam::123456789012:role/r"
    assert decide([LAMBDA_TRUST], "sts:AssumeRole", role, {"Service": ("lambda.amazonaws.com",)}).allowed
    assert not decide([LAMBDA_TRUST], "sts:AssumeRole", role, {"Service": ("ec2.amazonaws.com",)}).allowed
    # a statement naming a principal never speaks to an identity-policy check (no principal given)
    assert not decide([LAMBDA_TRUST], "sts:AssumeRole", role).allowed


def test_moto_raises_on_the_same_service_principal_trust_policy():
    """The reason the trust check is ours: moto 5.2.5's principal check indexes a missing "AWS" key."""
    with pytest.raises(TypeError):
        IAMPolicy(LAMBDA_TRUST).is_action_permitted("sts:AssumeRole", "arn:aws:iam::123456789012:role/r",
                                                    principal="arn:aws:sts::123456789012:assumed-role/x/y")


def test_aws_principals_accounts_and_star():
    session = "arn:aws:sts::123456789012:assumed-role/fn-role/fn"
    role = "arn:aws:iam::123456789012:role/fn-role"
    me = {"AWS": (session, role)}
    by_role = doc({"Effect": "Allow", "Principal": {"AWS": role}, "Action": "s3:GetObject", "Resource": "*"})
    assert decide([by_role], "s3:GetObject", MODEL, me).allowed
    by_account = doc({"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "s3:*", "Resource": "*"})
    assert not decide([by_account], "s3:GetObject", MODEL, me).allowed
    assert decide([by_account], "s3:GetObject", MODEL, {"AWS": ("arn:aws:iam::123456789012:root",)}).allowed
    anyone = doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"})
    assert decide([anyone], "s3:GetObject", MODEL, me).allowed
    not_me = doc({"Effect": "Deny", "NotPrincipal": {"AWS": role}, "Action": "s3:*", "Resource": "*"})
    assert decide([not_me], "s3:GetObject", MODEL, {"AWS": ("arn:aws:iam::1:role/x",)}).effect == ip.EXPLICIT_DENY
    assert decide([not_me], "s3:GetObject", MODEL, me).effect == ip.IMPLICIT_DENY


# --- what is refused rather than guessed ---------------------------------------------------

@pytest.mark.parametrize("document, message", [
    ("not json", "not JSON"),
    ("[]", "not a JSON object"),
    (json.dumps({"Version": "2012-10-17"}), "no Statement"),
    (doc({"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}), "Effect must be Allow or Deny"),
    (doc({"Effect": "Allow", "Resource": "*"}), "exactly one of Action and NotAction"),
    (doc({"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"}), "exactly one"),
    (doc({"Effect": "Allow", "Action": 7, "Resource": "*"}), "must be a string or a list of strings"),
    (doc(allow("s3:*", "*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}})),
     "DateGreaterThan"),
    (doc(allow("s3:*", "*", Condition={"SomeValue:StringEquals": {"k": "v"}})), "qualifier"),
    (doc(allow("s3:*", "*", Condition={"StringEquals": {"k": {"nested": 1}}})), "must be a value"),
])
def test_what_the_evaluator_cannot_evaluate_is_an_error_naming_it(document, message):
    with pytest.raises(ip.PolicyError, match=message):
        ip.parse(document, "inline policy p of role r")


def test_a_single_statement_object_and_a_decoded_document_are_accepted():
    single = {"Version": "2012-10-17", "Statement": allow("s3:GetObject", "*")}
    assert ip.evaluate([ip.parse(single)], ip.Request("s3:GetObject", MODEL, {})).allowed


# --- moto's evaluator as an oracle where it is right -------------------------------------

def test_moto_ignores_the_prefix_condition_of_an_allow():
    """Where moto is wrong (so the oracle below has no conditions): it allows a listing outside the
    prefix, and the 403-for-missing-key check, which has no prefix at all; IAM denies both."""
    assert IAMPolicy(LIST_BREEDS).is_action_permitted("s3:ListBucket", BUCKET) == PermissionResult.PERMITTED
    assert decide([LIST_BREEDS], "s3:ListBucket", BUCKET).effect == ip.IMPLICIT_DENY
    assert decide([LIST_BREEDS], "s3:ListBucket", BUCKET, **{"s3:prefix": "linear-learner-"}).effect == \
        ip.IMPLICIT_DENY


_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "kms:Decrypt"]
_ACTION_PATTERNS = ["s3:GetObject", "s3:Get*", "s3:*", "*", "s3:*Object", "kms:*", "s3:List*"]
_RESOURCES = ["arn:aws:s3:::data", "arn:aws:s3:::data/models/m.tar.gz", "arn:aws:s3:::data/breeds/x/latest.json",
              "arn:aws:s3:::other/models/m.tar.gz", "arn:aws:kms:us-east-1:123456789012:key/k1"]
_RESOURCE_PATTERNS = ["*", "arn:aws:s3:::data", "arn:aws:s3:::data/*", "arn:aws:s3:::*", "arn:aws:s3:::data/models/*",
                      "arn:aws:s3:::*/models/*", "arn:aws:s3:::data/breeds/*/latest.json",
                      "arn:aws:kms:*:123456789012:key/*", "arn:aws:s3:::other*"]


def _random_statement(rng: random.Random) -> dict:
    statement: dict = {"Effect": rng.choice(["Allow", "Allow", "Deny"])}
    actions = rng.sample(_ACTION_PATTERNS, rng.randint(1, 2))
    statement["NotAction" if rng.random() < 0.15 else "Action"] = actions if len(actions) > 1 else actions[0]
    resources = rng.sample(_RESOURCE_PATTERNS, rng.randint(1, 2))
    statement["Resource"] = resources if len(resources) > 1 else resources[0]
    return statement


def test_moto_as_oracle_on_actions_resources_and_denies_without_conditions():
    """Policies of Action/NotAction and Resource with ``*`` (no conditions, no ``?``, no principals):
    moto's evaluator gets these right, and ours must agree on every request."""
    rng = random.Random(20)
    checked = 0
    for _ in range(150):
        documents = [doc(*[_random_statement(rng) for _ in range(rng.randint(1, 3))]) for _ in range(rng.randint(1, 3))]
        for action in _ACTIONS:
            for resource in _RESOURCES:
                results = [IAMPolicy(d).is_action_permitted(action, resource) for d in documents]
                if PermissionResult.DENIED in results:
                    expected = ip.EXPLICIT_DENY
                elif PermissionResult.PERMITTED in results:
                    expected = ip.ALLOW
                else:
                    expected = ip.IMPLICIT_DENY
                assert decide(documents, action, resource).effect == expected, (documents, action, resource)
                checked += 1
    assert checked == 150 * len(_ACTIONS) * len(_RESOURCES)


def test_parsed_policies_parse_a_text_once_and_forget_all_at_their_bound():
    """The cache both role sessions and IAM users read their policies through: one parse per (name, text)."""
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                             "Resource": "*"}]})
    cache = ip.ParsedPolicies(limit=2)
    first = cache.get("p", doc)
    assert cache.get("p", doc) is first                       # the same text: not parsed again
    assert cache.get("p", doc.replace("GetObject", "PutObject")) is not first   # a new text is parsed
    cache.get("q", doc)                                       # a third entry: over the bound, all forgotten
    assert cache.get("p", doc) is not first
    with pytest.raises(ip.PolicyError):
        cache.get("bad", "{not json")
