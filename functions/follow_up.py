"""The follow_up timer: every 5 minutes (UTC), SLA clocks, reminders and digests."""

from __future__ import annotations

import azure.functions as func

# The intake package is imported on the first call, not at indexing (see functions/intake.py).
bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def follow_up(timer: func.TimerRequest) -> None:
    from intake import bootstrap
    from intake.follow_up import run_follow_up

    run_follow_up(bootstrap.services())
