"""POST /api/devops/hooks: Azure DevOps service hooks (work item updated, commented).

Anonymous at the host on purpose: DevOps sends the shared secret by basic authentication,
checked in code (intake/devops_hook.py); it cannot be given a function key to keep.
"""

from __future__ import annotations

import azure.functions as func

from functions.problems import json_response, problem, problem_response

# The intake package is imported on the first call, not at indexing (see functions/intake.py).
bp = func.Blueprint()


@bp.route(route="devops/hooks", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def devops_hooks(req: func.HttpRequest) -> func.HttpResponse:
    from intake import bootstrap
    from intake.devops_hook import UnauthenticatedHook, receive_hook

    try:
        receipt = receive_hook(
            req.get_body(), req.headers.get("Authorization"), bootstrap.services()
        )
    except UnauthenticatedHook as exc:
        challenge = {"WWW-Authenticate": 'Basic realm="intake-devops-hooks", charset="UTF-8"'}
        return problem(exc.status, exc.slug, exc.title, exc.detail, headers=challenge)
    except Exception as exc:  # the edge: every failure becomes a problem+json answer
        return problem_response(exc)
    return json_response(202, receipt.as_json())
