"""Reads of compliance statements. Selectors only read: nothing here writes a row."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from contracts.models import ComplianceStatement
from contracts.statements.chart import months_ending, percent
from portal.models import Organisation


@dataclass(frozen=True)
class MonthCompliance:
    """One month of an organisation's compliance history. A month without an issued statement
    is a gap: `revision` is None and there are no figures."""

    month: date
    revision: int | None = None
    compliance_percent: Decimal | None = None
    objective: Decimal | None = None
    # Priority value ("p1", …) -> its compliance that month, None when nothing was in scope.
    by_priority: dict[str, Decimal | None] = field(default_factory=dict)


def compliance_history(
    *,
    organisation: Organisation,
    month: date,
    months: int = 12,
    including: ComplianceStatement | None = None,
) -> list[MonthCompliance]:
    """The `months` months ending with `month`, oldest first, each read from the latest issued
    revision of its statement (what the customer is owed; one query).

    `including` stands for its own month instead of the issued revision: the statement being
    exported is charted as it is, even a draft or a superseded revision.
    """
    span = months_ending(month.replace(day=1), months)
    rows = (
        ComplianceStatement.objects.current()
        .filter(organisation=organisation, month__gte=span[0], month__lte=span[-1])
        .only("month", "revision", "lines", "compliance_percent", "objective")
    )
    by_month = {row.month: row for row in rows}
    if including is not None and including.month in span:
        by_month[including.month] = including
    return [_month_compliance(m, by_month.get(m)) for m in span]


def _month_compliance(month: date, statement: ComplianceStatement | None) -> MonthCompliance:
    if statement is None:
        return MonthCompliance(month=month)
    # Per priority, met over in scope summed over the priority's clocks: the same rule as the
    # month's compliance over every line.
    totals: dict[str, tuple[int, int]] = {}
    for line in statement.lines:
        met, in_scope = totals.get(line["priority"], (0, 0))
        totals[line["priority"]] = (met + line["met"], in_scope + line["in_scope"])
    return MonthCompliance(
        month=month,
        revision=statement.revision,
        compliance_percent=statement.compliance_percent,
        objective=statement.objective,
        by_priority={p: percent(met, scope) for p, (met, scope) in sorted(totals.items())},
    )
