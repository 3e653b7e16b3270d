"""GET /api/openapi.json: the OpenAPI document of the HTTP API.

Anonymous on purpose: the document describes the API and holds nothing secret (no keys, no
data); every operation it describes still needs the function key.
"""

from __future__ import annotations

import azure.functions as func

from functions.problems import json_response

# The intake package is imported on the first call, not at indexing (see functions/intake.py).
bp = func.Blueprint()


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    from intake import openapi

    return json_response(200, openapi.document())
