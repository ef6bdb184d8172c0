"""What every export of a statement says, as tables of typed cells, read from the stored row
alone: the CSV, the workbook and the PDF lay out the same tables.

Nothing here reads the clock, the viewer's zone or locale, or another row: the same row gives
the same tables (in the same language), which is what keeps an issued statement's CSV
byte-identical however often it is exported.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from contracts.models import ComplianceStatement
from contracts.sla_names import Clock

# A cell keeps its type: numbers stay numbers in the workbook; text is what a spreadsheet may
# mistake for a formula (see `spreadsheet_text`).
Cell = str | int | float | Decimal | None

# What a spreadsheet reads as the start of a formula (or, for tab and carriage return, as a
# way to smuggle one past a check of the first character).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    """One part of the statement: a sheet of the workbook, a section of the CSV and of the PDF."""

    key: str
    title: str
    headings: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet shows as text: a leading `'` before what would start a formula, so
    an organisation named `=HYPERLINK(…)` is a name, not a link (OWASP's CSV injection)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def statement_tables(statement: ComplianceStatement) -> tuple[Table, ...]:
    """The summary, the lines, the breaches and the coverage, in that order."""
    zone = ZoneInfo(statement.time_zone)
    return (
        _summary(statement, zone),
        _lines(statement),
        _breaches(statement, zone),
        _coverage(statement),
    )


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


def priority_label(priority: str) -> str:
    return priority.upper()


def clock_label(clock: str) -> str:
    # An unknown clock (a later release's) is shown by its name rather than refused.
    return str(Clock(clock).label) if clock in Clock.values else clock


def instant(value: datetime | str | None, zone: ZoneInfo) -> str:
    """An instant in the statement's own zone, ISO 8601 with its offset, to the second: the
    same whoever exports it, and unambiguous across a DST change."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).isoformat(timespec="seconds")


def _decimal(value: str | int | float | Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _summary(statement: ComplianceStatement, zone: ZoneInfo) -> Table:
    rows: list[tuple[Cell, ...]] = [
        (_("Organisation"), statement.organisation.name),
        (_("Month"), month_label(statement.month)),
        (_("Revision"), statement.revision),
        (_("Status"), str(ComplianceStatement.Status(statement.status).label)),
    ]
    if statement.reason:
        rows.append((_("Reason for the revision"), statement.reason))
    rows += [
        (_("Time zone"), statement.time_zone),
        (_("Generated at"), instant(statement.generated_at, zone)),
        (_("Issued at"), instant(statement.issued_at, zone)),
        (_("Content hash (SHA-256)"), statement.content_hash),
        (_("Promises in scope"), statement.in_scope),
        (_("Met"), statement.met),
        (_("Breached"), statement.breached),
        (_("Compliance %"), _decimal(statement.compliance_percent)),
        (_("Objective %"), _decimal(statement.objective)),
        (_("Service credit"), _decimal(statement.credit_amount)),
        (_("Currency"), statement.currency),
    ]
    return Table("summary", _("Statement"), (_("Item"), _("Value")), tuple(rows))


def _lines(statement: ComplianceStatement) -> Table:
    headings = (
        _("Priority"),
        _("Clock"),
        _("In scope"),
        _("Met"),
        _("Breached"),
        _("Compliance %"),
        _("Median minutes"),
        _("P90 minutes"),
    )
    rows = tuple(
        (
            priority_label(line["priority"]),
            clock_label(line["clock"]),
            line["in_scope"],
            line["met"],
            line["breached"],
            _decimal(line["compliance_percent"]),
            line["median_minutes"],
            line["p90_minutes"],
        )
        for line in statement.lines
    )
    return Table("lines", _("Per priority and clock"), headings, rows)


def _breaches(statement: ComplianceStatement, zone: ZoneInfo) -> Table:
    headings = (
        _("Ticket"),
        _("Priority"),
        _("Clock"),
        _("Due"),
        _("Met"),
        _("Overrun minutes"),
    )
    still_open = _("still open")
    rows = tuple(
        (
            breach["reference"],
            priority_label(breach["priority"]),
            clock_label(breach["clock"]),
            instant(breach["due_at"], zone),
            instant(breach["met_at"], zone) if breach["met_at"] else still_open,
            breach["overrun_minutes"],
        )
        for breach in statement.breaches
    )
    return Table("breaches", _("Breaches"), headings, rows)


def _coverage(statement: ComplianceStatement) -> Table:
    headings = (
        _("Contract"),
        _("Tier"),
        _("Starts on"),
        _("Ends on"),
        _("Days covered"),
        _("Days in month"),
        _("Monthly fee"),
        _("Prorated fee"),
        _("Band below %"),
        _("Band credit %"),
        _("Band credit"),
        _("P1 breaches"),
        _("P1 credit"),
        _("Cap"),
        _("Credit"),
    )
    rows = tuple(
        (
            part["reference"],
            part["tier"],
            part["starts_on"],
            part["ends_on"] or "",
            part["days"],
            part["days_in_month"],
            _decimal(part["monthly_fee"]),
            _decimal(part["prorated_fee"]),
            _decimal(part["band_below_percent"]),
            _decimal(part["band_credit_percent"]),
            _decimal(part["band_credit"]),
            part["p1_breaches"],
            _decimal(part["p1_credit"]),
            _decimal(part["cap"]),
            _decimal(part["credit"]),
        )
        for part in statement.coverage
    )
    return Table("coverage", _("Contracts and service credit"), headings, rows)
