"""The directory staff keep in the support desk: regions and their teams, customer
organisations with their mail domains, and the organisations' members.

Each service validates every row and writes the page it comes from (a row and its inline rows)
in one transaction. Removing an inline row deletes it: the database refuses (PROTECT) when
anything still points at it, and the transaction rolls back.
"""

from collections.abc import Sequence
from typing import TypeVar

from django.db import transaction
from django.db.models import Model, ProtectedError
from django.utils.translation import gettext as _

from portal.errors import Refusal, rows_check
from portal.models import EmailDomain, Member, Organisation, Region, Team

_Row = TypeVar("_Row", bound=Model)


def _checked(rows: Sequence[Model]) -> None:
    rows_check(rows)


def _saved(row: _Row) -> _Row:
    """One validated row, written in a transaction of its own."""
    rows_check([row])
    with transaction.atomic(durable=True):
        row.save()
    return row


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
    return _saved(team)


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
    return _saved(domain)


def member_save(*, member: Member) -> Member:
    """A customer's person (never a staff member: `Member.clean`)."""
    return _saved(member)
