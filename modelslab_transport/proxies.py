"""The proxies the environment names, as httpx2 reads them, shown without credentials.

httpx2 (with ``trust_env``, its default) sends through the proxies that
``urllib.request.getproxies()`` finds: ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``ALL_PROXY``
(either case), skipping the hosts ``NO_PROXY`` lists. Errors name the proxy a request
went to, or the one httpx2 could not use, with any user and password shown as ``***``.
"""

from __future__ import annotations

import urllib.parse
import urllib.request

import httpx2

__all__ = ["environment_proxies", "environment_proxy_for", "shown_proxy"]

_READ_BY_HTTPX2 = ("http", "https", "all")


def shown_proxy(proxy: str) -> str:
    """``proxy`` as ``scheme://host:port``, with ``***@`` where it carries credentials."""
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    credentials, _, host = parts.netloc.rpartition("@")
    return f"{parts.scheme}://{'***@' if credentials else ''}{host}"


def environment_proxies() -> dict[str, str]:
    """The proxy variables httpx2 reads that are set: ``{"HTTPS_PROXY": shown URL}``."""
    proxies = urllib.request.getproxies()
    return {
        f"{scheme.upper()}_PROXY": shown_proxy(proxies[scheme])
        for scheme in _READ_BY_HTTPX2
        if proxies.get(scheme)
    }


def environment_proxy_for(url: httpx2.URL) -> tuple[str, str] | None:
    """The proxy the environment names for ``url``: (shown URL, variable), or None.

    None too when ``NO_PROXY`` exempts ``url``'s host.
    """
    proxies = urllib.request.getproxies()
    if not proxies or urllib.request.proxy_bypass(url.host):
        return None
    for key in (url.scheme, "all"):
        proxy = proxies.get(key)
        if proxy:
            return shown_proxy(proxy), f"{key.upper()}_PROXY"
    return None
