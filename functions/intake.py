"""POST /api/intake (the form's flow) and GET /api/requests/{id} (the status URL)."""

from __future__ import annotations

import azure.functions as func

from functions.problems import json_response, problem_response

# The intake package (pydantic, settings, templates) is imported by each function on its first
# call, not when the host indexes the app: indexing stays fast and cannot fail on our code.
bp = func.Blueprint()


@bp.route(route="intake", methods=["POST"])
def intake(req: func.HttpRequest) -> func.HttpResponse:
    from intake import bootstrap, workflow

    try:
        receipt = workflow.submit_request(
            req.get_body(), req.headers.get("Content-Type"), bootstrap.services()
        )
    except Exception as exc:  # the edge: every failure becomes a problem+json answer
        return problem_response(exc)
    status = 202 if receipt.created else 200
    return json_response(status, receipt.as_json(), headers={"Location": receipt.status_url})


@bp.route(route="requests/{request_id}", methods=["GET"])
def request_status(req: func.HttpRequest) -> func.HttpResponse:
    from intake import bootstrap, workflow

    try:
        status = workflow.request_status(req.route_params["request_id"], bootstrap.services())
    except Exception as exc:
        return problem_response(exc)
    return json_response(200, status)
