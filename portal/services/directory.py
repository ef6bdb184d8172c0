"""The directory staff keep in the support desk: regions and their teams, customer
organisations with their mail domains, and the organisations' members.

Each service validates every row and writes the page it comes from (a row and its inline rows)
in one transaction. Removing an inline row deletes it: the database refuses (PROTECT) when
anything still points at it, and the transaction rolls back.
"""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, ProtectedError
from django.utils.translation import gettext as _

from portal.errors import Refusal
from portal.models import EmailDomain, Member, Organisation, Region, Team


def _checked(rows: Sequence[Model]) -> None:
    for row in rows:
        try:
            row.full_clean()
        except ValidationError as exc:
            raise Refusal(
                _("%(row)s: %(reasons)s") % {"row": row, "reasons": "; ".join(exc.messages)}
            ) from exc


def _children_write(
    parent: Model, parent_field: str, saved: Sequence[Model], deleted: Sequence[Model]
) -> None:
    """Inline rows of a page: validated once their parent has its key, then written."""
    for row in saved:
        setattr(row, parent_field, parent)
    _checked(saved)
    for row in saved:
        row.save()
    for row in deleted:
        try:
            row.delete()
        except ProtectedError as exc:
            raise Refusal(
                _("%(row)s is still in use and cannot be removed.") % {"row": row}
            ) from exc


def region_save(
    *, region: Region, teams: Sequence[Team] = (), removed_teams: Sequence[Team] = ()
) -> Region:
    """A follow-the-sun region and its teams."""
    _checked([region])
    with transaction.atomic(durable=True):
        region.save()
        _children_write(region, "region", teams, removed_teams)
    return region


def team_save(*, team: Team) -> Team:
    _checked([team])
    with transaction.atomic(durable=True):
        team.save()
    return team


def organisation_save(
    *,
    organisation: Organisation,
    domains: Sequence[EmailDomain] = (),
    removed_domains: Sequence[EmailDomain] = (),
) -> Organisation:
    """A customer organisation and the mail domains its people write from (stored lower-case,
    as incoming mail is matched)."""
    for domain in domains:
        domain.domain = domain.domain.strip().lower()
    _checked([organisation])
    with transaction.atomic(durable=True):
        organisation.save()
        _children_write(organisation, "organisation", domains, removed_domains)
    return organisation


def email_domain_save(*, domain: EmailDomain) -> EmailDomain:
    domain.domain = domain.domain.strip().lower()
    _checked([domain])
    with transaction.atomic(durable=True):
        domain.save()
    return domain


def member_save(*, member: Member) -> Member:
    """A customer's person (never a staff member: `Member.clean`)."""
    _checked([member])
    with transaction.atomic(durable=True):
        member.save()
    return member
