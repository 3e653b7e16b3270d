"""Intake: a client's form response becomes a DevOps work item, emails and a triage thread."""

# The app's version (GET /api/health); the same as pyproject.toml's (tests check).
__version__ = "0.1.0"
