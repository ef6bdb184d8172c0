"""What the SLA clocks achieved over a period, in SQL aggregates: the selector that monthly
statements (`contracts.statements`) read ticket outcomes through.

Each clock instance is one promise: a ticket's first response, workaround, root cause and
resolution, the current next-response cycle on the ticket and every past one
(`ResponseCycle`). An instance belongs to a period when its due instant falls in it, and it is
decided (the scope rule of `docs/statements.md`) when it was met, when it breached, or when it
is still running past its due at the cut-off; paused and undecided instances count nowhere yet.

The outcomes are gathered once into a temporary table (one pass over each clock), then
aggregated three ways: per organisation, priority and clock (with the median and the 90th
percentile of the time taken to meet, by nearest rank, as window functions so that SQLite
computes them too), per organisation and contract (for the credits), and the list of breaches.
Nothing loops over tickets in Python.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils.dateparse import parse_datetime

from contracts.sla_names import CLOCKS

# The clocks stored on the ticket row itself (the next response's current cycle among them).
TICKET_CLOCKS = CLOCKS
TEMP_TABLE = "statement_clock_outcomes"


@dataclass(frozen=True)
class PeriodBounds:
    """The period [starts, ends) for the organisations whose home region is `region_id`: a
    month read in that region's zone, as UTC instants."""

    region_id: int
    starts: datetime
    ends: datetime


@dataclass(frozen=True)
class ClockLine:
    organisation_id: int
    priority: str
    clock: str
    in_scope: int
    met: int
    median_seconds: float | None
    p90_seconds: float | None

    @property
    def breached(self) -> int:
        return self.in_scope - self.met


@dataclass(frozen=True)
class ContractTally:
    """The promises due in the period on tickets opened under one contract."""

    organisation_id: int
    contract_id: int | None
    in_scope: int
    met: int
    p1_breached: int


@dataclass(frozen=True)
class Breach:
    organisation_id: int
    reference: str
    priority: str
    clock: str
    due_at: datetime
    met_at: datetime | None
    # When a breached clock never met stopped: paused, or the ticket resolved.
    stopped_at: datetime | None


@dataclass(frozen=True)
class Outcomes:
    lines: list[ClockLine]
    tallies: list[ContractTally]
    breaches: list[Breach]


def _seconds(column: str) -> str:
    """A duration column in seconds: PostgreSQL stores an interval, SQLite microseconds."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::float8"
    return f"({column} / 1000000.0)"


def _instant(value: datetime) -> object:
    return connection.ops.adapt_datetimefield_value(value)


def _ticket_clock_select(clock: str) -> str:
    # A met next-response cycle is already a `ResponseCycle` row; the ticket holds it only
    # until the customer writes again.
    current = "AND t.next_response_met_at IS NULL" if clock == "next_response" else ""
    return f"""
        SELECT t.organisation_id AS organisation_id, t.sla_contract_id AS contract_id,
               t.reference AS reference, t.priority AS priority, '{clock}' AS clock,
               t.{clock}_due_at AS due_at, t.{clock}_met_at AS met_at,
               t.{clock}_breached_at AS breached_at, t.{clock}_paused_at AS paused_at,
               COALESCE(t.{clock}_paused_at, t.resolved_at) AS stopped_at,
               {_seconds(f"t.{clock}_taken")} AS taken_seconds
        FROM tickets_ticket t
        JOIN portal_organisation o ON o.id = t.organisation_id
        JOIN bounds b ON b.region_id = o.home_region_id
        WHERE t.{clock}_due_at >= b.starts AND t.{clock}_due_at < b.ends {current}
              {{organisations}}
    """  # noqa: S608 (clock names from `CLOCKS`, never input)


_CYCLE_SELECT = f"""
        SELECT t.organisation_id, t.sla_contract_id, t.reference, t.priority, 'next_response',
               c.due_at, c.met_at, c.breached_at, NULL, NULL, {_seconds("c.taken")}
        FROM tickets_responsecycle c
        JOIN tickets_ticket t ON t.id = c.ticket_id
        JOIN portal_organisation o ON o.id = t.organisation_id
        JOIN bounds b ON b.region_id = o.home_region_id
        WHERE c.due_at >= b.starts AND c.due_at < b.ends {{organisations}}
"""  # noqa: S608


def _create_sql() -> str:
    instant = "timestamptz" if connection.vendor == "postgresql" else "datetime"
    return f"""
        CREATE TEMPORARY TABLE {TEMP_TABLE} (
            organisation_id bigint, contract_id bigint, reference varchar(20),
            priority varchar(2), clock varchar(20), due_at {instant}, met_at {instant},
            stopped_at {instant}, taken_seconds double precision, met_flag integer
        )
    """


def _gather_sql(
    bounds: Sequence[PeriodBounds], cut: datetime, organisation_ids: Sequence[int] | None
) -> tuple[str, list[object]]:
    # Parameters in a VALUES list have no type of their own: PostgreSQL is told them.
    row = "(%s::bigint, %s::timestamptz, %s::timestamptz)"
    if connection.vendor != "postgresql":
        row = "(%s, %s, %s)"
    params: list[object] = []
    for bound in bounds:
        params += [bound.region_id, _instant(bound.starts), _instant(bound.ends)]
    organisations = ""
    if organisation_ids is not None:
        organisations = f"AND t.organisation_id IN ({', '.join(['%s'] * len(organisation_ids))})"
    parts = [_ticket_clock_select(clock) for clock in TICKET_CLOCKS] + [_CYCLE_SELECT]
    selects = []
    for part in parts:
        selects.append(part.replace("{organisations}", organisations))
        params += list(organisation_ids or ())
    params.append(_instant(cut))
    sql = f"""
        INSERT INTO {TEMP_TABLE}
        WITH bounds(region_id, starts, ends) AS (VALUES {", ".join([row] * len(bounds))}),
        instances AS ({" UNION ALL ".join(selects)})
        SELECT organisation_id, contract_id, reference, priority, clock, due_at, met_at,
               stopped_at, taken_seconds,
               CASE WHEN met_at IS NOT NULL AND breached_at IS NULL AND met_at <= due_at
                    THEN 1 ELSE 0 END
        FROM instances
        WHERE met_at IS NOT NULL OR breached_at IS NOT NULL
              OR (paused_at IS NULL AND due_at < %s)
    """  # noqa: S608 (placeholders and clock names only; values are parameters)
    return sql, params


LINES_SQL = f"""
    WITH ranked AS (
        SELECT organisation_id, priority, clock, taken_seconds,
               ROW_NUMBER() OVER (line ORDER BY taken_seconds) AS rank_in_group,
               -- The whole group: with an ORDER BY the frame would end at the current row.
               COUNT(*) OVER line AS group_size
        FROM {TEMP_TABLE}
        WHERE met_at IS NOT NULL AND taken_seconds IS NOT NULL
        WINDOW line AS (PARTITION BY organisation_id, priority, clock)
    ),
    ranks AS (
        SELECT organisation_id, priority, clock,
               MAX(CASE WHEN rank_in_group = (group_size + 1) / 2 THEN taken_seconds END)
                   AS median_seconds,
               MAX(CASE WHEN rank_in_group = (9 * group_size + 9) / 10 THEN taken_seconds END)
                   AS p90_seconds
        FROM ranked GROUP BY organisation_id, priority, clock
    ),
    counts AS (
        SELECT organisation_id, priority, clock, COUNT(*) AS in_scope, SUM(met_flag) AS met
        FROM {TEMP_TABLE} GROUP BY organisation_id, priority, clock
    )
    SELECT c.organisation_id, c.priority, c.clock, c.in_scope, c.met,
           r.median_seconds, r.p90_seconds
    FROM counts c
    LEFT JOIN ranks r ON r.organisation_id = c.organisation_id AND r.priority = c.priority
                     AND r.clock = c.clock
    ORDER BY c.organisation_id, c.priority, c.clock
"""  # noqa: S608

TALLIES_SQL = f"""
    SELECT organisation_id, contract_id, COUNT(*), SUM(met_flag),
           SUM(CASE WHEN met_flag = 0 AND priority = 'p1' THEN 1 ELSE 0 END)
    FROM {TEMP_TABLE}
    GROUP BY organisation_id, contract_id
    ORDER BY organisation_id, contract_id
"""  # noqa: S608

BREACHES_SQL = f"""
    SELECT organisation_id, reference, priority, clock, due_at, met_at, stopped_at
    FROM {TEMP_TABLE}
    WHERE met_flag = 0
    ORDER BY organisation_id, due_at, reference, clock
"""  # noqa: S608


def _instant_from_db(value: object) -> datetime | None:
    """An instant read back from the temporary table (SQLite returns text)."""
    if value is None:
        return None
    instant = value if isinstance(value, datetime) else parse_datetime(str(value))
    if instant is None:
        raise ValueError(f"not an instant: {value!r}")
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


@contextmanager
def _gathered(
    cursor: CursorWrapper,
    bounds: Sequence[PeriodBounds],
    cut: datetime,
    organisation_ids: Sequence[int] | None,
) -> Iterator[None]:
    sql, params = _gather_sql(bounds, cut, organisation_ids)
    cursor.execute(f"DROP TABLE IF EXISTS {TEMP_TABLE}")
    cursor.execute(_create_sql())
    cursor.execute(sql, params)
    try:
        yield
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {TEMP_TABLE}")


def clock_outcomes(
    *,
    bounds: Sequence[PeriodBounds],
    cut: datetime,
    organisation_ids: Sequence[int] | None = None,
) -> Outcomes:
    """The decided promises due in each organisation's period, aggregated.

    `bounds` gives the period per home region; `cut` is when the period is read (its end for
    a finished month, now for the running one): a clock still running with its due instant
    before `cut` counts as breached. `organisation_ids` limits the organisations (None: all).
    """
    if not bounds or (organisation_ids is not None and not organisation_ids):
        return Outcomes(lines=[], tallies=[], breaches=[])
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        _gathered(cursor, bounds, cut, organisation_ids),
    ):
        cursor.execute(LINES_SQL)
        lines = [
            ClockLine(
                organisation_id=row[0],
                priority=row[1],
                clock=row[2],
                in_scope=int(row[3]),
                met=int(row[4]),
                median_seconds=None if row[5] is None else float(row[5]),
                p90_seconds=None if row[6] is None else float(row[6]),
            )
            for row in cursor.fetchall()
        ]
        cursor.execute(TALLIES_SQL)
        tallies = [
            ContractTally(
                organisation_id=row[0],
                contract_id=row[1],
                in_scope=int(row[2]),
                met=int(row[3]),
                p1_breached=int(row[4]),
            )
            for row in cursor.fetchall()
        ]
        cursor.execute(BREACHES_SQL)
        breaches = [
            Breach(
                organisation_id=row[0],
                reference=row[1],
                priority=row[2],
                clock=row[3],
                due_at=_instant_from_db(row[4]),  # type: ignore[arg-type]
                met_at=_instant_from_db(row[5]),
                stopped_at=_instant_from_db(row[6]),
            )
            for row in cursor.fetchall()
        ]
    return Outcomes(lines=lines, tallies=tallies, breaches=breaches)
