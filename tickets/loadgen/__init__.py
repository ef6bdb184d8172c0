"""Fill a database fast with realistic tickets, for benchmarks: `manage.py loadgen`.

The world is the demo's reference data (regions, calendars, tiers, teams, agents) plus `orgs`
load organisations, each with an admin who signed an active contract and a requester. Tickets
are spread over every channel, the priorities each contract covers and every status; each one's
clocks come from the real engine (`Clocks.start` and the transitions the services apply), stored
with `clocks_store`, and its history is the `TicketEvent` rows the services would have written,
so `replay_differences` finds nothing to correct.

Time is laid out around `now` so that the deadline sweep has realistic work: open tickets are
young enough that none of their running clocks has reached its next sweep instant; resolved and
closed tickets lie in the last weeks, some late; `due_now` open tickets each have exactly one
clock whose alert instant passed within the last few minutes.

The package, by sub-domain:

- `organisations`: the load organisations, their contracts and the SLA snapshots they share.
- `stories`: what happens to a ticket, told once per story key on the clock engine.
- `chunks`: per ticket, who it is and which story it shares; its rows as COPY text.
- `writing`: COPY text, primary keys reserved up front, COPY (or `bulk_create` elsewhere).
- `run`: the run, its report, parallel worker processes.
"""

from tickets.loadgen.chunks import CHUNK_SIZE
from tickets.loadgen.organisations import (
    DUE_WINDOW,
    LoadgenError,
    load_region,
    load_slug,
    load_tier,
    organisations_ensure,
)
from tickets.loadgen.run import LoadReport, database_size, due_clocks, loadgen

__all__ = [
    "CHUNK_SIZE",
    "DUE_WINDOW",
    "LoadReport",
    "LoadgenError",
    "database_size",
    "due_clocks",
    "load_region",
    "load_slug",
    "load_tier",
    "loadgen",
    "organisations_ensure",
]
