"""Every input has a limit, and going over it gives a clear error naming the field."""

from __future__ import annotations

import json

import pytest

from intake import workflow
from intake.errors import InvalidSubmission
from intake.submission import MAX_ANSWER_CHARS, MAX_ANSWERS, MAX_FIELD_CHARS
from tests.conftest import SAMPLE, sample_submission


def submit(world, submission) -> None:
    body = submission if isinstance(submission, bytes) else json.dumps(submission).encode()
    workflow.submit_request(body, "application/json", world.services)


def refusal(world, submission) -> InvalidSubmission:
    before = len(world.store.records)
    with pytest.raises(InvalidSubmission) as caught:
        submit(world, submission)
    assert len(world.store.records) == before, "a refused submission was recorded"
    return caught.value


def test_a_body_over_the_size_limit_is_refused_with_413(world):
    limit = world.settings.max_body_bytes
    error = refusal(world, b'{"formId": "' + b"a" * limit + b'"}')
    assert error.status == 413
    assert str(limit) in error.detail


@pytest.mark.parametrize("field", sorted(MAX_FIELD_CHARS))
def test_each_field_over_its_limit_is_named(world, field):
    limit = MAX_FIELD_CHARS[field]
    value = ("a" * (limit - 12) + "@example.com") if field == "client_email" else "a" * limit
    submit(world, sample_submission(responseId=f"at-{field}", **{field: value}))  # at the limit
    over = "a" + value
    error = refusal(world, sample_submission(responseId=f"over-{field}", **{field: over}))
    assert error.status == 422
    messages = [e for e in error.errors if f"({field})" in e["field"]]
    assert messages and f"longer than {limit}" in messages[0]["message"], error.errors


def test_an_answer_over_the_answer_limit_is_named(world):
    submission = json.loads(json.dumps(SAMPLE))
    submission["response"]["r0extra"] = "a" * (MAX_ANSWER_CHARS + 1)
    error = refusal(world, submission)
    expected = f"is longer than {MAX_ANSWER_CHARS} characters"
    assert {"field": "response.r0extra", "message": expected} in error.errors


def test_too_many_answers_are_refused(world):
    submission = json.loads(json.dumps(SAMPLE))
    for index in range(MAX_ANSWERS + 11):
        submission["response"][f"rx{index}"] = "x"
    error = refusal(world, submission)
    assert error.status == 422
    assert any(e["field"] == "response" for e in error.errors), error.errors


@pytest.mark.parametrize("name", ["formId", "responseId"])
@pytest.mark.parametrize("value", ["", "a" * 129, "has space", "semi;colon", "é"])
def test_ids_must_be_short_plain_tokens(world, name, value):
    error = refusal(world, sample_submission(**{name: value}))
    assert error.status == 422
    assert any(e["field"] == name for e in error.errors), error.errors


def test_a_multi_line_title_is_refused(world):
    error = refusal(world, sample_submission(title="one\r\nBcc: x@evil.example"))
    assert any("(title)" in e["field"] and "single line" in e["message"] for e in error.errors)


def test_unknown_envelope_fields_and_nested_answers_are_refused(world):
    submission = json.loads(json.dumps(SAMPLE))
    submission["extra"] = 1
    submission["response"]["r0nested"] = {"a": 1}
    fields = {e["field"] for e in refusal(world, submission).errors}
    assert "extra" in fields and any(f.startswith("response.r0nested") for f in fields)


TITLE_ID = "r1a6f3c0e2b8d4f7aa9c1e5b7d3f2a8c4"


@pytest.mark.parametrize(
    "raw",
    ['"x \\ud800"', "1" * 4_301, "42", "true", "null", '{"a": "b"}'],
    ids=["lone-surrogate", "4301-digits", "number", "boolean", "null", "object"],
)
def test_an_answer_no_store_can_take_is_refused_naming_it_and_nothing_is_recorded(world, raw):
    body = json.dumps(SAMPLE).replace(
        f'"{TITLE_ID}": "{SAMPLE["response"][TITLE_ID]}"', f'"{TITLE_ID}": {raw}'
    )
    assert raw in body
    error = refusal(world, body.encode())
    assert error.status == 422
    assert f"response.{TITLE_ID}" in [e["field"] for e in error.errors]
    assert world.queue.messages == []
