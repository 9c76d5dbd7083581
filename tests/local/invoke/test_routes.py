"""Route matching as API Gateway does it: literal > {param} > {greedy+}, ANY fallback, else 403."""
from __future__ import annotations

import pytest

from wildrydes_cli.local.invoke.routes import Resource, function_arn_from_uri, match_resource

RESOURCES = [
    Resource("root", "/", {"ANY": ("AWS_PROXY", "u", False, "NONE")}),
    Resource("breeds", "/breeds", {"GET": ("AWS_PROXY", "u", False, "NONE")}),
    Resource("breed", "/breeds/{breed}", {"ANY": ("AWS_PROXY", "u", False, "NONE")}),
    Resource("special", "/breeds/unicorn", {"ANY": ("AWS_PROXY", "u", False, "NONE")}),
    Resource("proxy", "/files/{proxy+}", {"ANY": ("AWS_PROXY", "u", False, "NONE")}),
]


@pytest.mark.parametrize("path, resource_id, params", [
    ("/", "root", {}),
    ("", "root", {}),
    ("/breeds", "breeds", {}),
    ("/breeds/", "breeds", {}),
    ("/breeds/pegasus", "breed", {"breed": "pegasus"}),
    ("/breeds/unicorn", "special", {}),
    ("/breeds/sea%20horse", "breed", {"breed": "sea horse"}),
    ("/files/a/b/c.txt", "proxy", {"proxy": "a/b/c.txt"}),
])
def test_best_match(path, resource_id, params):
    resource, found = match_resource(RESOURCES, path)
    assert resource.resource_id == resource_id and found == params


@pytest.mark.parametrize("path", ["/nope", "/breeds/a/b", "/files", "/files/"])
def test_no_match_is_none(path):
    assert match_resource(RESOURCES, path) is None


def test_root_only_api_matches_nothing_below_root():
    assert match_resource([Resource("root", "/", {})], "/score") is None


def test_function_arn_from_integration_uri():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:wildrydes-fn"
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"
    assert function_arn_from_uri(uri) == arn
    assert function_arn_from_uri("http://example.com/") is None
    assert function_arn_from_uri(None) is None
