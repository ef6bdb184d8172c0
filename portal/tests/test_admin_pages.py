"""Every model is in the admin, and its pages load for staff with a bounded number of queries."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts.models import (
    CalendarHoliday,
    ComplianceStatement,
    EscalationPolicy,
    ServiceCreditBand,
)
from portal.admin.base import CappedCountPaginator
from portal.models import DeadLetter, Heartbeat, TaskAttempt
from tickets.models import Attachment, Ticket
from tickets.services import call_log, deadlines_sweep, ticket_create, ticket_reply

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def world(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    tickets = [
        ticket_create(
            organisation=cast["org_a"],
            requester=cast["requester_a"],
            channel="web",
            subject=f"Issue {n}",
            body_text="Broken",
            now=NOW + timedelta(minutes=n),
        )
        for n in range(3)
    ]
    ticket_reply(ticket=tickets[0], author=cast["agent_ber"].user, body_text="On it", now=NOW)
    call_log(
        ticket=tickets[0],
        agent=cast["agent_ber"].user,
        caller_name="Rita",
        phone_number="+49",
        direction="inbound",
        started_at=NOW,
        duration=timedelta(minutes=3),
        summary="Called",
        now=NOW,
    )
    Attachment.objects.create(
        ticket=tickets[0],
        message=tickets[0].messages.first(),
        file=SimpleUploadedFile("log.txt", b"trace"),
        filename="log.txt",
        content_type="text/plain",
        size=5,
        sha256="0" * 64,
        created_at=NOW,
    )
    tier = cast["contract_a"].tier
    ServiceCreditBand.objects.create(tier=tier, below_percent=99, credit_percent=10)
    CalendarHoliday.objects.create(
        calendar=cast["org_a"].home_region.calendars.get(), date=date(2026, 12, 24), name="Eve"
    )
    ComplianceStatement.objects.create(
        organisation=cast["org_a"], month=date(2026, 2, 1), generated_at=NOW
    )
    Heartbeat.objects.create(name="beat", seen_at=NOW, beats=1)
    # A P1 left unanswered: warnings, breaches, escalations and notifications.
    ticket_create(
        organisation=cast["org_a"],
        requester=cast["requester_a"],
        channel="api",
        subject="Down",
        body_text="Down",
        priority="p1",
        now=NOW,
    )
    deadlines_sweep(now=NOW + timedelta(hours=3))
    EscalationPolicy.objects.create(
        tier=tier, priority="p1", trigger="breach", notify_team_lead=True, repeat_minutes=10
    )
    TaskAttempt.objects.create(
        task_id="t-1",
        task_name="tickets.tasks.sweep_deadlines",
        attempts=1,
        first_started_at=NOW,
        last_started_at=NOW,
    )
    DeadLetter.objects.create(
        task_id="t-2",
        task_name="tickets.tasks.send_notifications",
        args=[[1]],
        kwargs={},
        attempts=4,
        reason="started 4 times without finishing",
        parked_at=NOW,
    )
    return cast


def test_every_model_of_the_project_is_registered():

    ours = {
        model
        for app in ("portal", "contracts", "tickets")
        for model in apps.get_app_config(app).get_models()
    }
    assert ours <= set(admin.site._registry)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_changelist_loads_for_staff_with_bounded_queries(
    model, world, client, django_assert_max_num_queries
):
    client.force_login(world["superuser"])
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_change_and_add_pages_load_for_staff(model, world, client, django_assert_max_num_queries):
    client.force_login(world["superuser"])
    obj = model._default_manager.order_by("pk").first()
    info = (model._meta.app_label, model._meta.model_name)
    if obj is not None:
        with django_assert_max_num_queries(40):
            response = client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        assert response.status_code == 200
    model_admin = admin.site._registry[model]
    request = type("R", (), {"user": world["superuser"]})()
    if model_admin.has_add_permission(request):
        response = client.get(reverse("admin:{}_{}_add".format(*info)))
        assert response.status_code == 200


def test_ticket_changelist_query_count_does_not_grow_with_tickets(
    world, client, django_assert_num_queries
):
    client.force_login(world["superuser"])
    url = reverse("admin:tickets_ticket_changelist")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(10):
        ticket_create(
            organisation=world["org_b"],
            requester=world["requester_b"],
            channel="email",
            subject=f"More {n}",
            body_text="x",
            now=NOW,
        )
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.count(b"MRD-") >= 13


def test_admin_requires_staff(world, client):
    client.force_login(world["requester_a"].user)
    response = client.get(reverse("admin:tickets_ticket_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_busy_lists_never_count_past_the_cap(world, monkeypatch):

    monkeypatch.setattr(CappedCountPaginator, "CAP", 2)
    with CaptureQueriesContext(connection) as queries:
        count = CappedCountPaginator(Ticket.objects.all(), 100).count
    assert Ticket.objects.count() > 3
    assert count == 3
    assert "LIMIT 3" in queries.captured_queries[0]["sql"]
