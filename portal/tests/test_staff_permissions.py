from django.core.management import call_command
from django.urls import reverse

from portal.services import staff_group_name, staff_permissions_sync


def test_every_agent_lands_in_the_group_of_their_role(agent_ber, lead_ber, account_manager):
    sizes = staff_permissions_sync()
    assert sizes == {
        staff_group_name("agent"): 1,
        staff_group_name("lead"): 1,
        staff_group_name("account_manager"): 1,
    }
    assert agent_ber.user.groups.get().name == "Meridian agents"
    assert lead_ber.user.groups.get().name == "Meridian team leads"


def test_agents_work_tickets_but_do_not_edit_contracts(agent_ber, client, contract_a):
    staff_permissions_sync()
    client.force_login(agent_ber.user)
    assert client.get(reverse("admin:tickets_ticket_changelist")).status_code == 200
    assert client.get(reverse("admin:contracts_contract_changelist")).status_code == 200
    assert agent_ber.user.has_perm("tickets.change_ticket")
    assert not agent_ber.user.has_perm("contracts.change_contract")
    assert client.get(reverse("admin:contracts_contract_add")).status_code == 403


def test_account_managers_edit_contracts_and_organisations(account_manager):
    staff_permissions_sync()
    user = type(account_manager.user).objects.get(pk=account_manager.user.pk)
    assert user.has_perm("contracts.change_contract")
    assert user.has_perm("portal.change_organisation")
    assert not user.has_perm("tickets.delete_ticket")


def test_running_the_command_twice_changes_nothing(agent_ber, capsys):
    call_command("sync_staff_permissions")
    first = capsys.readouterr().out
    call_command("sync_staff_permissions")
    assert capsys.readouterr().out == first
    assert "Meridian agents: 1 members" in first
