"""Directory for local mode: the configured people with the scrum master role are the members
of any group (there is no Entra ID to ask)."""

from __future__ import annotations

from intake.config import Person


class LocalDirectory:
    def __init__(self, people: list[Person]) -> None:
        self.members = {
            person.aad_object_id.lower() for person in people if person.role == "scrum_master"
        }

    def is_member(self, aad_object_id: str, group_id: str) -> bool:
        return aad_object_id.lower() in self.members
