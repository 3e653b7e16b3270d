"""The OpenAPI 3.1 document of Intake's HTTP API, built from the models that validate it.

The submission schema comes from the pydantic ``Submission`` model itself, so the document
cannot drift from what ``POST /api/intake`` accepts. Served at ``GET /api/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from intake.submission import MAX_ANSWERS, Submission

PROBLEM = "application/problem+json"


def problem_schema() -> dict[str, Any]:
    """RFC 9457 problem details, with the ``errors`` list naming each bad field."""
    return {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _json(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def submission_schema() -> dict[str, Any]:
    schema = Submission.model_json_schema(by_alias=True, mode="validation")
    schema["description"] = (
        "What the form's flow posts: the form id, the response id and the 'Get response "
        f"details' body as is (answers keyed by question id, at most {MAX_ANSWERS})."
    )
    return schema


def document(base_url: str = "") -> dict[str, Any]:
    """The whole OpenAPI document; ``base_url`` becomes its one server when given."""
    location = {"Location": {"description": "The status URL.", "schema": {"type": "string"}}}
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Intake",
            "version": "1",
            "description": "Microsoft Forms requests in; DevOps work items, emails and a "
            "Teams triage card out. Every call needs the function key (header "
            "`x-functions-key` or query `code`) in Azure.",
        },
        "paths": {
            "/api/intake": {
                "post": {
                    "operationId": "submitRequest",
                    "summary": "Record a form submission and start its steps.",
                    "security": [{"functionKey": []}, {"functionKeyQuery": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Submission"}
                            }
                        },
                    },
                    "responses": {
                        "202": _json("Recorded; its steps are queued.", "Receipt", location),
                        "200": _json(
                            "This submission was recorded before; nothing new.", "Receipt", location
                        ),
                        "400": _problem("The body is empty or not JSON."),
                        "413": _problem("The body is larger than the limit."),
                        "415": _problem("The body is not application/json."),
                        "422": _problem("Fields are missing, too long or invalid (see errors)."),
                        "503": _problem("Intake is not configured or its store is unavailable."),
                    },
                }
            },
            "/api/requests/{request_id}": {
                "get": {
                    "operationId": "getRequestStatus",
                    "summary": "How far a request got.",
                    "security": [{"functionKey": []}, {"functionKeyQuery": []}],
                    "parameters": [
                        {
                            "name": "request_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "maxLength": 128},
                        }
                    ],
                    "responses": {
                        "200": _json("The request's progress.", "RequestStatus"),
                        "404": _problem("No request has this id."),
                        "503": _problem("The store is unavailable."),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
            "schemas": {
                "Submission": submission_schema(),
                "Problem": problem_schema(),
                "Receipt": {
                    "type": "object",
                    "required": ["requestId", "status", "statusUrl", "duplicate"],
                    "properties": {
                        "requestId": {"type": "string"},
                        "status": {"type": "string"},
                        "statusUrl": {"type": "string"},
                        "duplicate": {"type": "boolean"},
                    },
                },
                "RequestStatus": {
                    "type": "object",
                    "required": ["requestId", "status", "steps"],
                    "properties": {
                        "requestId": {"type": "string"},
                        "status": {
                            "type": "string",
                            "enum": ["received", "in_progress", "done", "failed"],
                        },
                        "workItemId": {"type": ["integer", "null"]},
                        "workItemUrl": {"type": ["string", "null"]},
                        "steps": {"type": "object", "additionalProperties": {"type": "boolean"}},
                        "lastError": {"type": ["string", "null"]},
                        "sla": {"$ref": "#/components/schemas/Clock"},
                        "firstResponse": {"$ref": "#/components/schemas/Clock"},
                    },
                },
                "Clock": {
                    "type": "object",
                    "description": "One of the request's clocks (docs/sla.md), derived now.",
                    "required": ["state", "dueAt", "cycle", "breachedAt", "target"],
                    "properties": {
                        "state": {
                            "type": "string",
                            "enum": ["running", "paused", "met", "breached", "cancelled", "none"],
                        },
                        "dueAt": {"type": ["string", "null"], "format": "date-time"},
                        "cycle": {"type": "integer", "minimum": 0},
                        "breachedAt": {"type": ["string", "null"], "format": "date-time"},
                        "target": {"type": ["string", "null"]},
                    },
                },
            },
        },
    }
    if base_url:
        doc["servers"] = [{"url": base_url}]
    return doc
