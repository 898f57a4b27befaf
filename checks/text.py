"""Text from outside (API bodies, headers, exception messages) made safe to store, show and
send: every string that crosses the boundary goes through `clean`.

A lone surrogate cannot be encoded to UTF-8 (the database, the page and JSON output would
fail on it); NUL and control characters break one-line summaries and terminals (an escape
sequence can rewrite an operator's screen); bidirectional overrides make a message read
differently from what it says.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 and C1 controls and DEL; tab and line breaks are folded to a space instead.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BREAKS = re.compile("[\t\n\r]+")
# Embeddings, overrides and isolates: U+202A to U+202E, U+2066 to U+2069, and the marks.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def clean(text: str, *, keep_lines: bool = False) -> str:
    """The text with surrogates, control characters and bidi controls replaced."""
    text = _SURROGATE.sub(REPLACEMENT, text)
    if not keep_lines:
        text = _BREAKS.sub(" ", text)
    text = _CONTROL.sub(REPLACEMENT, text)
    return _BIDI.sub(REPLACEMENT, text)
