"""Celery adapters: take ids, call one service."""

from smtplib import SMTPException

from celery import shared_task
from django.utils import timezone

from contracts.models import Contract
from contracts.services import contract_draft_notify
from contracts.statements.figures import previous_month
from contracts.statements.months import parse_month
from contracts.statements.services import statements_generate
from portal.taskguard import GuardedTask


@shared_task(
    base=GuardedTask,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=2,
)
def send_contract_draft_mail(contract_id: int) -> int:
    """Email the organisation's admins the link to sign a draft; how many were sent."""
    contract = (
        Contract.objects.select_related("organisation", "tier").filter(pk=contract_id).first()
    )
    if contract is None:
        return 0
    return contract_draft_notify(contract=contract)


@shared_task(base=GuardedTask)
def generate_monthly_statements(month: str | None = None) -> dict[str, int | str]:
    """Beat runs this at midday UTC on the 1st of each month, when the month before has ended
    in every zone: draft its statements. `month` ("2026-10") drafts another month's."""
    now = timezone.now()
    target = parse_month(month) if month else previous_month(now.date())
    return statements_generate(month=target, now=now).as_dict()
