import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal.models import Agent, EmailDomain, Member, Team


def test_a_region_has_one_team_per_level(region_ber):
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(region=region_ber, level=Team.Level.L1, name="Second Berlin L1")


def test_email_domains_are_stored_lower_case(org_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailDomain.objects.create(organisation=org_a, domain="Acme-Other.test")
    EmailDomain.objects.create(organisation=org_a, domain="acme-other.test")
    assert set(org_a.email_domains.values_list("domain", flat=True)) == {
        "acme.test",
        "acme-other.test",
    }


def test_an_email_domain_belongs_to_one_organisation(org_a, org_b):
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailDomain.objects.create(organisation=org_b, domain="acme.test")


def test_agents_other_than_account_managers_need_a_team(agent_ber):
    agent_ber.team = None
    with pytest.raises(IntegrityError), transaction.atomic():
        agent_ber.save(update_fields=["team"])


def test_account_manager_works_without_a_team(account_manager):
    account_manager.refresh_from_db()
    assert account_manager.team is None
    assert account_manager.role == Agent.Role.ACCOUNT_MANAGER


def test_a_customer_member_cannot_also_be_an_agent(requester_a, region_ber):
    agent = Agent(user=requester_a.user, team=region_ber.teams.first())
    with pytest.raises(ValidationError, match="customer member"):
        agent.full_clean()


def test_an_agent_cannot_also_be_a_customer_member(agent_ber, org_a):
    member = Member(user=agent_ber.user, organisation=org_a)
    with pytest.raises(ValidationError, match="support agent"):
        member.full_clean()


def test_member_time_zone_must_be_an_iana_zone(requester_a):
    requester_a.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as excinfo:
        requester_a.full_clean()
    assert "time_zone" in excinfo.value.message_dict


def test_member_role_is_checked_by_the_database(requester_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=requester_a.pk).update(role="owner")
