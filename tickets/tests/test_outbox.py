"""Emails are handed to their sender tasks by name, after commit, in chunks."""

from unittest import mock

from celery import current_app

from tickets.services.outbox import (
    DISPATCH_CHUNK,
    SEND_CUSTOMER_EMAILS_TASK,
    SEND_NOTIFICATIONS_TASK,
    notifications_dispatch,
)
from tickets.tasks import send_customer_emails, send_notifications


def test_the_outbox_names_the_sender_tasks_that_exist():
    assert send_notifications.name == SEND_NOTIFICATIONS_TASK
    assert send_customer_emails.name == SEND_CUSTOMER_EMAILS_TASK
    assert {SEND_NOTIFICATIONS_TASK, SEND_CUSTOMER_EMAILS_TASK} <= set(current_app.tasks)


def test_notifications_go_to_the_sender_after_commit_in_chunks(
    db, django_capture_on_commit_callbacks
):
    ids = list(range(1, DISPATCH_CHUNK + 3))
    # The broker is the edge: what would be sent to it is recorded instead.
    with mock.patch.object(current_app, "send_task") as send:
        with django_capture_on_commit_callbacks() as callbacks:
            notifications_dispatch(ids)
            assert send.call_count == 0  # nothing before the commit
        for callback in callbacks:
            callback()
    assert [c.args for c in send.call_args_list] == [
        (SEND_NOTIFICATIONS_TASK,),
        (SEND_NOTIFICATIONS_TASK,),
    ]
    assert [c.kwargs["args"] for c in send.call_args_list] == [
        [ids[:DISPATCH_CHUNK]],
        [ids[DISPATCH_CHUNK:]],
    ]
