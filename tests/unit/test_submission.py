"""From raw body to Request: every bad field named, nothing guessed."""

from __future__ import annotations

import json

import pytest

from intake.config import Settings, load_field_map
from intake.errors import InvalidSubmission, UnknownForm
from intake.submission import parse_body, to_request
from tests.conftest import SAMPLE, sample_submission

FIELD_MAPS = load_field_map(Settings().field_map_path)


def parse(submission, content_type="application/json", max_bytes=262_144):
    body = submission if isinstance(submission, bytes) else json.dumps(submission).encode()
    return to_request(parse_body(body, content_type, max_bytes=max_bytes), FIELD_MAPS)


def test_the_sample_maps_to_a_request():
    request = parse(SAMPLE)
    assert request.title == "Invoices page times out for EU customers"
    assert request.client_email == "jordan.rivera@fabrikam.example"
    assert request.severity == "High" and request.organisation == "Fabrikam"
    assert [a.question for a in request.answers][0] == "Short summary of the problem"
    assert all(a.question_id not in ("responder", "submitDate") for a in request.answers)


def test_every_missing_required_field_is_named_at_once():
    with pytest.raises(InvalidSubmission) as caught:
        parse(sample_submission(title="", client_email="  ", client_name=None))
    fields = " ".join(e["field"] for e in caught.value.errors)
    assert "(title)" in fields and "(client_email)" in fields and "(client_name)" in fields
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("body", "content_type", "status", "slug"),
    [
        (b"", "application/json", 400, "malformed-json"),
        (b"{", "application/json", 400, "malformed-json"),
        (b"\xff\xfe{}", "application/json", 400, "malformed-json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "malformed-json"),
        (b"{}", "text/plain", 415, "unsupported-media-type"),
        (b"{}", None, 415, "unsupported-media-type"),
        (b"x" * 300_000, "application/json", 413, "body-too-large"),
        (b"[1, 2]", "application/json", 422, "invalid-submission"),
    ],
)
def test_transport_errors_have_their_own_status(body, content_type, status, slug):
    with pytest.raises(InvalidSubmission) as caught:
        parse_body(body, content_type, max_bytes=262_144)
    assert (caught.value.status, caught.value.slug) == (status, slug)


def test_a_charset_parameter_is_accepted():
    assert (
        parse_body(
            json.dumps(SAMPLE).encode(), "application/json; charset=utf-8", max_bytes=262_144
        ).form_id
        == SAMPLE["formId"]
    )


def test_envelope_fields_are_checked():
    bad = {"formId": "a/b", "responseId": 5, "response": [], "extra": 1}
    with pytest.raises(InvalidSubmission) as caught:
        parse(bad)
    fields = {e["field"] for e in caught.value.errors}
    assert {"formId", "responseId", "response", "extra"} <= fields


def test_an_unknown_form_is_refused_by_name():
    with pytest.raises(UnknownForm) as caught:
        parse(sample_submission(formId="someone-elses-form"))
    assert "someone-elses-form" in caught.value.detail


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "x" * 256, "longer than 255"),
        ("title", "two\nlines", "single line"),
        ("client_email", "jordan@", "not a valid email"),
        ("client_email", "a@b", "not a valid email"),
        ("organisation", "o" * 201, "longer than 200"),
    ],
)
def test_field_rules(field, value, message):
    with pytest.raises(InvalidSubmission) as caught:
        parse(sample_submission(**{field: value}))
    assert any(
        message in e["message"] and f"({field})" in e["field"] for e in caught.value.errors
    ), caught.value.errors


def test_too_many_answers_is_refused():
    submission = sample_submission()
    for index in range(250):
        submission["response"][f"r{index:032x}"] = "x"
    with pytest.raises(InvalidSubmission):
        parse(submission)


def test_typed_markup_is_kept_as_text_and_control_characters_dropped():
    request = parse(sample_submission(title="<b>qty < 5 & price > 3</b>\x07"))
    assert request.title == "<b>qty < 5 & price > 3</b>"


def test_numbers_and_booleans_become_text():
    request = parse(sample_submission(organisation=42, environment=True))
    assert request.organisation == "42" and request.environment == "Yes"


def test_nesting_depth_ignores_brackets_in_strings():
    from intake.submission import nesting_depth

    assert nesting_depth(b'{"a": [1, {"b": "[[[{{{\\"]]]"}]}') == 3
    assert nesting_depth(b"[" * 40 + b"]" * 40) == 40
