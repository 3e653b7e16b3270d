"""One trace per request, ids as attributes, no personal data: seen through the OpenTelemetry
SDK's in-memory exporter while the real workflow runs on the port fakes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from intake import telemetry, workflow
from intake.config import Settings
from tests.conftest import SAMPLE
from tests.fakes import FakeWorld


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.configure(Settings(), tracer_provider=provider)
    yield exporter
    telemetry.reset()


def submit_and_run(world: FakeWorld, submission: dict[str, Any] = SAMPLE) -> str:
    receipt = workflow.submit_request(
        json.dumps(submission).encode(), "application/json", world.services
    )
    workflow.run_steps(receipt.request_id, world.services)
    return receipt.request_id


def test_a_request_is_one_trace_from_intake_to_card(
    world: FakeWorld, spans: InMemorySpanExporter
) -> None:
    request_id = submit_and_run(world)

    finished = spans.get_finished_spans()
    assert [span.name for span in finished] == ["intake.received", "intake.run_steps"]
    assert {span.context.trace_id for span in finished} == {telemetry.trace_id_of(request_id)}
    run = finished[1]
    (card_activity_id,) = world.channel.threads
    (work_item_id,) = world.work_items.items
    assert run.attributes == {
        telemetry.REQUEST_ID: request_id,
        telemetry.WORK_ITEM_ID: work_item_id,
        telemetry.CARD_ACTIVITY_ID: card_activity_id,
    }


def test_a_later_run_of_the_same_request_joins_its_trace(
    world: FakeWorld, spans: InMemorySpanExporter
) -> None:
    request_id = submit_and_run(world)
    workflow.run_steps(request_id, world.services)  # a replay: nothing left to do

    assert len({span.context.trace_id for span in spans.get_finished_spans()}) == 1
    assert len(spans.get_finished_spans()) == 3


def test_two_requests_are_two_traces(world: FakeWorld, spans: InMemorySpanExporter) -> None:
    submit_and_run(world)
    submit_and_run(world, {**SAMPLE, "responseId": "2"})

    assert len({span.context.trace_id for span in spans.get_finished_spans()}) == 2


def test_no_name_email_or_answer_reaches_any_attribute(
    world: FakeWorld, spans: InMemorySpanExporter
) -> None:
    submit_and_run(world)

    answers = [str(value) for value in SAMPLE["response"].values()]
    words = [*answers, "jordan", "Rivera", "fabrikam", "@"]
    values = [str(value) for span in spans.get_finished_spans() for value in _attributes(span)]
    assert values
    leaked = [(word, value) for word in words for value in values if word.lower() in value.lower()]
    assert leaked == []


def test_only_ids_may_be_noted() -> None:
    with pytest.raises(ValueError, match="client_email"):
        telemetry.note(client_email="jordan.rivera@fabrikam.example")  # type: ignore[arg-type]


def test_log_records_carry_the_request_ids(world: FakeWorld, spans: InMemorySpanExporter) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.INFO)
    telemetry.add_ids_to(handler)
    logger = logging.getLogger("intake")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        request_id = submit_and_run(world)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)

    done = [r for r in records if r.getMessage().endswith("all steps done")]
    assert done and done[0].request_id == request_id  # type: ignore[attr-defined]
    (work_item_id,) = world.work_items.items
    assert done[0].work_item_id == work_item_id  # type: ignore[attr-defined]
    outside = [r for r in records if "recorded for form" in r.getMessage()]
    assert outside and not hasattr(outside[0], "request_id")  # no request span yet


def test_without_a_connection_string_nothing_is_exported() -> None:
    assert telemetry.configure(Settings()) is False


def _attributes(span: ReadableSpan) -> list[Any]:
    values = list((span.attributes or {}).values())
    for event in span.events:
        values.extend((event.attributes or {}).values())
    return values
