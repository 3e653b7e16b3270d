"""The triage card's headline: what the channel is asked, worded for the request.

The scenario's sentence ("Urgent: can someone please have a look ...") is for a production
incident; printed on every card it stops meaning anything. So the headline follows the
request's type and severity, through rules a team can reword (``INTAKE_HEADLINES``): the first
rule whose type and severity match gives the text. Pure: no I/O, tested without fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from string import Formatter

from pydantic import BaseModel, ConfigDict, Field, field_validator

# What a headline's text may name, in braces: "{number}" is the work item's number.
PLACEHOLDERS = ("number", "request_type", "severity", "environment")


class HeadlineRule(BaseModel):
    """One rule: ``text`` for requests of one of ``request_types`` (empty: any type) at one of
    ``severities`` (empty: any severity); both compared without regard to case or spaces."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_types: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    text: str = Field(min_length=1, max_length=500)

    @field_validator("text")
    @classmethod
    def _names_known_placeholders(cls, text: str) -> str:
        # A configured text is formatted with the request's values: only plain names are
        # allowed ("{number.__class__}" or "{severity!r:>99}" would be more than wording).
        for _, name, spec, conversion in Formatter().parse(text):
            if name is None:
                continue
            if name not in PLACEHOLDERS or spec or conversion:
                raise ValueError(
                    f"{{{name}}} is not a headline placeholder; use {', '.join(PLACEHOLDERS)}"
                )
        return text

    def matches(self, request_type: str, severity: str) -> bool:
        return _among(request_type, self.request_types) and _among(severity, self.severities)


URGENT = (
    "Urgent: can someone please have a look at the Production Support ticket #{number} "
    "and let me know what we should do with this one"
)
DEFAULT_HEADLINES: tuple[HeadlineRule, ...] = (
    HeadlineRule(
        request_types=("Production Support",), severities=("Critical", "High"), text=URGENT
    ),
    HeadlineRule(
        request_types=("Production Support",),
        text="Production Support ticket #{number} ({severity}): what should we do with it?",
    ),
    HeadlineRule(
        severities=("Critical", "High"),
        text="{request_type} ticket #{number}, severity {severity}: please have a look soon "
        "and say what we should do with it",
    ),
    HeadlineRule(text="New ticket #{number}: what should we do with it?"),
)
FALLBACK = "New ticket #{number}: what should we do with it?"


def headline(
    rules: tuple[HeadlineRule, ...] | list[HeadlineRule],
    *,
    number: int,
    request_type: str,
    severity: str,
    environment: str = "",
    escape: Callable[[str], str] = str,
) -> str:
    """The headline of the first matching rule (none: a calm fallback), filled in with the
    request's values, each passed through ``escape`` (what a person typed, for the card)."""
    text = next((r.text for r in rules if r.matches(request_type, severity)), FALLBACK)
    values = {
        "number": str(number),
        "request_type": escape(request_type or "support"),
        "severity": escape(severity or "not given"),
        "environment": escape(environment or "not given"),
    }
    return text.format_map(values)


def _among(value: str, allowed: tuple[str, ...]) -> bool:
    if not allowed:
        return True
    wanted = _folded(value)
    return any(_folded(option) == wanted for option in allowed)


def _folded(value: str) -> str:
    return " ".join(value.split()).casefold()
