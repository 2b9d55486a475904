"""The suite's clock: a date the tests choose, seen by every process.

`PORTAIL_TEST_TODAY=2027-03-15T23:30-04:00 make test` runs the whole suite as
if it were that moment (a time without an offset is Guadeloupe's; a date
alone is noon there). Tests that depend on a date still set it themselves;
this proves that the others do not depend on it.
"""

import datetime
import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine

LOCAL = ZoneInfo("America/Guadeloupe")
SHIM = Path(__file__).resolve().parent / "clockshim"


def parse(text: str) -> datetime.datetime:
    """An ISO date or date-time; local to Guadeloupe when it has no offset."""
    if "T" not in text and " " not in text.strip():
        return datetime.datetime.combine(
            datetime.date.fromisoformat(text), datetime.time(12), LOCAL
        )
    moment = datetime.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL)


def child_env(
    env: dict[str, str], at: datetime.datetime | None = None
) -> dict[str, str]:
    """`env` for a Python process whose clock is `at` now (by default the
    test's own clock) and ticks from there."""
    at = at or datetime.datetime.now(tz=datetime.UTC)
    hatch = time_machine.escape_hatch
    real = hatch.time.time() if hatch.is_travelling() else time.time()
    path = [str(SHIM), *filter(None, [env.get("PYTHONPATH")])]
    return {
        **env,
        "PORTAIL_TEST_CLOCK": f"{at.timestamp()}@{real}",
        "PYTHONPATH": os.pathsep.join(path),
    }
