"""The local demo people as Teams reports a click from them (``from.id``, name, object id)."""

from __future__ import annotations

from intake.triage_rules import Clicker

MORGAN = Clicker("29:1-morgan-local", "Morgan Scrum", "00000000-0000-0000-0000-00000000306a")
ALEX = Clicker("29:1-alex-local", "Alex Support", "00000000-0000-0000-0000-00000000a1e5")
SAM = Clicker("29:1-sam-local", "Sam Support", "00000000-0000-0000-0000-000000005a55")
