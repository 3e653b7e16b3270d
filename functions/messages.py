"""POST /api/messages: the Teams bot endpoint (card clicks arrive as adaptiveCard/action invokes).

Anonymous at the host on purpose: Teams cannot send a function key. The Bot Framework token is
checked in code on every activity (see intake/bot/token_check.py); only with no bot app id
configured (local mode) are unauthenticated activities accepted.
"""

from __future__ import annotations

import azure.functions as func

from functions.problems import problem_response

# The intake package is imported on the first call, not at indexing (see functions/intake.py).
bp = func.Blueprint()


@bp.route(route="messages", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def messages(req: func.HttpRequest) -> func.HttpResponse:
    from intake.bot import endpoint

    try:
        return await endpoint.current().handle(req)
    except Exception as exc:  # the edge: a refused activity, incomplete settings -> problem
        return problem_response(exc)
