"""deploy --canary against Lambda's version publishing as AWS does it (moto publishes Active at once)."""
from __future__ import annotations

import boto3
from cli_helpers import NEWER_KEY, upload_model


def test_canary_waits_for_an_update_in_progress_and_for_each_version_to_be_active(wildrydes, with_model, real):
    first = wildrydes.json("deploy")
    function = first["function_name"]
    upload_model(with_model["bucket"], NEWER_KEY)
    real.function_busy(function, polls=3)   # an update still in progress (another deploy, the console)
    started = wildrydes.json("deploy", "--canary", "10", "--force")
    assert started["canary"]["percent"] == 10 and started["canary"]["candidate_model"] == NEWER_KEY
    assert [name for name, _ in real.published] == [function, function]
    assert real.alias_on_pending == []      # the alias named only versions that were Active
    publishes = [i for i, (_, op, _) in enumerate(real.calls) if op == "PublishVersion"]
    polled = [op for _, op, params in real.calls[publishes[0]:] if op == "GetFunctionConfiguration"
              and params.get("Qualifier")]
    assert len(polled) >= real.settle_polls + 1   # polled Pending until Active
    alias = boto3.client("lambda").get_alias(FunctionName=function, Name="live")
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {started["canary"]["candidate_version"]: 0.1}
    promoted = wildrydes.json("promote")
    assert promoted["model_path"] == NEWER_KEY
