"""Secrets never reach the database, logs, the site or alert payloads: keep the last four.

An API (or a proxy in front of it) may echo a key back in a header, an error message or a
200 body, and not always as sent: upper-cased, without its `sk-` prefix, with a Unicode
hyphen, in full-width letters. So a secret is matched by its distinctive tail, case-
insensitively, after Unicode normalisation, and the whole key-like run around the match goes.
Every string also leaves here cleaned (see `checks.text`), as the redactor is the last step
before anything is stored or sent.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from checks.base import fingerprint
from checks.text import clean

# OpenAI keys (sk-…, sk-proj-…, sk-admin-…), also when the API already masked the middle.
_KEY = re.compile(r"sk-[A-Za-z0-9_\-*]{6,}")
# Tokens fetched at run time (Microsoft Entra ID's, for `auth = "entra"`) are in no config, so
# no tail can name them: a JWT (base64url `{"…` header, a payload, maybe a signature) goes by
# its shape, and a long run with a digit after `Bearer` goes too, whatever its shape.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?", re.IGNORECASE)
_BEARER = re.compile(r"\b(bearer\s+)(?!\[)(?=[^\s\"',;]*\d)([^\s\"',;]{16,})", re.IGNORECASE)
MIN_SECRET = 8
TAIL = 12  # enough to be unique to one key, short enough to survive a truncated echo
# Characters that render as a hyphen; NFKC leaves most of them alone.
_DASHES = str.maketrans(
    dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d", "-")
)
# The key-like characters, and those IGNORECASE would also let the class match (dotted and
# dotless i, long s, Kelvin sign) spelt out: the class then needs no case folding, which was
# two thirds of compiling each secret's pattern (a thousand accounts, a thousand patterns).
_KEYISH = "[A-Za-z0-9_\\-*.\u0130\u0131\u017f\u212a]*"
CACHED_LENGTH = 64
CACHE_SIZE = 10_000


def _token(match: re.Match[str]) -> str:
    """A run-time token's replacement: what `fingerprint` shows of it."""
    return "[token " + fingerprint(match.group(match.lastindex or 0)) + "]"


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_DASHES)


def trie_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of `words`, shaped as their trie: the matcher
    follows one branch per character instead of trying every word at every position."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + render(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return render(trie)


@functools.lru_cache(maxsize=4096)
def secret_pattern(tail: str) -> re.Pattern[str]:
    """The key-like run around a secret's tail, in any case."""
    return re.compile(_KEYISH + "(?i:" + re.escape(tail) + ")" + _KEYISH)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found = {normalise(s.strip()) for s in secrets if len(s.strip()) >= MIN_SECRET}
        # Longest first, so a key that contains another is replaced whole.
        # Each secret's pattern is compiled when its tail is first met: a config of a
        # thousand accounts holds two thousand secrets, and a daemon runs many rounds.
        self._secrets = [
            (secret[-TAIL:].lower(), secret[-TAIL:], "[secret " + fingerprint(secret) + "]")
            for secret in sorted(found, key=len, reverse=True)
        ]
        tails = {tail for tail, _, _ in self._secrets}
        # With a thousand accounts, testing every tail against every string cost more than
        # the probes: one pass of a trie finds the candidate tails (overlapping matches);
        # a tail that is a prefix of another can hide behind it there, so it is always tried.
        self._finder = re.compile(f"(?=({trie_pattern(tails)}))") if tails else None
        ordered = sorted(tails)  # the words a tail starts follow it in sorted order
        self._hidden = {t for t, o in itertools.pairwise(ordered) if o.startswith(t)}
        self._shortest = min((len(t) for t in tails), default=0)
        # Where each tail's secrets stand in the longest-first order: a string that holds a
        # candidate tries that tail's secrets, not all of them (a thousand accounts' org ids
        # may share a key's tail, and every probe's headers carry one).
        self._positions: dict[str, list[int]] = {}
        for position, (tail, _, _) in enumerate(self._secrets):
            self._positions.setdefault(tail, []).append(position)
        # Details repeat the same short strings (keys, statuses, sizes) in every probe.
        self._cache: dict[str, str] = {}

    def text(self, value: str) -> str:
        if len(value) <= CACHED_LENGTH:
            cached = self._cache.get(value)
            if cached is None:
                if len(self._cache) >= CACHE_SIZE:
                    self._cache.clear()
                cached = self._cache[value] = self._text(value)
            return cached
        return self._text(value)

    def _text(self, value: str) -> str:
        value = clean(value)
        normalised = normalise(value)
        if self._finder is not None and len(normalised) >= self._shortest:
            lowered = normalised.lower()
            candidates = {m.group(1) for m in self._finder.finditer(lowered)}
            tried = sorted(
                position
                for tail in (candidates | self._hidden if candidates else ())
                for position in self._positions.get(tail, ())
            )
            for tail, raw_tail, replacement in (self._secrets[p] for p in tried):
                if tail in lowered:
                    normalised = secret_pattern(raw_tail).sub(replacement, normalised)
                    value, lowered = normalised, normalised.lower()
        value = _KEY.sub(lambda m: "sk-" + fingerprint(m.group(0)), value)
        if _JWT.search(normalised) or _BEARER.search(normalised):
            if not (_JWT.search(value) or _BEARER.search(value)):
                value = normalise(value)  # the token hides in full-width or other look-alikes
            value = _JWT.sub(_token, value)
            value = _BEARER.sub(lambda m: m.group(1) + _token(m), value)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value
