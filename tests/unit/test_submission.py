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


@pytest.mark.parametrize("value", [42, 4.5, True, False, None, {"a": "b"}, ["x"]])
def test_an_answer_that_is_not_a_string_is_refused_naming_it(value):
    # Forms sends every answer as a string; 42 used to become the title "42".
    submission = sample_submission()
    title_id = FIELD_MAPS["forms"][submission["formId"]]["fields"]["title"]
    submission["response"][title_id] = value
    with pytest.raises(InvalidSubmission) as caught:
        parse(submission)
    assert caught.value.status == 422
    assert [e["field"] for e in caught.value.errors] == [f"response.{title_id}"]
    assert "must be a string" in caught.value.errors[0]["message"]


def with_raw_answer(raw_json: str, key: str | None = None) -> bytes:
    """The sample's JSON with the title's answer (or a new key) replaced by raw JSON text."""
    submission = sample_submission()
    title_id = FIELD_MAPS["forms"][submission["formId"]]["fields"]["title"]
    submission["response"][title_id] = "@@RAW@@"
    body = json.dumps(submission)
    if key is not None:
        body = body.replace(f'"{title_id}": "@@RAW@@"', f'"{title_id}": "t", {key}: {raw_json}')
    return body.replace('"@@RAW@@"', raw_json).encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_raw_answer('"x \\ud800"'), "response.r1a6f3c0e2b8d4f7aa9c1e5b7d3f2a8c4"),
        (with_raw_answer('"\\udfff tail"'), "response.r1a6f3c0e2b8d4f7aa9c1e5b7d3f2a8c4"),
        (with_raw_answer('"v"', key='"k \\ud800"'), "response.k \\ud800"),
        (with_raw_answer("1" * 4_301), "response.r1a6f3c0e2b8d4f7aa9c1e5b7d3f2a8c4"),
        (with_raw_answer("-" + "9" * 10_000), "response.r1a6f3c0e2b8d4f7aa9c1e5b7d3f2a8c4"),
    ],
    ids=["lone-high-surrogate", "lone-low-surrogate", "surrogate-in-key", "4301-digits", "10k"],
)
def test_text_json_can_carry_but_no_store_can_take_is_refused_naming_the_field(body, field):
    with pytest.raises(InvalidSubmission) as caught:
        parse(body)
    assert caught.value.status == 422
    assert field in [e["field"] for e in caught.value.errors], caught.value.errors
    json.dumps(caught.value.errors, ensure_ascii=False).encode()  # the answer itself is UTF-8


def test_a_surrogate_pair_escaped_in_json_is_an_emoji_and_kept():
    request = parse(with_raw_answer('"ok \\ud83d\\ude00"'))
    assert request.title == "ok \U0001f600"


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("Invoice \u202egnp.exe\u202c overdue", "Invoice gnp.exe overdue"),
        ("a\u2066b\u2069c\u202ad\u202be\u202df", "abcdef"),
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff here", "zerowidth here"),
        ("del\x7f and c1\x80\x9b\x9f gone", "del and c1 gone"),
        ("bell\x07 esc\x1b[31m", "bell esc[31m"),
        ("tab\tkept", "tab\tkept"),
    ],
)
def test_one_rule_removes_controls_bidi_and_zero_width_from_every_field(typed, shown):
    request = parse(sample_submission(title=typed, client_name=typed, organisation=typed))
    assert request.title == shown and request.client_name == shown
    assert request.organisation == shown
    title_answer = next(a for a in request.answers if a.question_id.startswith("r1a6"))
    assert title_answer.text == shown


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\r", "\r\n"])
def test_every_line_break_a_renderer_knows_is_refused_in_the_title(separator):
    with pytest.raises(InvalidSubmission) as caught:
        parse(sample_submission(title=f"one{separator}two"))
    assert caught.value.errors[0]["message"] == "must be a single line"


def test_other_one_line_fields_get_a_space_for_a_line_break_and_the_description_a_newline():
    request = parse(
        sample_submission(
            client_name="Jordan\u2028Rivera", severity="High\x85", description="a\u2029b\r\nc"
        )
    )
    assert request.client_name == "Jordan Rivera" and request.severity == "High"
    assert request.description == "a\nb\nc"


def test_the_title_limit_counts_utf16_units_as_devops_does():
    assert parse(sample_submission(title="\U0001f600" * 127 + "x")).title.startswith("\U0001f600")
    with pytest.raises(InvalidSubmission) as caught:
        parse(sample_submission(title="\U0001f600" * 128))  # 128 code points, 256 units
    assert "longer than 255" in caught.value.errors[0]["message"]
    assert "emoji is 2" in caught.value.errors[0]["message"]


def test_a_signed_in_forms_responder_is_the_client_email_and_the_typed_one_is_ignored():
    submission = sample_submission()
    fields = FIELD_MAPS["forms"][submission["formId"]]["fields"]
    submission["response"]["responder"] = "Signed.In@Contoso.example"
    submission["response"][fields["client_email"]] = "victim@elsewhere.example"
    request = parse(submission)
    assert request.client_email == "Signed.In@contoso.example"
    assert request.client_email_from_responder


@pytest.mark.parametrize("responder", ["", "anonymous", None])
def test_an_open_forms_typed_email_is_used_and_marked_as_typed(responder):
    submission = sample_submission(client_email="typed@fabrikam.example")
    if responder is not None:
        submission["response"]["responder"] = responder
    request = parse(submission)
    assert request.client_email == "typed@fabrikam.example"
    assert not request.client_email_from_responder


def test_nesting_depth_ignores_brackets_in_strings():
    from intake.submission import nesting_depth

    assert nesting_depth(b'{"a": [1, {"b": "[[[{{{\\"]]]"}]}') == 3
    assert nesting_depth(b"[" * 40 + b"]" * 40) == 40
