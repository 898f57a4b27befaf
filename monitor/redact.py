"""Secrets never reach the database, logs, the site or alert payloads: keep the last four."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from checks.base import fingerprint

# OpenAI keys (sk-…, sk-proj-…, sk-admin-…), also when the API already masked the middle.
_KEY = re.compile(r"sk-[A-Za-z0-9_\-*]{6,}")


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a key that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, "[secret " + fingerprint(secret) + "]")
        return _KEY.sub(lambda m: "sk-" + fingerprint(m.group(0)), value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value
