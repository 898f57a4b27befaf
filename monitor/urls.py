"""Where an account's requests go: a URL from the config is refused unless it is plainly a
scheme, an ASCII host and (for a `base_url`) a path.

Each refused shape is a way a value would silently change what is called or leak what is
sent: a user and password (httpx turns them into Basic auth, which replaces the Bearer key,
and they would be shown as part of the URL), a query or fragment (the paths the checks append
would land inside it), whitespace, control characters or a backslash (parsers disagree on
where the host ends), a non-ASCII host (a Cyrillic o, U+043E, or a full-width letter looks like the
real resource; IDN hosts are written in punycode, `xn--…`), a `.`/`..` path segment. The
problem repeats no URL that may carry a secret.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_PATH = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")  # RFC 3986: pchar and "/"


def url_problem(url: str, *, path_allowed: bool) -> str | None:
    """Why `url` is refused as where an account's requests go; None when it is fine."""
    odd = next((c for c in url if not c.isascii() or not c.isprintable() or c in " \\"), None)
    if odd is not None:
        return (
            f"contains {odd!a} at position {url.index(odd)}: whitespace, control "
            "characters, backslashes and non-ASCII letters are refused (an international "
            "host is written in punycode, xn--…)"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        shown = "" if set(url) & set("@?#") else f"{url!r} "  # what could carry a secret
        return f"{shown}must start with http:// or https:// and a host"
    if "@" in parts.netloc:
        return "must not carry a user or password (the key goes in api_key_env)"
    if "?" in url or "#" in url:
        return "must not carry a query or fragment (the checks append the API's own paths)"
    host = parts.hostname or ""
    if not (_HOST.fullmatch(host) or host == "::1"):
        return f"{host!r} is not a host name"
    try:
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    path = parts.path
    if not path_allowed and path.strip("/"):
        return "must be the resource's origin, without a path"
    segments = path.split("/")
    if not _PATH.fullmatch(path) or "." in segments or ".." in segments:
        return "has a path that is not plain segments"
    return None
