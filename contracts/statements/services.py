"""Writes of monthly statements: generate drafts, issue them (sealed for good), correct an
issued one with a new revision. Each public function owns one durable transaction.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from contracts.models import ComplianceStatement
from contracts.statements.figures import (
    StatementFigures,
    content_hash,
    month_start,
    statement_figures,
)
from portal.bulk import rows_insert
from portal.errors import Refusal
from portal.models import Organisation

# Rows per COPY when a month's drafts are written.
WRITE_BATCH = 1000
STATEMENT_COLUMNS = (
    "organisation_id",
    "month",
    "revision",
    "reason",
    "status",
    "time_zone",
    "generated_at",
    "lines",
    "breaches",
    "coverage",
    "in_scope",
    "met",
    "breached",
    "objective",
    "compliance_percent",
    "credit_amount",
    "currency",
    "content_hash",
)


class StatementError(Refusal):
    """A statement operation the rules refuse; the message says why."""


@dataclass
class GenerationReport:
    month: date
    created: list[ComplianceStatement] = field(default_factory=list)
    refreshed: list[ComplianceStatement] = field(default_factory=list)
    already_issued: int = 0

    @property
    def drafts(self) -> list[ComplianceStatement]:
        return [*self.created, *self.refreshed]

    def as_dict(self) -> dict[str, int | str]:
        return {
            "month": f"{self.month:%Y-%m}",
            "created": len(self.created),
            "refreshed": len(self.refreshed),
            "already_issued": self.already_issued,
        }


def _draft(figures: StatementFigures, *, revision: int, reason: str = "") -> ComplianceStatement:
    return ComplianceStatement(
        revision=revision,
        reason=reason,
        status=ComplianceStatement.Status.DRAFT,
        **figures.fields(),
    )


def statements_generate(
    *,
    month: date,
    now: datetime,
    organisations: Sequence[Organisation] | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerationReport:
    """Draft the statements of `month` for `organisations` (None: every organisation with a
    contract in force or a promise due in the month).

    Idempotent: an organisation whose latest revision is a draft gets it refreshed (same
    revision and reason), one with none gets revision 1, and one whose latest revision is
    issued is left alone (a correction is `statement_revise`). `progress` is called with the
    number of statements written after each batch.
    """
    month = month_start(month)
    figures = statement_figures(month=month, now=now, organisations=organisations)
    report = GenerationReport(month=month)
    with transaction.atomic(durable=True):
        latest = {
            row["organisation_id"]: row
            for row in ComplianceStatement.objects.filter(
                month=month, organisation_id__in=list(figures)
            )
            .values("organisation_id")
            .annotate(revision=Max("revision"))
        }
        drafts = {
            draft.organisation_id: draft
            for draft in ComplianceStatement.objects.select_for_update()
            .filter(month=month, organisation_id__in=list(figures), status="draft")
            # Only what is kept: a draft's figures are replaced whole.
            .only("pk", "organisation_id", "revision", "reason")
        }
        rows = []
        for organisation_id, figure in figures.items():
            draft = drafts.get(organisation_id)
            if draft is not None:
                row = _draft(figure, revision=draft.revision, reason=draft.reason)
                report.refreshed.append(row)
            elif organisation_id in latest:
                report.already_issued += 1
                continue
            else:
                row = _draft(figure, revision=1)
                report.created.append(row)
            rows.append(row)
        # A refreshed draft is replaced whole: its figures are all new.
        ComplianceStatement.objects.filter(pk__in=[d.pk for d in drafts.values()]).delete()
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start : start + WRITE_BATCH]
            # COPY on PostgreSQL: `bulk_create`'s array parameters escape every JSON document
            # character by character, most of the month's run at 10,000 organisations.
            pks = rows_insert(
                ComplianceStatement,
                STATEMENT_COLUMNS,
                [[getattr(row, column) for column in STATEMENT_COLUMNS] for row in batch],
            )
            for row, pk in zip(batch, pks, strict=True):
                row.pk = pk
            if progress:
                progress(len(batch))
    return report


def statement_issue(
    *, statement: ComplianceStatement, by: User | None, now: datetime
) -> ComplianceStatement:
    """Freeze a draft: seal its figures with their hash; from now on the database refuses any
    change to the row. The organisation's admins are told after commit."""
    with transaction.atomic(durable=True):
        statement = ComplianceStatement.objects.select_for_update().get(pk=statement.pk)
        if statement.status != ComplianceStatement.Status.DRAFT:
            raise StatementError(
                _("%(statement)s is already issued; correct it with a new revision.")
                % {"statement": statement}
            )
        statement.status = ComplianceStatement.Status.ISSUED
        statement.issued_at = now
        statement.issued_by = by
        statement.content_hash = content_hash(statement)
        statement.save(update_fields=["status", "issued_at", "issued_by", "content_hash"])
    return statement


def statement_revise(
    *, statement: ComplianceStatement, reason: str, now: datetime
) -> ComplianceStatement:
    """Correct an issued statement: a new draft revision of the same organisation and month,
    generated afresh, with the reason for the correction. The issued one stays as it was."""
    reason = reason.strip()
    if not reason:
        raise StatementError(_("Say why the statement is corrected."), field="reason")
    organisation = statement.organisation
    figures = statement_figures(month=statement.month, now=now, organisations=[organisation])
    with transaction.atomic(durable=True):
        siblings = ComplianceStatement.objects.select_for_update().filter(
            organisation=organisation, month=statement.month
        )
        latest = max(siblings, key=lambda row: row.revision)
        if latest.status == ComplianceStatement.Status.DRAFT:
            raise StatementError(
                _("%(statement)s is a draft waiting to be issued: regenerate or issue it.")
                % {"statement": latest}
            )
        if latest.pk != statement.pk:
            raise StatementError(
                _("Revision %(revision)d is the latest: correct that one.")
                % {"revision": latest.revision}
            )
        draft = _draft(figures[organisation.pk], revision=latest.revision + 1, reason=reason)
        draft.save(force_insert=True)
    return draft
