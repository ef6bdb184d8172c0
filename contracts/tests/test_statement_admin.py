"""The statements in the desk: an account manager generates a month, issues, corrects and
downloads; nobody else's organisations, and agents without the permission, get nothing."""

from datetime import date

import pytest
from django.urls import reverse

from conftest import make_agent
from contracts.models import ComplianceStatement
from contracts.tests.test_statement_figures import (  # noqa: F401 (fixtures)
    customer,
    gold,
    october,
    sign,
)
from portal.models import Agent
from portal.services.staff import staff_permissions_sync

LIST = "admin:contracts_compliancestatement_changelist"


@pytest.fixture
def october_lived(request, agent_ber):
    lived = request.getfixturevalue("customer")
    org, admin, _ = lived
    sign(org, request.getfixturevalue("gold"), admin, date(2026, 1, 1), None, "CT-N-1")
    october(lived, agent_ber)
    staff_permissions_sync()  # each role's group, as `manage.py sync_staff_permissions` sets it
    return org


def act(client, action: str, statement: ComplianceStatement, **extra):
    return client.post(
        reverse(LIST), {"action": action, "_selected_action": [statement.pk], **extra}
    )


def test_an_account_manager_generates_issues_corrects_and_downloads(
    client, october_lived, account_manager
):
    client.force_login(account_manager.user)

    page = client.get(reverse("admin:contracts_statement_generate"))
    assert page.status_code == 200
    refused = client.post(reverse("admin:contracts_statement_generate"), {"month": "October"})
    assert "YYYY-MM" in refused.content.decode()
    done = client.post(reverse("admin:contracts_statement_generate"), {"month": "2026-10"})
    assert done.status_code == 302
    draft = ComplianceStatement.objects.get(organisation=october_lived)

    act(client, "issue_drafts", draft)
    draft.refresh_from_db()
    assert (draft.status, draft.issued_by) == ("issued", account_manager.user)

    asked = act(client, "correct_statement", draft)
    assert asked.status_code == 200 and "Reason for the correction" in asked.content.decode()
    act(client, "correct_statement", draft, apply="yes", reason="A call logged late")
    correction = ComplianceStatement.objects.get(organisation=october_lived, revision=2)
    assert (correction.status, correction.reason) == ("draft", "A call logged late")

    csv = client.get(reverse("admin:contracts_statement_export", args=[draft.pk, "csv"]))
    assert csv.status_code == 200
    assert csv["Content-Disposition"].endswith('-2026-10-r1.csv"')
    assert client.get(reverse(LIST)).status_code == 200


def test_another_account_manager_and_an_agent_get_nothing(client, october_lived, agent_ber, db):
    other = make_agent("am.other", None, Agent.Role.ACCOUNT_MANAGER)
    staff_permissions_sync()
    client.force_login(other.user)
    client.post(reverse("admin:contracts_statement_generate"), {"month": "2026-10"})
    statement = ComplianceStatement.objects.get(organisation=october_lived)
    export = reverse("admin:contracts_statement_export", args=[statement.pk, "csv"])
    # Generating is allowed, reading another manager's organisation is not.
    assert client.get(export).status_code == 404
    act(client, "issue_drafts", statement)
    statement.refresh_from_db()
    assert statement.status == "draft"

    client.force_login(agent_ber.user)
    assert client.get(reverse("admin:contracts_statement_generate")).status_code == 403
