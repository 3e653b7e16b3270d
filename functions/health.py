"""GET /api/health: the app's version and, per connected system, whether its last real call
succeeded and when (``intake/health.py``).

Anonymous on purpose: App Service's health check and load balancers' probes send no function
key, and the answer holds nothing secret or personal (a version, system names, outcomes and
times). Cheap: no remote call per probe, only what real calls recorded in this instance.
"""

from __future__ import annotations

import azure.functions as func

from functions.problems import json_response, problem_response

# The intake package is imported on the first call, not at indexing (see functions/intake.py).
bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    from intake import bootstrap
    from intake import health as app_health

    try:
        settings = bootstrap.services().settings
    except Exception as exc:  # settings that cannot be loaded: 503, the instance cannot work
        return problem_response(exc)
    return json_response(200, app_health.report(settings), headers={"Cache-Control": "no-store"})
