"""Follow-the-sun routing over the demo's world: five regions with their shifts (Singapore
08-18, Dubai 08-17, Berlin 08-18, São Paulo 08-18, New York 08-20, local time, weekdays), the
follow-the-sun order Singapore, Dubai, Berlin, São Paulo, New York, and a duty team on call
around the clock for the hours no L1 shift is open."""

from datetime import UTC, datetime, timedelta

import pytest

from contracts.models import BusinessCalendar
from portal.models import Agent, Organisation, Region, Team
from tickets.models import RoutingRule, Ticket
from tickets.roster import Roster
from tickets.routing import RoutingWorld, coverage_gaps, decide, explain


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ticket_for(home: str, *, around_the_clock: bool, **fields) -> Ticket:
    """An unsaved ticket of a demo organisation in `home` (routing reads, never writes)."""
    tier = "enterprise" if around_the_clock else "standard"
    organisation = Organisation.objects.filter(
        home_region__code=home, contracts__tier__code=tier
    ).first()
    assert organisation is not None
    if around_the_clock:
        calendar = BusinessCalendar.objects.get(code="24x7")
    else:
        calendar = BusinessCalendar.objects.get(region__code=home, hours="business")
    return Ticket(
        organisation=organisation,
        region_id=organisation.home_region_id,
        sla_calendar_id=calendar.pk,
        priority=fields.pop("priority", "p2"),
        channel=fields.pop("channel", Ticket.Channel.WEB),
        product_area=fields.pop("product_area", Ticket.ProductArea.STREAMING),
        **fields,
    )


def team_at(ticket: Ticket, when: datetime) -> str:
    return decide(ticket, RoutingWorld.load(when)).team.name


# (home region, instant in UTC, team for a 24x7 contract, team for a business-hours one)
CASES = [
    # Berlin, winter (UTC+1): its shift is 07:00-17:00 UTC.
    ("ber", "2026-03-02 06:59", "Singapore L1", "Berlin L1"),
    ("ber", "2026-03-02 07:00", "Berlin L1", "Berlin L1"),
    ("ber", "2026-03-02 16:59", "Berlin L1", "Berlin L1"),
    ("ber", "2026-03-02 17:00", "São Paulo L1", "Berlin L1"),
    # Berlin's spring-forward week (29 March): the shift now opens at 06:00 UTC.
    ("ber", "2026-03-30 05:59", "Singapore L1", "Berlin L1"),
    ("ber", "2026-03-30 06:00", "Berlin L1", "Berlin L1"),
    ("ber", "2026-03-30 15:59", "Berlin L1", "Berlin L1"),
    ("ber", "2026-03-30 16:00", "São Paulo L1", "Berlin L1"),
    # ...and falls back on 25 October: 07:00 UTC again.
    ("ber", "2026-10-26 06:30", "Singapore L1", "Berlin L1"),
    ("ber", "2026-10-26 07:00", "Berlin L1", "Berlin L1"),
    # New York after its own DST change (8 March): 08:00 EDT is 12:00 UTC.
    # Before it, the next region on shift after New York is Dubai (Singapore closed at 10:00).
    ("nyc", "2026-03-09 11:59", "Dubai L1", "New York L1"),
    ("nyc", "2026-03-09 12:00", "New York L1", "New York L1"),
    ("nyc", "2026-03-05 12:30", "Dubai L1", "New York L1"),  # before the change: 13:00
    # New York's Monday ends at 00:00 UTC now; Singapore's Tuesday has begun.
    ("nyc", "2026-03-10 00:30", "Singapore L1", "New York L1"),
    ("nyc", "2026-03-03 00:30", "New York L1", "New York L1"),  # winter: until 01:00
    # Singapore (no DST): 00:00-10:00 UTC; after it, Dubai (04:00-13:00 UTC) is next.
    ("sg", "2026-03-03 00:00", "Singapore L1", "Singapore L1"),
    ("sg", "2026-03-03 10:00", "Dubai L1", "Singapore L1"),
    ("sg", "2026-03-02 23:59", "New York L1", "Singapore L1"),
    # Dubai: 04:00-13:00 UTC; after it, Berlin.
    ("dxb", "2026-03-03 03:59", "Singapore L1", "Dubai L1"),
    ("dxb", "2026-03-03 13:00", "Berlin L1", "Dubai L1"),
    # São Paulo (no DST since 2019): 11:00-21:00 UTC; after it, New York.
    ("sao", "2026-03-03 10:59", "Dubai L1", "São Paulo L1"),
    ("sao", "2026-03-03 21:00", "New York L1", "São Paulo L1"),
    # The weekend, and the holidays every region keeps: the duty team.
    ("ber", "2026-03-07 12:00", "Follow-the-sun duty", "Berlin L1"),
    ("sg", "2026-03-08 23:00", "Follow-the-sun duty", "Singapore L1"),
    ("nyc", "2026-12-24 15:00", "Follow-the-sun duty", "New York L1"),
]


@pytest.mark.parametrize(("home", "when", "round_the_clock", "business"), CASES)
def test_new_tickets_follow_the_sun_only_on_round_the_clock_contracts(
    demo_world, home, when, round_the_clock, business
):
    assert team_at(ticket_for(home, around_the_clock=True), at(when)) == round_the_clock
    assert team_at(ticket_for(home, around_the_clock=False), at(when)) == business


def test_a_southern_region_in_its_dst_change_week_is_followed_by_its_own_hours(demo_world):
    sydney = Region.objects.create(
        code="syd", name="Sydney", time_zone="Australia/Sydney", follow_sun_position=0
    )
    BusinessCalendar.objects.create(
        code="syd-business",
        name="Sydney business hours",
        time_zone="Australia/Sydney",
        weekly={day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        region=sydney,
        hours=BusinessCalendar.Hours.BUSINESS,
    )
    Team.objects.create(region=sydney, level=Team.Level.L1, name="Sydney L1")
    Organisation.objects.filter(name="Aurora Live").update(home_region=sydney)
    ticket = ticket_for("syd", around_the_clock=True)
    # Summer time (AEDT, UTC+11) ends on 5 April 2026: 08:00 local is 21:00 UTC before it...
    assert team_at(ticket, at("2026-04-02 21:00")) == "Sydney L1"
    assert team_at(ticket, at("2026-04-02 20:59")) == "São Paulo L1"
    # ...and 22:00 UTC after it (AEST, UTC+10).
    assert team_at(ticket, at("2026-04-06 21:30")) == "New York L1"
    assert team_at(ticket, at("2026-04-06 22:00")) == "Sydney L1"
    # It starts again on 4 October: 08:00 local is 21:00 UTC once more.
    assert team_at(ticket, at("2026-10-05 21:00")) == "Sydney L1"


def test_the_reason_says_why_in_words(demo_world):
    ticket = ticket_for("ber", around_the_clock=True)
    evening = decide(ticket, RoutingWorld.load(at("2026-03-02 17:30")))
    assert "Berlin is off shift and the contract is 24x7" in evening.reason
    assert "São Paulo L1" in evening.reason
    waiting = decide(
        ticket_for("ber", around_the_clock=False), RoutingWorld.load(at("2026-03-02 17:30"))
    )
    assert "business hours only" in waiting.reason and "Berlin L1" in waiting.reason


def test_explain_reads_the_database_and_writes_nothing(demo_world, django_assert_max_num_queries):
    ticket = ticket_for("sg", around_the_clock=True)
    explain(ticket, at("2026-03-03 01:00"))  # builds the shift schedules, once per process
    with django_assert_max_num_queries(7) as queries:
        decision = explain(ticket, at("2026-03-03 02:00"))
    assert decision.team.name == "Singapore L1"
    assert not [q for q in queries.captured_queries if not q["sql"].startswith("SELECT")]


def test_a_rule_sends_voice_p1s_to_the_specialists(demo_world):
    specialists = Team.objects.create(
        region=Region.objects.get(code="ber"), level=Team.Level.SPECIALISTS, name="Voice experts"
    )
    RoutingRule.objects.create(
        name="Voice P1s", priority="p1", product_area="voice", team=specialists, position=1
    )
    voice_p1 = ticket_for("sg", around_the_clock=True, priority="p1", product_area="voice")
    voice_p2 = ticket_for("sg", around_the_clock=True, priority="p2", product_area="voice")
    streaming_p1 = ticket_for("sg", around_the_clock=True, priority="p1")
    when = at("2026-03-03 02:00")
    world = RoutingWorld.load(when)
    assert decide(voice_p1, world).team == specialists
    assert "Voice P1s" in decide(voice_p1, world).reason
    assert decide(voice_p2, world).team.name == "Singapore L1"
    assert decide(streaming_p1, world).team.name == "Singapore L1"


def test_an_on_shift_only_rule_steps_aside_while_its_team_is_off_shift(demo_world):
    berlin_l2 = Team.objects.get(name="Berlin L2")
    RoutingRule.objects.create(
        name="Acme to Berlin",
        organisation=Organisation.objects.get(name="Harbour Telecom"),
        team=berlin_l2,
        only_on_shift=True,
    )
    ticket = Ticket(
        organisation=Organisation.objects.get(name="Harbour Telecom"),
        sla_calendar_id=BusinessCalendar.objects.get(code="24x7").pk,
        priority="p2",
        channel="web",
        product_area="other",
    )
    assert team_at(ticket, at("2026-03-03 09:00")) == "Berlin L2"  # Berlin on shift
    assert team_at(ticket, at("2026-03-03 02:00")) == "Singapore L1"  # Berlin asleep


def test_an_inactive_rule_is_ignored(demo_world):
    RoutingRule.objects.create(name="Off", team=Team.objects.get(name="Berlin L2"), active=False)
    assert team_at(ticket_for("sg", around_the_clock=True), at("2026-03-03 02:00")) == (
        "Singapore L1"
    )


def test_coverage_has_no_gap_in_the_demo_and_one_without_the_duty_team(demo_world):
    start, end = at("2026-03-02 00:00"), at("2026-03-16 00:00")
    assert coverage_gaps(Roster.load(start), start, end) == []
    Agent.objects.filter(team__level=Team.Level.DUTY).update(
        team=Team.objects.get(name="Berlin L2")
    )
    gaps = coverage_gaps(Roster.load(start), start, end)
    # New York's Friday ends at 01:00 UTC on Saturday (00:00 after 8 March); Singapore opens
    # on Monday at 00:00 UTC.
    assert [(g.start, g.end) for g in gaps] == [
        (at("2026-03-07 01:00"), at("2026-03-09 00:00")),
        (at("2026-03-14 00:00"), at("2026-03-16 00:00")),
    ]
    assert all(g.length >= timedelta(hours=47) for g in gaps)
