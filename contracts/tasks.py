"""Celery adapters: take ids, call one service."""

from smtplib import SMTPException

from celery import shared_task

from contracts.models import Contract
from contracts.services import contract_draft_notify
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
