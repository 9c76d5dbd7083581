"""GetUsage against a real daemon: answered from the front's counts for a call signed for API Gateway, while an S3
path that looks the same (bucket "usageplans", key ".../usage") still reaches S3, and an unsigned one is refused."""
from __future__ import annotations

from datetime import datetime, timezone

import emulated
import pytest

pytestmark = pytest.mark.slow

KEY = "u" * 40


def test_get_usage_counts_keyed_requests_and_leaves_s3_paths_alone(tmp_path):
    with emulated.emulator(tmp_path) as status:
        deployed = emulated.deploy(status.endpoint_url, emulated.zip_files(
            {"index.py": "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"}), {},
            api_key_required=True)
        gw, s3 = deployed.aws["apigateway"], deployed.aws["s3"]
        key_id = gw.create_api_key(name="k", value=KEY, enabled=True)["id"]
        plan = gw.create_usage_plan(name="p", apiStages=[{"apiId": deployed.api_id, "stage": "prod"}],
                                    quota={"limit": 10, "period": "MONTH"})["id"]
        gw.create_usage_plan_key(usagePlanId=plan, keyId=key_id, keyType="API_KEY")
        for key in (KEY, KEY, "wrong" * 8):
            emulated.http("POST", deployed.invoke_url, b"{}", {"x-api-key": key})
        today = datetime.now(timezone.utc).date().isoformat()
        usage = gw.get_usage(usagePlanId=plan, startDate=today, endDate=today)
        assert usage["items"] == {key_id: [[2, 8]]} and usage["usagePlanId"] == plan
        s3.create_bucket(Bucket="usageplans")
        s3.put_object(Bucket="usageplans", Key=f"{plan}/usage", Body=b"an object")
        assert s3.get_object(Bucket="usageplans", Key=f"{plan}/usage")["Body"].read() == b"an object"
        code, _, body = emulated.http("GET", f"{status.endpoint_url}/usageplans/{plan}/usage?startDate={today}"
                                             f"&endDate={today}")
        assert code == 403 and b"Request is missing Authentication Token" in body
