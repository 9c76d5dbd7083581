"""The function's SigV4 signer (lambda/sigv4.py) against botocore as the oracle, and AWS's published vectors.

botocore signs every request boto3 sends to S3; if our Authorization header
equals its for the same request, credentials and instant, S3 accepts ours.
"""
from __future__ import annotations

import datetime

import botocore.auth
import pytest
import s3get
import sigv4
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

WHEN = datetime.datetime(2026, 11, 26, 1, 2, 3)
STAMP = "20261126T010203Z"

KEYS = [
    "linear-learner-2026-11-24-10-00-00-000/output/model.tar.gz",
    "breeds/shire/latest.json",
    "a key with spaces.tar.gz",
    "unicode/éñ—日本語/model.tar.gz",
    "plus+and=equals&amp/x.tar.gz",
    "tilde~/under_score/dot.dash-",
    "double//slash/./dot/../up",
    "percent%20literal/colon:semi;comma,at@",
    "star*(paren)!'quote",
]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1"]
TOKENS = [None, "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token/with=chars"]


def botocore_headers(url: str, region: str, token: str | None, params=None) -> dict:
    """What botocore's S3 signer sends for a GET of ``url`` at WHEN."""
    request = AWSRequest(method="GET", url=url, params=params or {})
    credentials = Credentials("AKIAEXAMPLEKEY", "wJalr/XUtnFEMI+K7MDENG=bPxRfiCYEXAMPLE", token)
    signer = botocore.auth.S3SigV4Auth(credentials, "s3", region)
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: WHEN
    try:
        signer.add_auth(request)
    finally:
        botocore.auth.get_current_datetime = original
    return dict(request.headers.items())


def ours(client: s3get.S3Client, bucket: str, key: str, token: str | None, query=()) -> tuple[str, dict]:
    """(URL, headers) our client would send for the same GET."""
    host, path = client._address(bucket, key)
    encoded = sigv4.canonical_query(query)
    headers = sigv4.sign("GET", host, path, encoded, access_key="AKIAEXAMPLEKEY",
                         secret_key="wJalr/XUtnFEMI+K7MDENG=bPxRfiCYEXAMPLE", token=token,
                         region=client.region, timestamp=STAMP)
    url = f"{client.scheme}://{host}{path}" + (f"?{encoded}" if encoded else "")
    return url, headers


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("token", TOKENS, ids=["no-token", "session-token"])
@pytest.mark.parametrize("style", ["virtual", "path"])
def test_signature_equals_botocores(key, region, token, style):
    client = s3get.S3Client(region, addressing=style)
    url, headers = ours(client, "wildrydes-data-123", key, token)
    expected = botocore_headers(url, region, token)
    assert headers["Authorization"] == expected["Authorization"]
    assert headers["X-Amz-Date"] == expected["X-Amz-Date"] == STAMP
    assert headers["X-Amz-Content-SHA256"] == expected["X-Amz-Content-SHA256"]
    assert headers.get("X-Amz-Security-Token") == expected.get("X-Amz-Security-Token")


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:4566", "http://localhost:9000/prefix",
                                      "https://minio.example.internal"])
def test_signature_equals_botocores_on_custom_endpoints(endpoint):
    """Hosts with ports and a base path, as the local target and other emulators use."""
    client = s3get.S3Client("us-west-2", endpoint)
    url, headers = ours(client, "bucket.with.dots", "breeds/a b/latest.json", "token")
    assert headers["Authorization"] == botocore_headers(url, "us-west-2", "token")["Authorization"]


@pytest.mark.parametrize("query", [
    [("list-type", "2"), ("prefix", "breeds/"), ("delimiter", "/"), ("max-keys", "100")],
    [("list-type", "2"), ("prefix", "breeds/a b+c=d~é/"), ("start-after", "breeds/shire/~"), ("max-keys", "1")],
])
def test_query_signature_equals_botocores(query):
    """ListObjectsV2 (GET /breeds): botocore encodes and sorts ``params`` itself."""
    client = s3get.S3Client("eu-central-1")
    url, headers = ours(client, "wildrydes-data-123", "", None, query)
    bare = url.partition("?")[0]
    assert headers["Authorization"] == botocore_headers(bare, "eu-central-1", None, dict(query))["Authorization"]
    # and sent as-is on the request line, botocore's URL form signs the same
    assert headers["Authorization"] == botocore_headers(url, "eu-central-1", None)["Authorization"]


def test_addressing_styles():
    aws = s3get.S3Client("eu-west-1")
    assert aws._address("wildrydes-data", "a b") == ("wildrydes-data.s3.eu-west-1.amazonaws.com", "/a%20b")
    # dots would break TLS wildcard certificates: path-style
    assert aws._address("my.bucket", "k") == ("s3.eu-west-1.amazonaws.com", "/my.bucket/k")
    local = s3get.S3Client("us-east-1", "http://127.0.0.1:5000")
    assert local._address("wildrydes-data", "k") == ("127.0.0.1:5000", "/wildrydes-data/k")
    assert s3get.S3Client("cn-north-1")._address("b-1", "k")[0] == "b-1.s3.cn-north-1.amazonaws.com.cn"


# -- AWS's published examples, typed in from the documentation --------------------------

GENERIC = dict(access_key="AKIDEXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token=None,
               region="us-east-1", service="service", timestamp="20150830T123600Z",
               content_sha256_header=False)


def test_sigv4_test_suite_get_vanilla():
    """aws-sig-v4-test-suite/get-vanilla (AWS General Reference, Signature Version 4 test suite)."""
    headers = sigv4.sign("GET", "example.amazonaws.com", "/", "", **GENERIC)
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")


def test_sigv4_test_suite_get_vanilla_query_order_key_case():
    """get-vanilla-query-order-key-case: ``?Param2=value2&Param1=value1`` is sorted before signing."""
    query = sigv4.canonical_query([("Param2", "value2"), ("Param1", "value1")])
    assert query == "Param1=value1&Param2=value2"
    headers = sigv4.sign("GET", "example.amazonaws.com", "/", query, **GENERIC)
    assert headers["Authorization"].endswith(
        "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")


def test_s3_documentation_get_object_example():
    """The S3 API reference's GetObject example (sig-v4-header-based-auth): a Range GET of test.txt."""
    headers = sigv4.sign("GET", "examplebucket.s3.amazonaws.com", "/test.txt", "",
                         access_key="AKIAIOSFODNN7EXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                         token=None, region="us-east-1", timestamp="20130524T000000Z",
                         extra_headers={"Range": "bytes=0-9"})
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def test_amz_date_is_utc():
    assert sigv4.amz_date(0) == "19700101T000000Z"
    assert sigv4.amz_date(1_795_654_923) == "20261126T010203Z"
