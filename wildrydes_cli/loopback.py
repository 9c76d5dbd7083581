"""Requests to this machine's loopback (the local target) never go through a proxy from the environment.

Why: a shell that exports HTTP_PROXY (a company proxy) makes urllib and botocore send
``http://127.0.0.1:4566`` to that proxy, which cannot reach this machine's loopback, unless
NO_PROXY names it. `wildrydes local start` then waited 30 s for a daemon that was up and
every command failed. Real AWS endpoints still use the proxy, as the user set it up.
"""
from __future__ import annotations

import functools
import urllib.request
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(url: str) -> bool:
    try:
        return urlsplit(url).hostname in LOOPBACK_HOSTS
    except ValueError:
        return False


def direct_opener(url: str) -> urllib.request.OpenerDirector | None:
    """An opener without proxies for a loopback ``url``; None for any other (urllib.request.urlopen then,
    which follows the environment's proxy as the user set it up)."""
    return _no_proxies() if is_loopback(url) else None


@functools.cache
def _no_proxies() -> urllib.request.OpenerDirector:
    """Built once: `predict --file` posts ride after ride."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def proxy_in_the_way(url: str) -> str | None:
    """The proxy other programs in this environment (the AWS CLI, SDKs) would send ``url`` to, or None
    (no proxy set, or NO_PROXY names the host)."""
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None
    bypass = getattr(urllib.request, "proxy_bypass_environment")    # NO_PROXY's rules, as urllib applies them
    return None if bypass(parts.hostname or "", proxies) else proxy
