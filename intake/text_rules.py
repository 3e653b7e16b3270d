"""The one rule for what typed text may reach a title, a name, a subject, a card or a DevOps field.

Removed everywhere: C0 controls (tab and, where several lines are allowed, line breaks kept),
DEL, C1 controls, bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069: they make
``Invoice \\u202egnp.exe\\u202c`` read "Invoice exe.png" where staff decide) and zero-width
characters (U+200B-U+200D, U+2060, U+FEFF: invisible text that hides what a word really is).
Line breaks: NEL (U+0085), LINE and PARAGRAPH SEPARATOR (U+2028, U+2029) and CR LF are
line breaks to every renderer; a multi-line text keeps each as ``\\n``, a one-line text gets a
space for each. Everything else is kept exactly as typed (escaping is the renderer's job).

Lengths are counted in UTF-16 code units, as DevOps counts them (an emoji is 2).
"""

from __future__ import annotations

LINE_BREAKS = "\r\n\x85\u2028\u2029"

_REMOVED = {
    **dict.fromkeys(range(0x00, 0x20)),  # C0 (tab and line breaks are put back below)
    0x7F: None,  # DEL
    **dict.fromkeys(range(0x80, 0xA0)),  # C1
    **dict.fromkeys(range(0x202A, 0x202F)),  # bidi embeddings and overrides
    **dict.fromkeys(range(0x2066, 0x206A)),  # bidi isolates
    **dict.fromkeys([0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]),  # zero-width
}
_MULTI_LINE = {
    **_REMOVED,
    0x09: "\t",
    0x0A: "\n",
    0x0D: "\n",
    0x85: "\n",
    0x2028: "\n",
    0x2029: "\n",
}
_ONE_LINE = {**_MULTI_LINE, 0x0A: " ", 0x0D: " ", 0x85: " ", 0x2028: " ", 0x2029: " "}


def clean_text(text: str, *, one_line: bool = False) -> str:
    """``text`` with what the rule removes removed; line breaks kept as ``\\n`` or, on one
    line, made spaces (CR LF counts as one break)."""
    text = text.replace("\r\n", "\n")
    return text.translate(_ONE_LINE if one_line else _MULTI_LINE)


def has_line_break(text: str) -> bool:
    """Whether any renderer would start a new line in ``text``."""
    return any(ch in LINE_BREAKS for ch in text)


def utf16_length(text: str) -> int:
    """The length DevOps (and .NET, and JavaScript) gives ``text``."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def unpaired_surrogate(text: str) -> str | None:
    """The first lone UTF-16 surrogate in ``text`` as ``\\udXXX``, if any: JSON can carry one
    escaped, but no UTF-8 store, email or API can take it."""
    for ch in text:
        if 0xD800 <= ord(ch) <= 0xDFFF:
            return f"\\u{ord(ch):04x}"
    return None


def printable_name(text: str) -> str:
    """``text`` safe to put in an error answer or a log line (surrogates shown escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
