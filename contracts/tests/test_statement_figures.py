"""Monthly statements worked out by hand: one customer of a 24x7 tier in Berlin lives through
October 2026 (the clocks count wall-clock minutes, so each figure can be checked on paper).

Berlin is UTC+2 until 25 October, UTC+1 after: October runs from 30 September 22:00 UTC to
31 October 23:00 UTC.

- T1, P1, 5 Oct 10:00: answered 10:05; the customer writes 10:10, answered 10:30; workaround
  10:20; resolved 11:00. FR met (5 min), NR met (20), WA met (20), RES met (60).
- T2, P1, 6 Oct 10:00: answered 10:25 (due 10:10); resolved 11:30 with no workaround (due
  10:30). FR breached (took 25, 15 over), WA breached (60 over, to the resolution), RES met (90).
- T3, P2, 31 Oct 22:00 (23:00 in Berlin): nobody answers (due 22:30). FR still running:
  breached, 30 over to the month's end; RES due in November, so not counted.
- T4, P1, 30 Sep 21:55 UTC, already 1 Oct in Berlin: answered 22:00, workaround 22:10,
  resolved 23:00. FR met (5), WA met (15), RES met (65).
- T5, P2, 10 Oct 08:00: answered 08:10; pending 09:00-13:00; resolved 19:00. FR met (10), RES
  met (420: 11 h less the 4 h pause; due 20:00).
- T6, P2 then P1 at 09:05, 12 Oct 09:00: answered 09:08; resolved 10:30 (workaround due
  09:30). FR met (8), WA breached (60 over), RES met (90).
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, transaction

from conftest import make_member, make_tier
from contracts.models import ComplianceStatement, ServiceCreditBand, SLATier
from contracts.services import contract_create, contract_sign
from contracts.statements.exports import export_statement
from contracts.statements.figures import month_bounds, statement_content, statement_figures
from contracts.statements.services import (
    StatementError,
    statement_issue,
    statement_revise,
    statements_generate,
)
from contracts.tasks import generate_monthly_statements
from contracts.terms import terms_hash
from portal.models import Organisation
from tickets.services import (
    ticket_change_priority,
    ticket_change_status,
    ticket_create,
    ticket_mark_workaround,
    ticket_reply,
)

OCTOBER = date(2026, 10, 1)
AFTER_OCTOBER = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def credit_tier(code: str, fee: str, bands: list[tuple[str, str]], p1: str, cap: str) -> SLATier:
    # First response, next response, workaround, root cause, resolution (minutes), 24x7.
    tier = make_tier(
        code,
        SLATier.Coverage.ALWAYS,
        {"p1": (10, 30, 30, None, 120), "p2": (30, 60, None, None, 480)},
        fee=fee,
    )
    tier.p1_breach_credit_percent = Decimal(p1)
    tier.credit_cap_percent = Decimal(cap)
    tier.save()
    for below, credit in bands:
        ServiceCreditBand.objects.create(
            tier=tier, below_percent=Decimal(below), credit_percent=Decimal(credit)
        )
    return tier


def sign(org, tier, admin, starts_on: date, ends_on: date | None, reference: str):
    contract = contract_create(
        organisation=org, tier=tier, starts_on=starts_on, ends_on=ends_on, reference=reference
    )
    return contract_sign(
        contract=contract,
        signer=admin.user,
        signed_name="Ada Admin",
        consent=True,
        shown_terms_hash=terms_hash(contract.terms),
        now=utc(2025, 12, 20, 9),
        ip=None,
        user_agent="t",
    )


@pytest.fixture
def customer(region_ber, account_manager):
    org = Organisation.objects.create(
        name="Nordlicht Live",
        slug="nordlicht",
        home_region=region_ber,
        account_manager=account_manager.user,
    )
    admin = make_member("ada.admin@nordlicht.test", org, "admin")
    requester = make_member("rob@nordlicht.test", org)
    return org, admin, requester


@pytest.fixture
def gold(db) -> SLATier:
    """Fee 3,000; below 99 %: 5 %, below 90 %: 10 %; 2 % per P1 breach; capped at 20 %."""
    return credit_tier("gold", "3000.00", [("99.00", "5.00"), ("90.00", "10.00")], "2.00", "20.00")


@pytest.fixture
def platinum(db) -> SLATier:
    """Fee 6,000; below 95 %: 15 %; 5 % per P1 breach; capped at 50 %."""
    return credit_tier("platinum", "6000.00", [("95.00", "15.00")], "5.00", "50.00")


def october(customer, agent):
    """Live the month of the table above."""
    org, _admin, requester = customer
    me = agent.user

    def create(at, priority):
        return ticket_create(
            organisation=org,
            requester=requester,
            channel="web",
            subject="Stream down",
            body_text="Viewers see a black screen.",
            priority=priority,
            now=at,
        )

    def answer(ticket, at):
        ticket_reply(ticket=ticket, author=me, body_text="On it.", now=at)

    t1 = create(utc(2026, 10, 5, 10, 0), "p1")
    answer(t1, utc(2026, 10, 5, 10, 5))
    ticket_reply(
        ticket=t1, author=requester.user, body_text="Still down.", now=utc(2026, 10, 5, 10, 10)
    )
    ticket_mark_workaround(ticket=t1, now=utc(2026, 10, 5, 10, 20), actor=me)
    answer(t1, utc(2026, 10, 5, 10, 30))
    ticket_change_status(ticket=t1, status="resolved", now=utc(2026, 10, 5, 11, 0), actor=me)

    t2 = create(utc(2026, 10, 6, 10, 0), "p1")
    answer(t2, utc(2026, 10, 6, 10, 25))
    ticket_change_status(ticket=t2, status="resolved", now=utc(2026, 10, 6, 11, 30), actor=me)

    t4 = create(utc(2026, 9, 30, 21, 55), "p1")
    answer(t4, utc(2026, 9, 30, 22, 0))
    ticket_mark_workaround(ticket=t4, now=utc(2026, 9, 30, 22, 10), actor=me)
    ticket_change_status(ticket=t4, status="resolved", now=utc(2026, 9, 30, 23, 0), actor=me)

    t5 = create(utc(2026, 10, 10, 8, 0), "p2")
    answer(t5, utc(2026, 10, 10, 8, 10))
    ticket_change_status(ticket=t5, status="pending", now=utc(2026, 10, 10, 9, 0), actor=me)
    ticket_change_status(ticket=t5, status="open", now=utc(2026, 10, 10, 13, 0), actor=me)
    ticket_change_status(ticket=t5, status="resolved", now=utc(2026, 10, 10, 19, 0), actor=me)

    t6 = create(utc(2026, 10, 12, 9, 0), "p2")
    ticket_change_priority(ticket=t6, priority="p1", now=utc(2026, 10, 12, 9, 5), actor=me)
    answer(t6, utc(2026, 10, 12, 9, 8))
    ticket_change_status(ticket=t6, status="resolved", now=utc(2026, 10, 12, 10, 30), actor=me)

    t3 = create(utc(2026, 10, 31, 22, 0), "p2")
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "t6": t6}


EXPECTED_LINES = [
    {"priority": "p1", "clock": "first_response", "in_scope": 4, "met": 3, "breached": 1,
     "compliance_percent": "75.00", "median_minutes": 5.0, "p90_minutes": 25.0},
    {"priority": "p1", "clock": "next_response", "in_scope": 1, "met": 1, "breached": 0,
     "compliance_percent": "100.00", "median_minutes": 20.0, "p90_minutes": 20.0},
    {"priority": "p1", "clock": "workaround", "in_scope": 4, "met": 2, "breached": 2,
     "compliance_percent": "50.00", "median_minutes": 15.0, "p90_minutes": 20.0},
    {"priority": "p1", "clock": "resolution", "in_scope": 4, "met": 4, "breached": 0,
     "compliance_percent": "100.00", "median_minutes": 65.0, "p90_minutes": 90.0},
    {"priority": "p2", "clock": "first_response", "in_scope": 2, "met": 1, "breached": 1,
     "compliance_percent": "50.00", "median_minutes": 10.0, "p90_minutes": 10.0},
    {"priority": "p2", "clock": "resolution", "in_scope": 1, "met": 1, "breached": 0,
     "compliance_percent": "100.00", "median_minutes": 420.0, "p90_minutes": 420.0},
]  # fmt: skip


def test_october_is_counted_in_berlin_time():
    assert month_bounds(OCTOBER, "Europe/Berlin") == (utc(2026, 9, 30, 22), utc(2026, 10, 31, 23))


def test_a_month_of_promises_worked_out_by_hand(customer, gold, agent_ber):
    org, admin, _ = customer
    sign(org, gold, admin, date(2026, 1, 1), None, "CT-N-1")
    tickets = october(customer, agent_ber)

    figures = statement_figures(month=OCTOBER, now=AFTER_OCTOBER)[org.pk]

    assert figures.lines == EXPECTED_LINES
    assert (figures.in_scope, figures.met, figures.breached) == (16, 12, 4)
    assert figures.compliance_percent == Decimal("75.00")
    assert figures.breaches == [
        {"reference": tickets["t2"].reference, "priority": "p1", "clock": "first_response",
         "due_at": "2026-10-06T10:10:00+00:00", "met_at": "2026-10-06T10:25:00+00:00",
         "overrun_minutes": 15.0},
        {"reference": tickets["t2"].reference, "priority": "p1", "clock": "workaround",
         "due_at": "2026-10-06T10:30:00+00:00", "met_at": None, "overrun_minutes": 60.0},
        {"reference": tickets["t6"].reference, "priority": "p1", "clock": "workaround",
         "due_at": "2026-10-12T09:30:00+00:00", "met_at": None, "overrun_minutes": 60.0},
        {"reference": tickets["t3"].reference, "priority": "p2", "clock": "first_response",
         "due_at": "2026-10-31T22:30:00+00:00", "met_at": None, "overrun_minutes": 30.0},
    ]  # fmt: skip
    # The whole month under one contract: 75 % is below 90 % (10 % of 3,000 = 300), three P1
    # promises broken (3 x 2 % of 3,000 = 180), under the cap (20 % of 3,000 = 600).
    [coverage] = figures.coverage
    assert (coverage["days"], coverage["prorated_fee"]) == (31, "3000.00")
    assert (coverage["band_credit_percent"], coverage["band_credit"]) == ("10.00", "300.00")
    assert (coverage["p1_breaches"], coverage["p1_credit"]) == (3, "180.00")
    assert (coverage["cap"], coverage["credit"]) == ("600.00", "480.00")
    assert figures.credit_amount == Decimal("480.00")
    assert (figures.objective, figures.currency) == (Decimal("95.00"), "EUR")


def test_a_contract_change_mid_month_prorates_each_contract(customer, gold, platinum, agent_ber):
    org, admin, _ = customer
    sign(org, gold, admin, date(2026, 1, 1), date(2026, 10, 14), "CT-N-1")
    sign(org, platinum, admin, date(2026, 10, 15), None, "CT-N-2")
    october(customer, agent_ber)

    figures = statement_figures(month=OCTOBER, now=AFTER_OCTOBER)[org.pk]

    gold_part, platinum_part = figures.coverage
    # Gold, 14 days: 3,000 x 14/31 = 1,354.84; 10 % = 135.48, plus 180 for its three P1
    # breaches = 315.48, over its cap of 20 % x 1,354.84 = 270.97.
    assert (gold_part["reference"], gold_part["days"]) == ("CT-N-1", 14)
    assert gold_part["prorated_fee"] == "1354.84"
    assert (gold_part["band_credit"], gold_part["p1_credit"]) == ("135.48", "180.00")
    assert (gold_part["cap"], gold_part["credit"]) == ("270.97", "270.97")
    # Platinum, 17 days: 6,000 x 17/31 = 3,290.32; 75 % is below 95 %: 15 % = 493.55; no
    # P1 ticket of its own (T3 is its only ticket, a P2).
    assert (platinum_part["reference"], platinum_part["days"]) == ("CT-N-2", 17)
    assert platinum_part["prorated_fee"] == "3290.32"
    assert (platinum_part["band_credit"], platinum_part["p1_breaches"]) == ("493.55", 0)
    assert platinum_part["credit"] == "493.55"
    assert figures.credit_amount == Decimal("764.52")
    # The contract covering most of the month sets the objective shown.
    assert figures.objective == Decimal("95.00")


def test_the_running_month_counts_only_what_is_decided(customer, gold, agent_ber):
    org, admin, requester = customer
    sign(org, gold, admin, date(2026, 1, 1), None, "CT-N-1")
    ticket_create(
        organisation=org, requester=requester, channel="web", subject="Stream down",
        body_text="Black screen.", priority="p1", now=utc(2026, 10, 6, 10, 0),
    )  # fmt: skip

    # At 10:20 nobody has answered: the first response (due 10:10) is past due, breached though
    # no sweep recorded it; the workaround (10:30) and the resolution (12:00) are not due yet.
    figures = statement_figures(month=OCTOBER, now=utc(2026, 10, 6, 10, 20))[org.pk]

    assert [(line["clock"], line["in_scope"], line["breached"]) for line in figures.lines] == [
        ("first_response", 1, 1)
    ]
    assert figures.breaches[0]["overrun_minutes"] == 10.0


def test_generation_is_idempotent_and_leaves_issued_statements_alone(
    customer, gold, agent_ber, account_manager
):
    org, admin, _ = customer
    sign(org, gold, admin, date(2026, 1, 1), None, "CT-N-1")
    october(customer, agent_ber)

    first = statements_generate(month=OCTOBER, now=AFTER_OCTOBER)
    again = statements_generate(month=OCTOBER, now=AFTER_OCTOBER)

    assert (len(first.created), len(again.created), len(again.refreshed)) == (1, 0, 1)
    [draft] = ComplianceStatement.objects.filter(organisation=org)
    assert (draft.revision, draft.status, draft.credit_amount) == (1, "draft", Decimal("480.00"))

    issued = statement_issue(statement=draft, by=account_manager.user, now=AFTER_OCTOBER)
    assert statements_generate(month=OCTOBER, now=AFTER_OCTOBER).already_issued == 1
    assert ComplianceStatement.objects.filter(organisation=org).count() == 1
    assert issued.content_hash == terms_hash(statement_content(issued))


def test_an_issued_statement_is_immutable_and_corrected_by_a_new_revision(
    customer, gold, agent_ber, account_manager
):
    org, admin, _ = customer
    sign(org, gold, admin, date(2026, 1, 1), None, "CT-N-1")
    tickets = october(customer, agent_ber)
    statements_generate(month=OCTOBER, now=AFTER_OCTOBER)
    draft = ComplianceStatement.objects.get(organisation=org)
    issued = statement_issue(statement=draft, by=account_manager.user, now=AFTER_OCTOBER)

    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        ComplianceStatement.objects.filter(pk=issued.pk).update(credit_amount=Decimal("0"))
    with pytest.raises(StatementError, match="already issued"):
        statement_issue(statement=issued, by=None, now=AFTER_OCTOBER)
    with pytest.raises(StatementError) as refused:
        statement_revise(statement=issued, reason="  ", now=AFTER_OCTOBER)
    assert refused.value.field == "reason"

    # T3's first response is answered late, on 1 November: still breached in October, but its
    # overrun is now the 8 h 30 min it really took instead of the 30 minutes to the month end.
    ticket_reply(
        ticket=tickets["t3"], author=agent_ber.user, body_text="Sorry.", now=utc(2026, 11, 1, 7)
    )
    later = utc(2026, 11, 2, 9)
    correction = statement_revise(statement=issued, reason="T3 answered late", now=later)
    assert (correction.revision, correction.status) == (2, "draft")
    assert correction.breaches[-1]["overrun_minutes"] == 510.0
    with pytest.raises(StatementError, match="draft waiting"):
        statement_revise(statement=issued, reason="again", now=later)
    statement_issue(statement=correction, by=account_manager.user, now=later)

    issued.refresh_from_db()
    assert issued.breaches[-1]["overrun_minutes"] == 30.0
    assert issued.content_hash == terms_hash(statement_content(issued))
    current = ComplianceStatement.objects.current()
    assert [(s.organisation_id, s.revision) for s in current] == [(org.pk, 2)]


def test_a_revision_after_the_first_needs_a_reason(customer):
    org, _, _ = customer
    with pytest.raises(IntegrityError), transaction.atomic():
        ComplianceStatement.objects.create(
            organisation=org, month=OCTOBER, revision=2, generated_at=AFTER_OCTOBER
        )


def test_generation_costs_the_same_queries_for_one_organisation_or_many(
    customer, gold, agent_ber, org_a, org_b, contract_a, contract_b, django_assert_max_num_queries
):
    org, admin, _ = customer
    sign(org, gold, admin, date(2026, 1, 1), None, "CT-N-1")
    october(customer, agent_ber)
    with django_assert_max_num_queries(20):
        report = statements_generate(month=OCTOBER, now=AFTER_OCTOBER)
    assert len(report.created) == 3


def test_the_monthly_task_drafts_the_month_before(customer, gold, agent_ber, time_machine):
    org, admin, _ = customer
    sign(org, gold, admin, date(2026, 1, 1), None, "CT-N-1")
    october(customer, agent_ber)
    time_machine.move_to(utc(2026, 11, 1, 12, 7), tick=False)

    assert generate_monthly_statements() == {
        "month": "2026-10", "created": 1, "refreshed": 0, "already_issued": 0,
    }  # fmt: skip
    assert generate_monthly_statements()["refreshed"] == 1
    assert ComplianceStatement.objects.get(organisation=org).credit_amount == Decimal("480.00")


def test_the_command_drafts_issues_and_exports(customer, gold, agent_ber, tmp_path):
    org, admin, _ = customer
    sign(org, gold, admin, date(2026, 1, 1), None, "CT-N-1")
    october(customer, agent_ber)
    out = StringIO()

    call_command(
        "statements", "--month", "2026-10", "--org", "nordlicht", "--issue",
        "--export", "csv", "--output", str(tmp_path), stdout=out, verbosity=0,
    )  # fmt: skip

    statement = ComplianceStatement.objects.get(organisation=org)
    assert statement.status == "issued"
    assert "1 drafted" in out.getvalue() and "1 issued" in out.getvalue()
    [exported] = tmp_path.iterdir()
    assert exported.name == "meridian-statement-nordlicht-2026-10-r1.csv"
    assert exported.read_bytes() == export_statement(statement=statement, fmt="csv").body


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--month", "2026-13"], "YYYY-MM"),
        (["--month", "2026-10", "--org", "nobody"], "No organisation"),
        (["--month", "2026-10", "--export", "csv"], "--output"),
    ],
)
def test_the_command_refuses_bad_arguments(db, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("statements", *arguments, verbosity=0)
