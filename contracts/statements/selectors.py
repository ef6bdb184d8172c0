"""Who reads which compliance statements. Selectors only read.

- a customer organisation's admins: their organisation's issued statements, every revision
  (a superseded one is flagged);
- the account manager of an organisation: its statements, drafts too;
- superusers: all;
- requesters and other staff: none (`StatementsRefused`).
"""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from contracts.models import ComplianceStatement
from portal.errors import Refusal
from portal.models import Agent, Member
from portal.selectors import member_of, profile_of


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
    return statements.filter(organisation_id=member.organisation_id).issued()


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
