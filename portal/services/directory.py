"""The directory staff keep in the support desk: regions and their teams, customer
organisations with their mail domains, and the organisations' members.

Each service validates every row and writes the page it comes from (a row and its inline rows)
in one transaction. Removing an inline row deletes it: the database refuses (PROTECT) when
anything still points at it, and the transaction rolls back.
"""

import uuid
from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction

from portal.models import EmailDomain, Member, Organisation, Region, Team
from portal.services.rows import inline_rows_write, row_save, rows_check


def region_save(
    *, region: Region, teams: Sequence[Team] = (), removed_teams: Sequence[Team] = ()
) -> Region:
    """A follow-the-sun region and its teams."""
    rows_check([region])
    with transaction.atomic(durable=True):
        region.save()
        inline_rows_write(region, parent_field="region", saved=teams, deleted=removed_teams)
    return region


def team_save(*, team: Team) -> Team:
    return row_save(team)


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
    rows_check([organisation])
    with transaction.atomic(durable=True):
        organisation.save()
        inline_rows_write(
            organisation, parent_field="organisation", saved=domains, deleted=removed_domains
        )
    return organisation


def email_domain_save(*, domain: EmailDomain) -> EmailDomain:
    domain.domain = domain.domain.strip().lower()
    return row_save(domain)


def member_save(*, member: Member) -> Member:
    """A customer's person (never a staff member: `Member.clean`)."""
    return row_save(member)


def member_from_email(*, organisation: Organisation, address: str, name: str = "") -> Member:
    """A requester for someone who wrote from one of the organisation's email domains: a user
    with no password (they reset it to use the portal) and the organisation's default rights."""
    address = address.strip().lower()
    first, _, last = " ".join(name.split()).partition(" ")
    with transaction.atomic():
        username = address[:150]
        if User.objects.filter(username=username).exists():
            username = f"{address[:140]}-{uuid.uuid4().hex[:8]}"
        user = User(username=username, email=address, first_name=first[:150], last_name=last[:150])
        user.set_unusable_password()
        user.save()
        return Member.objects.create(user=user, organisation=organisation)
