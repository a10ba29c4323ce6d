"""The proxies the environment names (as httpx2 reads them), shown without credentials."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

import httpx2

__all__ = [
    "environment_may_proxy",
    "environment_proxies",
    "environment_proxy_for",
    "shown_proxy",
    "unusable_proxy_reason",
]

_READ_BY_HTTPX2 = ("http", "https", "all")
_CREDENTIALS = re.compile(r"//[^/@\s]*@")


def shown_proxy(proxy: str) -> str:
    """``proxy`` as ``scheme://host:port``, with ``***@`` where it carries credentials."""
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    credentials, _, host = parts.netloc.rpartition("@")
    return f"{parts.scheme}://{'***@' if credentials else ''}{host}"


def environment_proxies() -> dict[str, str]:
    """The set proxy variables httpx2 reads, ``{"HTTPS_PROXY": value}``, credentials ``***``."""
    proxies = urllib.request.getproxies()
    return {
        f"{scheme.upper()}_PROXY": _CREDENTIALS.sub("//***@", proxies[scheme])
        for scheme in _READ_BY_HTTPX2
        if proxies.get(scheme)
    }


def unusable_proxy_reason() -> str | None:
    """Why a proxy variable cannot be used (blanks, bad port, not a URL), or None."""
    for proxy in urllib.request.getproxies().values():
        if proxy != proxy.strip():
            return "a proxy URL must not have blanks around it"
        try:
            urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}").port  # noqa: B018 - raises for a bad port
        except ValueError as exc:
            if "port" in str(exc).lower():
                return "a proxy's port must be a number from 0 to 65535"
            return "httpx2 cannot read it as a proxy URL (scheme://host:port)"
    return None


def environment_proxy_for(url: httpx2.URL) -> tuple[str, str] | None:
    """(shown proxy, variable) the environment sends ``url`` through, or None (``NO_PROXY``)."""
    proxies = urllib.request.getproxies()
    if not proxies or urllib.request.proxy_bypass(url.host):
        return None
    for key in (url.scheme, "all"):
        proxy = proxies.get(key)
        if proxy:
            return shown_proxy(proxy), f"{key.upper()}_PROXY"
    return None


def environment_may_proxy(url: str | None) -> bool:
    """Whether httpx2, trusting the environment, may send requests to ``url`` via a proxy.

    False only when certain: no variable for its scheme or ``ALL_PROXY``, or ``NO_PROXY``
    is ``*`` or its exact host. ``url`` None: whether any proxy variable is set.
    """
    proxies = urllib.request.getproxies()
    if url is None:
        return any(proxies.get(scheme) for scheme in _READ_BY_HTTPX2)
    parsed = httpx2.URL(url)
    if not (proxies.get(parsed.scheme) or proxies.get("all")):
        return False
    host = parsed.host.lower().rstrip(".")
    exempt = {entry.strip().lower().rstrip(".") for entry in proxies.get("no", "").split(",")}
    return not ("*" in exempt or host in exempt)
