"""deploy --auth iam against real AWS behaviour (awsbehaviour.py, behaviour 20: execute_api_behaviour.py): the
scripted API Gateway answers every row of tests/execute_api_rules.py (the table the local target is held to), and
`predict` says what to do for each refusal a caller meets on AWS: no execute-api:Invoke, a clock over 5 minutes
off."""
from __future__ import annotations

import datetime
import json
import os
import shutil
import time
from unittest import mock

import boto3
import execute_api_rules as rules
import pytest
from awsbehaviour import AwsBehaviour
from cli_helpers import Wildrydes, upload_model
from moto import mock_aws

PREDICT = ["predict", "--distance", "30", "--healthpoints", "30", "--magicpoints", "2500",
           "--tmax", "333", "--tmin", "300", "--prcp", "0"]


def test_an_open_api_is_not_judged(wildrydes, with_model, real):
    url = wildrydes.json("deploy")["invoke_url"]
    assert real.answer_execute_api("POST", url, {}, b"{}")[0] == 200


class TestOneIamDeployment:
    """The tests of one `deploy --auth iam` (bootstrap, model, deploy, the table's callers), made once for the
    class: each rule only asks the scripted API Gateway for an answer, and predict only reads, so none of them
    changes the deployment. What a test does change is reset for it: the answers the scripted API Gateway
    recorded are cleared, and the state directory and scratchpad are the deployment's, copied for each test."""

    @pytest.fixture(scope="class")
    @classmethod
    def iam_world(cls, aws_isolation, tmp_path_factory):
        """What the fixtures `real`, `wildrydes`, `with_model` and a deploy --auth iam give one test, for the
        class: moto and the scripted behaviour stay up, and nothing sleeps in real time (as `slept` does)."""
        from wildrydes_cli.aws.client import Aws
        with pytest.MonkeyPatch.context() as patch:
            aws_isolation(patch, tmp_path_factory)
            waits: list[float] = []
            patch.setattr(time, "sleep", waits.append)
            patch.setattr(Aws.__init__, "__defaults__", (None, waits.append))
            with mock_aws(), AwsBehaviour() as behaviour:
                wildrydes = Wildrydes(tmp_path_factory.mktemp("iam-world"))
                upload_model(wildrydes.json("bootstrap")["bucket"])
                deployed = wildrydes.json("deploy", "--auth", "iam", "--yes")
                api_id = deployed["api_id"]
                keys = rules.make_callers(boto3.client("iam"),
                                          f"arn:aws:execute-api:us-east-1:123456789012:{api_id}")
                yield {"url": deployed["invoke_url"], "api_id": api_id, "keys": keys, "real": behaviour,
                       "home": os.environ["WILDRYDES_HOME"], "scratchpad": wildrydes.scratchpad}

    @pytest.fixture
    def real(self, iam_world) -> AwsBehaviour:
        iam_world["real"].execute_api_answers.clear()
        return iam_world["real"]

    @pytest.fixture
    def wildrydes(self, iam_world, tmp_path) -> Wildrydes:
        """The CLI with the deployment's state directory and scratchpad as deploy left them, copied."""
        shutil.copytree(iam_world["home"], os.environ["WILDRYDES_HOME"], dirs_exist_ok=True)
        made = Wildrydes(tmp_path)
        if iam_world["scratchpad"].exists():
            shutil.copyfile(iam_world["scratchpad"], made.scratchpad)
        return made

    @pytest.fixture
    def iam_deployed(self, iam_world, real) -> dict:
        return {name: iam_world[name] for name in ("url", "api_id", "keys")}

    @pytest.mark.parametrize("rule", rules.RULES, ids=[r.name for r in rules.RULES])
    def test_the_scripted_api_gateway_answers_each_rule_of_the_shared_table(self, iam_deployed, real, rule):
        url, body = iam_deployed["url"], b'{"distance": 30}'
        headers = rules.signed_headers(url, body, rules.credentials_for(rule, iam_deployed["keys"]), "us-east-1",
                                       rule.skew)
        status, error_type, answer = real.answer_execute_api("POST", url, headers, body)
        assert rules.holds(rule, status, error_type, answer), (rule, status, error_type, answer)

    def test_predict_signs_and_is_answered(self, wildrydes, iam_deployed, real):
        assert wildrydes.json(*PREDICT)["label"] == "heavy magic use likely"
        assert real.execute_api_answers == [(iam_deployed["url"], 200)]

    def test_predict_as_a_caller_without_execute_api_invoke_says_what_to_give_it(self, wildrydes, iam_deployed,
                                                                                  real, monkeypatch):
        key, secret = iam_deployed["keys"]["denied"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        result = wildrydes(*PREDICT, expect=1, json_output=False)
        said = " ".join((result.stdout + result.stderr).split())
        assert ("The endpoint answered 403: User: arn:aws:iam::123456789012:user/denied is not authorized to perform: "
                "execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:123456789012:") in said
        assert "allowing execute-api:Invoke on the method's ARN" in said and "{'Message'" not in said


    def test_predict_with_a_clock_6_minutes_behind_says_to_set_it(self, wildrydes, iam_deployed, real):
        behind = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=6)
        with mock.patch("botocore.auth.get_current_datetime", lambda: behind):
            result = wildrydes(*PREDICT, expect=1, json_output=False)
        said = " ".join((result.stdout + result.stderr).split())
        assert "The endpoint answered 403: Signature expired: " in said and "(" in said and "- 5 min.)" in said
        assert "clock is more than 5 minutes off" in said
        assert [status for _, status in real.execute_api_answers] == [403]


def test_the_table_names_a_source_for_every_rule():
    assert all(rule.source in rules.__doc__ for rule in rules.RULES)
    assert json.dumps([r.name for r in rules.RULES])   # names are unique ids for the parametrized tests
    assert len({r.name for r in rules.RULES}) == len(rules.RULES)
