"""Reads of compliance statements: who reads which, and an organisation's compliance over the
months. Selectors only read: nothing here writes a row.

Who reads which:
- a customer organisation's admins: their organisation's issued statements, every revision
  (a superseded one is flagged);
- the account manager of an organisation: its statements, drafts too;
- superusers: all;
- requesters and other staff: none (`StatementsRefused`).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from contracts.models import ComplianceStatement
from contracts.statements.chart import months_ending, percent
from portal.errors import Refusal
from portal.models import Agent, Member, Organisation
from portal.selectors import member_of, profile_of


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


class StatementsRefused(Refusal):
    """The caller may not read statements at all (as opposed to: not this one)."""

    status = 403
    code = "permission_denied"


def _with_superseded(statements: QuerySet[ComplianceStatement]) -> QuerySet[ComplianceStatement]:
    """Each statement with `superseded`: a later revision of its month was issued. An
    annotation, so a page of statements is one query."""
    later = ComplianceStatement.objects.filter(
        organisation_id=OuterRef("organisation_id"),
        month=OuterRef("month"),
        status=ComplianceStatement.Status.ISSUED,
        revision__gt=OuterRef("revision"),
    )
    return statements.select_related("organisation").annotate(superseded=Exists(later))


def statements_for_user(user: User | AnonymousUser) -> QuerySet[ComplianceStatement]:
    """The statements `user` may read, each with `superseded`; `StatementsRefused` for a
    user who may read none (one query for the membership or agent profile)."""
    statements = _with_superseded(ComplianceStatement.objects.all())
    if not isinstance(user, User):
        raise StatementsRefused(_("Log in to read compliance statements."))
    if user.is_superuser:
        return statements
    if user.is_staff:
        profile = profile_of(user)
        if isinstance(profile, Agent) and profile.role == Agent.Role.ACCOUNT_MANAGER:
            return statements.filter(organisation__account_manager_id=user.pk)
        raise StatementsRefused(
            _("Compliance statements are for account managers and customer admins.")
        )
    member = member_of(user)
    if member is None or member.role != Member.Role.ADMIN:
        raise StatementsRefused(
            _("Compliance statements are for your organisation's admins; please ask one of them.")
        )
    return statements.filter(organisation_id=member.organisation_id).filter(
        status=ComplianceStatement.Status.ISSUED
    )


def statement_for_user(user: User | AnonymousUser, pk: int) -> ComplianceStatement:
    """One statement `user` may read; 404 for any other, and for a user who may read none
    (a statement's existence is not told to those who cannot read it)."""
    try:
        statements = statements_for_user(user)
    except StatementsRefused as refusal:
        raise Http404(refusal.message) from refusal
    statement = statements.filter(pk=pk).first()
    if statement is None:
        raise Http404(_("No such statement."))
    return statement


def statement_for_notice(statement_id: int) -> ComplianceStatement | None:
    """An issued statement with its organisation, for the email that announces it; None when
    there is no such issued statement (a task may run for a row rolled back)."""
    return (
        ComplianceStatement.objects.issued()
        .select_related("organisation")
        .filter(pk=statement_id)
        .first()
    )


def statement_admins(statement: ComplianceStatement) -> list[Member]:
    """The admins of the statement's organisation whose address takes mail."""
    return list(
        Member.objects.select_related("user")
        .filter(
            organisation_id=statement.organisation_id,
            role=Member.Role.ADMIN,
            email_bouncing_since__isnull=True,
        )
        .exclude(user__email="")
        .filter(user__is_active=True)
        .order_by("user__email")
    )
