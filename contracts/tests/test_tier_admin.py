"""The tiers' targets in the support desk: the root cause's minutes, and the clocks counted
around the clock as checkboxes stored as the JSON list of their names."""

from django.urls import reverse

from contracts.models import SLATarget


def test_a_targets_around_the_clock_clocks_are_checkboxes(superuser, tier_standard, client):
    client.force_login(superuser)
    html = client.get(
        reverse("admin:contracts_slatier_change", args=[tier_standard.pk])
    ).content.decode()
    assert 'name="targets-0-root_cause_minutes"' in html
    for clock in ("first_response", "next_response", "workaround", "root_cause", "resolution"):
        assert f'type="checkbox" name="targets-0-around_the_clock" value="{clock}"' in html


def test_the_desk_stores_the_checked_clocks_in_their_order(superuser, tier_standard, client):
    target = tier_standard.targets.get(priority="p2")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:contracts_slatarget_change", args=[target.pk]),
        {
            "tier": tier_standard.pk,
            "priority": "p2",
            "first_response_minutes": 120,
            "next_response_minutes": 240,
            "workaround_minutes": "",
            "root_cause_minutes": 960,
            "resolution_minutes": 2880,
            "around_the_clock": ["resolution", "root_cause"],
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    target = SLATarget.objects.get(pk=target.pk)
    assert target.root_cause_minutes == 960
    assert target.around_the_clock == ["root_cause", "resolution"]


def test_an_unknown_clock_is_refused(superuser, tier_standard, client):
    target = tier_standard.targets.get(priority="p2")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:contracts_slatarget_change", args=[target.pk]),
        {
            "tier": tier_standard.pk,
            "priority": "p2",
            "first_response_minutes": 120,
            "next_response_minutes": 240,
            "resolution_minutes": 2880,
            "around_the_clock": ["lunch"],
        },
    )
    assert response.status_code == 200
    assert SLATarget.objects.get(pk=target.pk).around_the_clock == []
