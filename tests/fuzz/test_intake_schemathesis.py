"""Schemathesis against the OpenAPI document the app serves, over HTTP on a local host: no 5xx,
every 4xx a problem+json, the documented status codes and content types, and a refused
submission records nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from intake import openapi
from tests.e2e.client import LocalHostClient
from tests.fuzz.conftest import CASES, examples
from tests.problem_shape import assert_problem

pytestmark = pytest.mark.e2e
schema = schemathesis.openapi.from_dict(openapi.document())


@pytest.fixture(scope="module")
def host(tmp_path_factory) -> Iterator[LocalHostClient]:
    with LocalHostClient.started(tmp_path_factory.mktemp("schemathesis")) as client:
        yield client


def test_the_served_document_is_the_one_fuzzed(host):
    served = host.get("/api/openapi.json")
    assert served == openapi.document()
    assert served["components"]["schemas"]["Submission"]["additionalProperties"] is False


@schema.parametrize()
@settings(max_examples=examples(100))
def test_the_api_answers_every_generated_call_within_its_contract(case, host):
    CASES["schemathesis"] += 1
    posting = case.method.upper() == "POST"
    recorded = len(host.get("/dev/api/requests")) if posting else 0
    response = case.call(base_url=host.base_url)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem(response.status_code, response.headers, response.content)
        if posting:
            assert len(host.get("/dev/api/requests")) == recorded
    case.validate_response(
        response,
        checks=[status_code_conformance, content_type_conformance, response_schema_conformance],
    )
