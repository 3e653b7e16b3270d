"""From the raw Forms body to a validated ``Request``: every bad field is named, none is guessed.

The body is ``{"formId", "responseId", "response": <Get response details body as is>}``. Answers
are keyed by question id; the field map (``forms/field-map.json``) says which id is which field.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter, ValidationError

from intake.errors import InvalidSubmission, UnknownForm
from intake.models import Answer, Request
from intake.text_rules import (
    clean_text,
    has_line_break,
    printable_name,
    unpaired_surrogate,
    utf16_length,
)

MAX_ANSWERS = 200
MAX_NESTING = 32  # a submission is 2 levels deep; anything far deeper is not a form
MAX_ANSWER_CHARS = 8_000
MAX_FIELD_CHARS = {
    "title": 255,  # System.Title's limit in DevOps
    "description": 8_000,
    "request_type": 100,
    "environment": 100,
    "severity": 50,
    "client_name": 200,
    "client_email": 254,
    "organisation": 200,
}
# Every field but the description is one line wherever it shows (a subject, a card fact, a
# DevOps field); the title refuses a line break, the others get a space for one.
MULTI_LINE_FIELDS = frozenset({"description"})
# Python refuses to turn more digits than this into an int (CVE-2020-10735); json.loads would
# raise a bare ValueError mid-parse. Forms sends every answer as a string, so no number is
# ever needed: a longer one is kept as its digits and refused as a wrong type like any other.
MAX_INT_DIGITS = 4_300
ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,128}$"
_email = TypeAdapter(EmailStr)


class Submission(BaseModel):
    """The envelope the form's flow posts."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    form_id: str = Field(alias="formId", pattern=ID_PATTERN)
    response_id: str = Field(alias="responseId", pattern=ID_PATTERN)
    # Forms' Get response details sends every answer as a string (a choice, a date, a number
    # typed into a number question); anything else was not sent by Forms and is refused.
    response: dict[str, str] = Field(max_length=MAX_ANSWERS + 10)


class _LongInteger:
    """A JSON integer too long for ``int``: kept as its digits, refused by the model."""

    def __init__(self, digits: str) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<integer of {len(self.digits)} digits>"


def _parse_int(digits: str) -> int | _LongInteger:
    return int(digits) if len(digits) <= MAX_INT_DIGITS else _LongInteger(digits)


def parse_body(body: bytes, content_type: str | None, *, max_bytes: int) -> Submission:
    """Check the transport-level shape: size, content type, UTF-8 JSON, the envelope."""
    if len(body) > max_bytes:
        raise InvalidSubmission(
            f"The body is {len(body)} bytes; the limit is {max_bytes}.",
            status=413,
            slug="body-too-large",
            title="The submission is too large",
        )
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise InvalidSubmission(
            f"Send the submission as application/json, not {media_type or 'no content type'}.",
            status=415,
            slug="unsupported-media-type",
            title="Unsupported content type",
        )
    if not body.strip():
        raise InvalidSubmission(
            "The body is empty; send the form's submission as JSON.",
            status=400,
            slug="malformed-json",
            title="The body is not valid JSON",
        )
    brackets = body.count(b"[") + body.count(b"{")  # at C speed: most bodies stop here
    if brackets > MAX_NESTING and nesting_depth(body) > MAX_NESTING:
        # Checked before parsing: a deep enough document makes json.loads recurse until
        # Python's recursion limit, which is slow and can fail anywhere on the way back.
        raise InvalidSubmission(
            f"The body is nested more than {MAX_NESTING} levels deep.",
            status=400,
            slug="malformed-json",
            title="The body is not valid JSON",
        )
    try:
        data = json.loads(body.decode("utf-8"), parse_int=_parse_int)
    except UnicodeDecodeError as exc:
        raise InvalidSubmission(
            f"The body is not UTF-8 (byte {exc.start}).",
            status=400,
            slug="malformed-json",
            title="The body is not valid JSON",
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidSubmission(
            f"The body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.",
            status=400,
            slug="malformed-json",
            title="The body is not valid JSON",
        ) from None
    except RecursionError:
        raise InvalidSubmission(
            "The body is nested too deeply.",
            status=400,
            slug="malformed-json",
            title="The body is not valid JSON",
        ) from None
    if not isinstance(data, dict):
        raise InvalidSubmission(
            "The body must be a JSON object with formId, responseId and response.",
            errors=[
                {"field": "(body)", "message": f"expected an object, got {type(data).__name__}"}
            ],
        )
    surrogates = list(_lone_surrogates(data, ""))
    if surrogates:
        # Valid JSON (an escaped "\ud800"), but not text: no store, email or API takes it.
        raise InvalidSubmission("The submission has invalid text.", errors=surrogates)
    try:
        return Submission.model_validate(data)
    except ValidationError as exc:
        raise InvalidSubmission(
            "The submission has invalid fields.", errors=_field_errors(exc)
        ) from None


def _lone_surrogates(value: Any, path: str) -> Any:
    """An error for each key or string under ``value`` holding a lone UTF-16 surrogate."""
    if isinstance(value, str):
        surrogate = unpaired_surrogate(value)
        if surrogate:
            yield {
                "field": path or "(body)",
                "message": f"holds a lone UTF-16 surrogate ({surrogate}); send valid Unicode",
            }
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{printable_name(key)}" if path else printable_name(key)
            surrogate = unpaired_surrogate(key)
            if surrogate:
                yield {
                    "field": name,
                    "message": f"has a lone UTF-16 surrogate ({surrogate}) in its name",
                }
            yield from _lone_surrogates(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _lone_surrogates(item, f"{path}[{index}]")


def nesting_depth(body: bytes) -> int:
    """The deepest nesting of JSON arrays and objects, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def to_request(submission: Submission, field_maps: dict[str, Any]) -> Request:
    """Map answers to request fields through the form's field map, checking each one."""
    form = field_maps.get("forms", {}).get(submission.form_id)
    if form is None:
        raise UnknownForm(
            f"No field map for form {submission.form_id!r}; add it to the field map file.",
            errors=[{"field": "formId", "message": "unknown form"}],
        )
    answers_by_id = {
        clean_text(k, one_line=True): clean_text(v) for k, v in submission.response.items()
    }
    errors: list[dict[str, str]] = []
    values: dict[str, str] = {}
    # A signed-in form names its responder: that address, not a typed one, gets the emails.
    responder = _valid_email(answers_by_id.get("responder", "").strip())
    for name, question_id in form["fields"].items():
        text = answers_by_id.get(question_id, "").strip()
        if name == "client_email" and responder:
            values[name] = responder
            continue
        location = f"response.{question_id} ({name})"
        limit = MAX_FIELD_CHARS.get(name, MAX_ANSWER_CHARS)
        if not text and name in form.get("required", []):
            errors.append({"field": location, "message": "is required"})
        elif utf16_length(text) > limit:
            errors.append({"field": location, "message": _too_long(limit, text)})
        elif name == "title" and has_line_break(text):
            errors.append({"field": location, "message": "must be a single line"})
        elif name not in MULTI_LINE_FIELDS:
            text = clean_text(text, one_line=True)
        values[name] = text
    if values.get("client_email") and not responder:
        try:
            values["client_email"] = str(_email.validate_python(values["client_email"]))
        except ValidationError:
            errors.append(
                {
                    "field": f"response.{form['fields']['client_email']} (client_email)",
                    "message": "is not a valid email address",
                }
            )
    questions: dict[str, str] = form.get("questions", {})
    answers: list[Answer] = []
    for question_id, text in answers_by_id.items():
        if question_id in ("responder", "submitDate") or not text:
            continue
        if utf16_length(text) > MAX_ANSWER_CHARS:
            errors.append(
                {"field": f"response.{question_id}", "message": _too_long(MAX_ANSWER_CHARS, text)}
            )
            continue
        answers.append(
            Answer(
                question_id=question_id, question=questions.get(question_id, question_id), text=text
            )
        )
    if len(answers) > MAX_ANSWERS:
        errors.append({"field": "response", "message": f"has more than {MAX_ANSWERS} answers"})
    if errors:
        raise InvalidSubmission("The submission has invalid fields.", errors=errors)
    return Request(
        id=uuid.uuid4().hex[:16],
        form_id=submission.form_id,
        response_id=submission.response_id,
        answers=answers,
        title=values["title"],
        description=values.get("description", ""),
        request_type=values.get("request_type", ""),
        environment=values.get("environment", ""),
        severity=values.get("severity", ""),
        client_name=values["client_name"],
        client_email=values["client_email"],
        client_email_from_responder=bool(responder),
        organisation=values.get("organisation", ""),
    )


def _valid_email(text: str) -> str:
    """``text`` as a normalised email address, or "" (Forms sends "" or "anonymous" for an
    open form's responder)."""
    if not text:
        return ""
    try:
        return str(_email.validate_python(text))
    except ValidationError:
        return ""


def _too_long(limit: int, text: str) -> str:
    if utf16_length(text) == len(text):
        return f"is longer than {limit} characters"
    return f"is longer than {limit} characters (counted as DevOps does: an emoji is 2)"


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    aliases = {"form_id": "formId", "response_id": "responseId"}
    errors = []
    for error in exc.errors():
        parts = [aliases.get(str(p), str(p)) for p in error["loc"]]
        message = error["msg"]
        if error["type"] == "string_pattern_mismatch":
            message = "must be 1-128 letters, digits, '.', '_', ':' or '-'"
        elif error["type"] == "string_type":
            message = f"must be a string, not {_json_type(error['input'])}"
        errors.append({"field": ".".join(parts) or "(body)", "message": message})
    return errors


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | _LongInteger):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
