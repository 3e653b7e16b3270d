"""GraphMailer at the HTTP edge: requests-mock serves the token and Graph doubles; every request
the adapter makes is checked against Graph's documented operations.

No Graph OpenAPI file is among the pinned specs (the official one, microsoftgraph/msgraph-metadata
openapi/v1.0/openapi.yaml, is tens of megabytes), so the allowed operations below are written
from the Graph reference pages named beside each; a request outside them fails the test.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from pydantic import SecretStr

from intake import bootstrap, workflow
from intake.adapters import retry
from intake.adapters.graph_mail import (
    KEY_HEADER,
    KEY_PROPERTY,
    GraphMailer,
    doctor_checks,
    internet_message_id,
)
from intake.config import Settings
from intake.doctor import run_checks
from intake.errors import ExternalRejected, ExternalUnavailable, Throttled
from intake.models import Email
from tests.conftest import SAMPLE
from tests.contract.doubles_graph_teams import Call, GraphDouble, mount
from tests.contract.graph_app import (
    CLIENT,
    GRAPH,
    SECRET,
    SENDER,
    assert_token_request_allowed,
    graph_settings_for,
    token_double,
)

pytestmark = pytest.mark.contract


_RECIPIENTS = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["emailAddress"],
        "properties": {
            "emailAddress": {
                "type": "object",
                "additionalProperties": False,
                "required": ["address"],
                "properties": {"address": {"type": "string"}, "name": {"type": "string"}},
            }
        },
    },
}
# https://learn.microsoft.com/graph/api/user-sendmail (request body) and resources/message
SEND_MAIL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["message"],
    "properties": {
        "saveToSentItems": {"type": "boolean"},
        "message": {
            "type": "object",
            "additionalProperties": False,
            "required": ["subject", "body", "toRecipients"],
            "properties": {
                "subject": {"type": "string"},
                "body": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["contentType", "content"],
                    "properties": {
                        "contentType": {"enum": ["text", "html", "Text", "HTML"]},
                        "content": {"type": "string"},
                    },
                },
                "toRecipients": _RECIPIENTS,
                "replyTo": _RECIPIENTS,
                "ccRecipients": _RECIPIENTS,
                "bccRecipients": _RECIPIENTS,
                "internetMessageHeaders": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "value"],
                        # custom headers must start with x- (resources/internetmessageheader)
                        "properties": {"name": {"pattern": "^[xX]-"}, "value": {"type": "string"}},
                    },
                },
                # resources/message: "internetMessageId: The message ID in the format
                # specified by RFC5322. Updatable only if isDraft is true" (a message being
                # sent is new: we set it, so a reply's In-Reply-To names an id we recorded).
                "internetMessageId": {"type": "string", "pattern": r"^<[^<>@\s]+@[^<>@\s]+>$"},
                # resources/singlevaluelegacyextendedproperty; id formats: extended-properties
                "singleValueExtendedProperties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["id", "value"],
                        "properties": {
                            "id": {"pattern": r"^String \{[0-9a-fA-F-]{36}\} Name \S+$"},
                            "value": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}
USERS = r"/v1\.0/users/[^/]+"
# (method, path, allowed query options, body schema): the operations Graph documents for these
GRAPH_OPERATIONS: list[tuple[str, str, set[str], dict[str, Any] | None]] = [
    ("POST", USERS + "/sendMail", set(), SEND_MAIL),  # api/user-sendmail
    # api/mailfolder-list-messages + api/singlevaluelegacyextendedproperty-get ($filter on Any)
    ("GET", USERS + "/mailFolders/sentitems/messages", {"$filter", "$select", "$top"}, None),
    ("GET", USERS + "/mailFolders/sentitems", {"$select"}, None),  # api/mailfolder-get
]
FILTER = re.compile(
    r"singleValueExtendedProperties/Any\(ep: ep/id eq '[^']+' and ep/value eq '(?:[^']|'')*'\)"
)


def assert_graph_allows(call: Call) -> None:
    for method, path, options, schema in GRAPH_OPERATIONS:
        if call.method == method and re.fullmatch(path, call.path):
            assert set(call.query) <= options, f"{call.method} {call.path}: {call.query}"
            if "$filter" in call.query:
                assert FILTER.fullmatch(call.query["$filter"]), call.query["$filter"]
            if schema is None:
                assert call.body is None, f"{call.method} {call.path} takes no body"
            else:
                jsonschema.Draft7Validator(schema).validate(call.body)
            assert call.headers["Authorization"].startswith("Bearer ")
            return
    pytest.fail(f"Graph has no documented operation {call.method} {call.path}")


@pytest.fixture
def graph_settings(tmp_path: Any) -> Settings:
    return graph_settings_for(tmp_path)


@pytest.fixture
def doubles(requests_mock: Any) -> Any:
    tokens = token_double(requests_mock)
    graph = GraphDouble(tokens, GRAPH, [SENDER])
    mount(requests_mock, graph, GRAPH)
    yield tokens, graph
    assert tokens.unexpected == [] and graph.unexpected == []
    for call in graph.calls:
        assert_graph_allows(call)
    for call in tokens.calls:
        assert_token_request_allowed(call)


def email(key: str = "intake-r1-email_client", **fields: Any) -> Email:
    values: dict[str, Any] = {
        "key": key,
        "to": ("jordan.rivera@fabrikam.example",),
        "subject": "We received your request #42",
        "html": "<p>Thanks &amp; see <b>#42</b></p>",
        "text": "Thanks, see #42",
        **fields,
    }
    return Email(**values)


def test_a_full_intake_run_sends_both_emails_through_graph_once(graph_settings, doubles):
    tokens, graph = doubles
    services = bootstrap.build(graph_settings)
    assert isinstance(services.mailer, GraphMailer)
    receipt = workflow.submit_request(_sample_body(), "application/json", services)
    record = workflow.run_steps(receipt.request_id, services)
    assert record.status.value == "done", record.last_error

    sent = graph.messages(SENDER)
    assert sorted(m["toRecipients"][0]["emailAddress"]["address"] for m in sent) == [
        "casey@contoso.example",
        "jordan.rivera@fabrikam.example",
    ]
    for message in sent:
        (header,) = [h for h in message["internetMessageHeaders"] if h["name"] == KEY_HEADER]
        assert header["value"].startswith("intake-")
        assert message["singleValueExtendedProperties"] == [
            {"id": KEY_PROPERTY, "value": header["value"]}
        ]
    # One token for the whole run: msal caches it.
    assert [c.method for c in tokens.calls].count("POST") == 1

    workflow.run_steps(receipt.request_id, services)  # a replay sends nothing new
    assert len(graph.messages(SENDER)) == 2


def test_send_posts_one_html_message_saved_to_sent_items(graph_settings, doubles):
    _, graph = doubles
    mailer = GraphMailer(graph_settings)
    sent_id = mailer.send(email(cc=("casey@contoso.example",)))
    assert sent_id == internet_message_id("intake-r1-email_client", SENDER)
    assert re.fullmatch(r"<intake\.[0-9a-f]{32}@[^<>@\s]+>", sent_id)  # RFC 5322 msg-id
    post = next(c for c in graph.calls if c.method == "POST")
    assert post.url == f"{GRAPH}/v1.0/users/{SENDER}/sendMail"
    assert post.body["saveToSentItems"] is True
    assert post.body["message"]["internetMessageId"] == sent_id
    assert post.body["message"]["body"] == {
        "contentType": "HTML",
        "content": "<p>Thanks &amp; see <b>#42</b></p>",
    }
    assert post.body["message"]["ccRecipients"] == [
        {"emailAddress": {"address": "casey@contoso.example"}}
    ]


def test_find_sent_finds_a_sent_key_and_only_that_key(graph_settings, doubles):
    mailer = GraphMailer(graph_settings)
    assert mailer.find_sent("intake-r1-email_client") is None
    mailer.send(email())
    assert mailer.find_sent("intake-r1-email_client") == internet_message_id(
        "intake-r1-email_client", SENDER
    )
    assert mailer.find_sent("intake-r2-email_client") is None
    assert mailer.find_sent("it's-quoted") is None  # an OData literal, not an injection


def test_sending_a_key_already_in_sent_items_sends_nothing(graph_settings, doubles):
    _, graph = doubles
    mailer = GraphMailer(graph_settings)
    mailer.send(email())
    assert mailer.send(email()) == internet_message_id("intake-r1-email_client", SENDER)
    assert len(graph.messages(SENDER)) == 1


def test_a_first_attempt_is_sent_without_looking_and_a_retry_looks_first(graph_settings, doubles):
    _, graph = doubles
    graph.fail("POST", "/sendMail", 503)
    GraphMailer(graph_settings).send(email(first_attempt=True))
    assert [(c.method, c.path.rsplit("/", 1)[-1]) for c in graph.calls] == [
        ("POST", "sendMail"),  # nothing to look for yet
        ("GET", "messages"),  # the failed try may have sent it
        ("POST", "sendMail"),
    ]
    assert len(graph.messages(SENDER)) == 1


def test_throttling_is_retried_after_the_time_graph_asks_for(graph_settings, doubles, monkeypatch):
    _, graph = doubles
    waits: list[float] = []
    monkeypatch.setattr(retry, "sleep", waits.append)
    graph.fail("POST", "/sendMail", 429, times=2, headers={"Retry-After": "7"})
    GraphMailer(graph_settings).send(email())
    assert waits == [7.0, 7.0]
    assert len(graph.messages(SENDER)) == 1


def test_unavailable_graph_is_retried_a_bounded_number_of_times(graph_settings, doubles):
    _, graph = doubles
    graph.fail("POST", "/sendMail", 503, times=99)
    with pytest.raises(ExternalUnavailable) as caught:
        GraphMailer(graph_settings).send(email())
    assert caught.value.remote_status == 503
    assert [c.method for c in graph.calls].count("POST") == retry.MAX_ATTEMPTS
    assert graph.messages(SENDER) == []


def test_throttling_that_never_ends_becomes_throttled(graph_settings, doubles):
    _, graph = doubles
    graph.fail("GET", "/sentitems/messages", 429, times=99, headers={"Retry-After": "2"})
    with pytest.raises(Throttled) as caught:
        GraphMailer(graph_settings).find_sent("k")
    assert caught.value.retry_after == 2.0


def test_a_refusal_is_rejected_with_status_and_reason_but_never_the_token(graph_settings, doubles):
    tokens, graph = doubles
    graph.fail(
        "POST",
        "/sendMail",
        403,
        body={"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}},
    )
    with pytest.raises(ExternalRejected) as caught:
        GraphMailer(graph_settings).send(email())
    message = str(caught.value)
    assert caught.value.remote_status == 403
    assert "403" in message and "ErrorAccessDenied" in message
    (token,) = tokens.issued
    assert token not in message and SECRET not in message


def test_a_wrong_secret_is_rejected_without_showing_it(graph_settings, doubles, tmp_path):
    _, graph = doubles
    wrong = graph_settings.model_copy(update={"graph_client_secret": SecretStr("not-the-secret")})
    with pytest.raises(ExternalRejected) as caught:
        GraphMailer(wrong).send(email())
    assert "invalid_client" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)
    assert graph.calls == []


def test_doctor_reports_the_token_and_the_mailbox(graph_settings, doubles):
    results = run_checks(doctor_checks(graph_settings))
    assert [r.ok for r in results] == [True, True], [r.line() for r in results]
    assert CLIENT in results[0].detail and SENDER in results[1].detail


def test_doctor_names_a_mailbox_graph_does_not_know(graph_settings, doubles):
    other = graph_settings.model_copy(update={"mail_sender": "nobody@contoso.example"})
    token, mailbox = run_checks(doctor_checks(other))
    assert token.ok and not mailbox.ok
    assert "404" in mailbox.detail and "ErrorInvalidUser" in mailbox.detail


def _sample_body() -> bytes:
    import json

    return json.dumps(SAMPLE).encode()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"/v1.0/users/{SENDER}/sendMail", {"message": {}, "saveToSentItems": "true"}),
        ("POST", f"/v1.0/users/{SENDER}/sendMail", {"Message": {}}),
        ("POST", "/v1.0/me/sendMail", {"message": {}}),  # /me needs a signed-in user
        ("GET", f"/v1.0/users/{SENDER}/messages?$search=intake", None),
    ],
)
def test_the_operation_check_refuses_what_graph_does_not_document(method, path, body):
    call = Call(method, f"{GRAPH}{path}", {"Authorization": "Bearer t"}, body)
    with pytest.raises((AssertionError, jsonschema.ValidationError, pytest.fail.Exception)):
        assert_graph_allows(call)
