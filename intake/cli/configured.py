"""The settings or services a CLI command works on, or one readable message when settings are
wrong."""

from __future__ import annotations

from intake import bootstrap
from intake.config import Settings, load_settings
from intake.errors import ConfigurationError
from intake.ports import Services


def configured_services() -> Services | None:
    """The app's services; None (after telling the person what is wrong) when they can't be
    built from the settings."""
    try:
        return bootstrap.services()
    except ConfigurationError as exc:
        print(f"Intake is not configured:\n{exc}")
        return None


def configured_settings(**overrides: object) -> Settings | None:
    """The app's settings; None (after telling the person what to fix) when they are wrong."""
    try:
        return load_settings(**overrides)
    except ConfigurationError as exc:
        print(f"Intake cannot start; fix these settings:\n{exc}")
        return None
