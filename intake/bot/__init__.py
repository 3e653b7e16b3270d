"""The bot endpoint (``POST /api/messages``): an entry point, like ``functions/`` and ``cli/``.

``endpoint`` hosts the Microsoft 365 Agents SDK and routes each card verb to a triage use case;
``token_check`` checks the Bot Framework token of every activity; ``hosting`` fits the SDK to an
Azure Functions request. Nothing below the use cases imports this package.
"""
