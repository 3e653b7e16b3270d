"""The weekly update (Banno: "customers provided with an update at least weekly"; issue 15),
said by the follow-up timer's run through ``silence_follow_up``; when it falls due is
``follow_rules.weekly_update_at``'s.

For an open request (not closed, not waiting on the client, not On Hold) whose client has had
no message from us for seven calendar days (any email recorded as ``client_email_result``: the
confirmation, a state change, a ``#client`` comment passed on, a relaunch ...), by
``INTAKE_WEEKLY_UPDATE``:
- ``email``: a short email ("#N is {label}; nothing new to report yet; we'll keep you posted",
  with the status link), recorded like every client email, so it is the new last message and
  the next update is seven days after it;
- ``remind``: a note in the triage thread asking the coordinator to write one; again every
  seven days while nothing is sent (the n-th, key suffix ``:n``);
- ``off``: nothing.
Key ``weekly:{item}:{last message}`` (``:n`` after the first): a new message to the client
starts a new key, so nothing is said twice for one silence.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from intake import emails, follow_rules
from intake.attempts import send_once
from intake.client_status import client_email_result
from intake.models import RequestRecord, Step, TrackedItem
from intake.ports import FollowUps, Services
from intake.relaunch_follow_up import NOTHING, Due, Plan, Policy, current_state, post_note, say_part
from intake.sla_follow_up import coordinator
from intake.status_page import status_link

WEEK_DAYS = follow_rules.WEEKLY_UPDATE_DAYS
# Labels of a request the client no longer waits on (whatever the state's own name).
FINISHED_LABELS = {"Resolved", "Done", "Closed"}


def last_client_message(record: RequestRecord) -> datetime | None:
    """When the client last received something from us (an email recorded by any step)."""
    sent = [
        datetime.fromisoformat(str(result["client_email"]["sent_at"]))
        for result in record.steps.values()
        if isinstance(result.get("client_email"), dict)
    ]
    return max(sent, default=None)


def is_waiting_for_news(state: str, record: RequestRecord, policy: Policy, label: str) -> bool:
    """An open request the client waits on us for: told its planning words (its own steps are
    over), not closed, not On Hold and not waiting on the client (they owe us, not we them)."""
    quiet = {policy.closed_state, policy.on_hold_state, policy.waiting_state}
    return (
        bool(state)
        and record.is_done(Step.TELL_CLIENT_PLANNING)
        and state.strip().lower() not in {s.strip().lower() for s in quiet}
        and label not in FINISHED_LABELS
    )


def updates_after(policy: Policy, last: datetime) -> Iterator[tuple[int, datetime]]:
    """(n, instant) of the n-th update owed after ``last`` (n = 1, 2, ...)."""
    number = 1
    while True:
        at = follow_rules.weekly_update_at(policy.calendar, last, every_days=WEEK_DAYS * number)
        yield number, at
        number += 1


def plan(
    item: TrackedItem, record: RequestRecord, policy: Policy, follow_ups: FollowUps, now: datetime
) -> Plan:
    """The update due now, if any, and when the next one is owed."""
    if policy.weekly == "off":
        return NOTHING
    state = current_state(item.updates)
    last = last_client_message(record)
    if last is None or not is_waiting_for_news(state, record, policy, policy.label(state)):
        return NOTHING  # never emailed (an open form's limit): nothing to follow up on
    stamp = last.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    due: Due | None = None
    for number, at in updates_after(policy, last):
        if at > now:
            if due is not None and follow_ups.effect(f"{due.key}#done") is None:
                return Plan(due, due.at)
            return Plan(None, at)
        key = f"weekly:{item.work_item_id}:{stamp}" + (f":{number}" if number > 1 else "")
        due = Due(key, at, number)
    raise AssertionError("unreachable: updates_after never ends")


def say(
    due: Due,
    item: TrackedItem,
    record: RequestRecord,
    services: Services,
    policy: Policy,
    now: datetime,
) -> list[str]:
    """The update (or the reminder to write one), once."""
    settings, number = services.settings, item.work_item_id
    follow_ups = services.follow_ups
    assert follow_ups is not None  # the run has one (silence_follow_up)
    label = policy.label(current_state(item.updates))

    def email() -> str:
        mail = emails.client_weekly_update(
            record.request,
            number,
            record.effect_key(due.key),
            label=label,
            status_url=status_link(record, services),
            reply_to=settings.mail_sender,
        )
        message_id = send_once(record, mail, services)
        result = client_email_result(mail, message_id, services.clock())
        result["weekly_update"] = {"due_at": due.at.isoformat()}
        services.store.record_step(record.request.id, due.key, result)
        return message_id

    def remind() -> str:
        person = coordinator(settings)
        days = WEEK_DAYS * due.number
        text = (
            f"<at>{person.name}</at> the client of #{number} has heard nothing from us for "
            f"{days} days (it reads: {label}): please write them an update (a #client comment "
            "on the work item)."
        )
        return post_note(record, services, text, due.key, person)

    said: list[str] = []
    say_part(follow_ups, due.key, email if policy.weekly == "email" else remind, now, said)
    return said
