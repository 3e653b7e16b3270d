"""GET /api/status/{token}: the client's status page (HTML).

Anonymous at the host on purpose: clients have no function key, and the signed token in the
path is the key (see intake/status_page.py). Every failure gets a page, never a trace.
"""

from __future__ import annotations

import azure.functions as func

from functions.problems import problem_response

# The intake package is imported on the first call, not at indexing (see functions/intake.py).
bp = func.Blueprint()


@bp.route(route="status/{token}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def status_page(req: func.HttpRequest) -> func.HttpResponse:
    from intake import bootstrap, status_page

    try:
        page = status_page.answer(req.route_params["token"], bootstrap.services())
    except Exception as exc:  # the edge: e.g. incomplete settings -> 503 problem, no trace
        return problem_response(exc)
    return func.HttpResponse(
        page.html,
        status_code=page.status,
        headers=page.headers,
        mimetype="text/html",
        charset="utf-8",
    )
