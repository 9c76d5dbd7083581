"""The local target's loopback is never sent to a proxy from the environment (wildrydes_cli/loopback.py)."""
from __future__ import annotations

import urllib.request

import pytest

from wildrydes_cli import loopback

PROXY = "http://proxy.example:3128"


@pytest.mark.parametrize("url", ["http://127.0.0.1:4566", "http://localhost:4566/restapis/x/prod/_user_request_/",
                                 "http://[::1]:4566/"])
def test_loopback_urls_get_an_opener_without_proxies(url, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", PROXY)
    assert loopback.is_loopback(url)
    # urllib's default opener would add a ProxyHandler with the environment's proxy; this one has none
    opener = loopback.direct_opener(url)
    assert opener is not None and not any(isinstance(h, urllib.request.ProxyHandler) for h in opener.handlers)
    assert any(isinstance(h, urllib.request.ProxyHandler) for h in urllib.request.build_opener().handlers)


def test_other_urls_keep_the_users_proxy(monkeypatch):
    """Real AWS behind a company proxy still goes through it."""
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/"
    assert not loopback.is_loopback(url) and not loopback.is_loopback("http://127.0.0.1.example.com/")
    assert loopback.direct_opener(url) is None        # predict then calls urllib.request.urlopen, proxy and all
    assert urllib.request.getproxies().get("https") == PROXY


def test_the_proxy_other_programs_would_use_follows_no_proxy(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert loopback.proxy_in_the_way("http://127.0.0.1:4566") is None
    monkeypatch.setenv("http_proxy", PROXY)
    assert loopback.proxy_in_the_way("http://127.0.0.1:4566") == PROXY
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    assert loopback.proxy_in_the_way("http://127.0.0.1:4566") is None
    monkeypatch.delenv("no_proxy")
    monkeypatch.delenv("http_proxy")
    monkeypatch.setenv("all_proxy", PROXY)
    assert loopback.proxy_in_the_way("http://127.0.0.1:4566") == PROXY


def test_a_url_that_is_not_one_is_not_loopback():
    assert not loopback.is_loopback("http://[::1")          # urlsplit's ValueError
    assert not loopback.is_loopback("")


def test_botocore_clients_skip_the_environments_proxy_for_the_local_target_only(aws, monkeypatch, tmp_path):
    """Config(proxies={}) for a loopback endpoint (botocore then reads no proxy from the environment); None
    for real AWS, where botocore takes HTTPS_PROXY as the user set it up."""
    import boto3
    from cli_helpers import aws_for

    from wildrydes_cli.settings import Settings
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    local = aws_for(Settings(target="local", endpoint_url="http://127.0.0.1:4566", state_dir=tmp_path),
                    session=boto3.session.Session())
    real = aws_for(Settings(target="aws", region="us-east-1", state_dir=tmp_path), session=boto3.session.Session())
    assert local.client("s3").meta.config.proxies == {}
    assert real.client("s3").meta.config.proxies is None
