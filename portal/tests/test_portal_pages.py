"""The portal's own pages: logging in and out, throttling, password reset and change, profile
(time zone and API token), error pages."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from portal.models import Agent, Member
from tickets.services import ticket_create

PASSWORD = "correct-horse-battery"  # conftest.make_user
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def log_in(client: Client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


# --- Logging in and out --------------------------------------------------------------------------


def test_the_login_page_labels_its_fields_and_links_the_password_reset(client):
    html = client.get(reverse("login")).content.decode()
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert f'href="{reverse("password_reset")}"' in html
    assert 'class="site-header"' in html  # the portal's look, not the admin's


def test_a_member_logs_in_with_the_form_and_lands_on_the_dashboard(requester_a, client):
    response = log_in(client, requester_a.user.username, PASSWORD, follow=True)
    assert response.redirect_chain == [(reverse("home"), 302)]
    assert client.session[SESSION_KEY] == str(requester_a.user.pk)
    assert "Open tickets" in response.content.decode()


def test_a_wrong_password_is_refused_with_an_alert(requester_a, client):
    response = log_in(client, requester_a.user.username, "wrong")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div class="error-summary" role="alert"' in html
    assert "Please enter a correct username and password." in html
    assert SESSION_KEY not in client.session


def test_after_too_many_failures_even_the_right_password_is_refused(requester_a, client, settings):
    username = requester_a.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, username, "wrong").status_code == 200
    locked = log_in(client, username, "wrong")
    assert locked.status_code == 429
    response = log_in(client, username, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_failures_below_the_limit_do_not_lock_the_account(requester_a, client, settings):
    username = requester_a.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, username, "wrong")
    assert log_in(client, username, PASSWORD).status_code == 302


def test_logging_out_takes_a_post_and_ends_the_session(requester_a, client):
    client.force_login(requester_a.user)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert SESSION_KEY not in client.session


def test_the_logged_out_page_has_the_portal_look(client, settings, db):
    settings.LOGOUT_REDIRECT_URL = None
    html = client.post(reverse("logout")).content.decode()
    assert "You are logged out" in html and 'class="site-header"' in html


# --- Password reset and change -------------------------------------------------------------------


def test_a_password_reset_email_leads_to_a_new_password(requester_a, client, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": requester_a.user.email})
    assert response["Location"] == reverse("password_reset_done")
    assert "Check your email" in client.get(response["Location"]).content.decode()
    (mail,) = mailoutbox
    assert mail.subject == "Reset your Meridian password"
    assert mail.to == [requester_a.user.email]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.body).group(1)
    form_url = client.get(link)["Location"]  # Django swaps the token for a session marker
    page = client.get(form_url).content.decode()
    assert "Choose a new password" in page
    assert '<label for="id_new_password1">New password</label>' in page
    done = client.post(
        form_url, {"new_password1": "a-new-long-secret-9", "new_password2": "a-new-long-secret-9"}
    )
    assert done["Location"] == reverse("password_reset_complete")
    assert "Your password is set" in client.get(done["Location"]).content.decode()
    requester_a.user.refresh_from_db()
    assert requester_a.user.check_password("a-new-long-secret-9")


def test_a_password_reset_for_an_unknown_address_sends_nothing_but_says_the_same(
    client, mailoutbox, db
):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.test"})
    assert response["Location"] == reverse("password_reset_done")
    assert mailoutbox == []


def test_a_used_or_forged_reset_link_says_it_no_longer_works(client, requester_a):
    page = client.get(reverse("password_reset_confirm", args=["MQ", "set-password"]))
    assert "This link no longer works" in page.content.decode()


def test_mismatched_new_passwords_are_reported_on_the_field(requester_a, client):
    client.force_login(requester_a.user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-secret-9",
            "new_password2": "something-else-42",
        },
    )
    html = response.content.decode()
    assert '<ul class="errorlist" id="id_new_password2_error">' in html
    assert "The two password fields didn’t match." in html
    requester_a.user.refresh_from_db()
    assert requester_a.user.check_password(PASSWORD)


# --- Profile: time zone --------------------------------------------------------------------------


def test_the_profile_shows_the_members_time_zone_selected(requester_a, client):
    client.force_login(requester_a.user)
    html = client.get(reverse("profile")).content.decode()
    assert '<label for="id_time_zone">Time zone</label>' in html
    assert '<option value="Europe/Berlin" selected>Europe/Berlin</option>' in html
    assert '<optgroup label="America">' in html
    assert '<option value="America/Sao_Paulo">America/Sao Paulo</option>' in html


def test_a_member_changes_their_time_zone_and_every_instant_follows(
    contract_a, requester_a, client
):
    ticket = ticket_create(
        organisation=requester_a.organisation,
        requester=requester_a,
        channel="web",
        subject="Audio drops",
        body_text="Calls drop audio.",
        priority="p2",
        now=NOW,
    )
    client.force_login(requester_a.user)
    response = client.post(reverse("profile"), {"time_zone": "America/Sao_Paulo"}, follow=True)
    assert "Times are now shown in America/Sao Paulo." in response.content.decode()
    assert Member.objects.get(pk=requester_a.pk).time_zone == "America/Sao_Paulo"
    with time_machine.travel(NOW, tick=False):
        html = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert "Times in America/Sao_Paulo" in html
    assert "Mon 02 Mar 2026 07:30 -03" in html  # first response due 10:30 UTC


def test_an_unknown_time_zone_is_refused_on_the_field(requester_a, client):
    client.force_login(requester_a.user)
    response = client.post(reverse("profile"), {"time_zone": "Mars/Olympus_Mons"})
    html = response.content.decode()
    assert response.status_code == 400
    assert '<ul class="errorlist" id="id_time_zone_error">' in html
    assert 'aria-describedby="id_time_zone_helptext id_time_zone_error"' in html
    assert Member.objects.get(pk=requester_a.pk).time_zone == "Europe/Berlin"


def test_an_agent_sets_their_time_zone_on_the_same_page(agent_sg, client):
    client.force_login(agent_sg.user)
    assert "Asia/Singapore" in client.get(reverse("profile")).content.decode()
    client.post(reverse("profile"), {"time_zone": "Asia/Dubai"})
    assert Agent.objects.get(pk=agent_sg.pk).time_zone == "Asia/Dubai"


def test_a_user_without_a_profile_is_told_times_are_in_utc(superuser, client):
    client.force_login(superuser)
    page = client.get(reverse("profile"))
    assert "times are shown in UTC" in page.content.decode()
    assert client.post(reverse("profile"), {"time_zone": "Asia/Dubai"}).status_code == 200


def test_the_profile_needs_a_login(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Profile: API token --------------------------------------------------------------------------


def test_a_member_creates_an_api_token_and_sees_its_key(requester_a, client):
    client.force_login(requester_a.user)
    assert "You have no API token." in client.get(reverse("profile")).content.decode()
    response = client.post(reverse("profile-token-create"), follow=True)
    token = Token.objects.get(user=requester_a.user)
    html = response.content.decode()
    assert "Your API token was created." in html
    assert '<label for="api-token">Your API token</label>' in html
    assert f'value="{token.key}" readonly' in html
    assert response.redirect_chain[-1][0] == reverse("profile")
    assert "no-store" in response["Cache-Control"]


def test_creating_a_token_again_keeps_the_one_token(requester_a, client):
    client.force_login(requester_a.user)
    client.post(reverse("profile-token-create"))
    key = Token.objects.get(user=requester_a.user).key
    response = client.post(reverse("profile-token-create"), follow=True)
    assert "You already have an API token" in response.content.decode()
    assert list(Token.objects.filter(user=requester_a.user).values_list("key", flat=True)) == [key]


def test_revoking_the_token_deletes_it(requester_a, client):
    client.force_login(requester_a.user)
    client.post(reverse("profile-token-create"))
    key = Token.objects.get(user=requester_a.user).key
    response = client.post(reverse("profile-token-revoke"), follow=True)
    html = response.content.decode()
    assert "Your API token was revoked" in html
    assert key not in html
    assert not Token.objects.filter(user=requester_a.user).exists()


def test_an_agent_manages_their_token_on_the_profile_page(agent_ber, client):
    client.force_login(agent_ber.user)
    client.post(reverse("profile-token-create"))
    token = Token.objects.get(user=agent_ber.user)
    assert token.key in client.get(reverse("profile")).content.decode()


def test_a_members_profile_never_shows_someone_elses_token(requester_a, colleague_a, client):
    client.force_login(colleague_a.user)
    client.post(reverse("profile-token-create"))
    colleague_key = Token.objects.get(user=colleague_a.user).key
    client.force_login(requester_a.user)
    assert colleague_key not in client.get(reverse("profile")).content.decode()


def test_token_actions_take_a_post(requester_a, client):
    client.force_login(requester_a.user)
    assert client.get(reverse("profile-token-create")).status_code == 405
    assert client.get(reverse("profile-token-revoke")).status_code == 405
    assert not Token.objects.exists()


def test_token_creation_refuses_a_post_without_the_csrf_token(requester_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(requester_a.user)
    assert client.post(reverse("profile-token-create")).status_code == 403
    assert not Token.objects.exists()
    page = client.get(reverse("profile")).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(reverse("profile-token-create"), {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
    assert Token.objects.filter(user=requester_a.user).exists()


# --- Navigation and error pages ------------------------------------------------------------------


def test_members_get_the_portal_navigation_with_the_current_page_marked(requester_a, client):
    client.force_login(requester_a.user)
    html = client.get(reverse("tickets:list")).content.decode()
    assert '<nav aria-label="Main">' in html
    assert f'<a href="{reverse("tickets:list")}" aria-current="page">Tickets</a>' in html
    assert f'<a href="{reverse("tickets:new")}">New ticket</a>' in html
    assert '<a class="skip-link" href="#main">Skip to content</a>' in html


@pytest.mark.parametrize("path", ["/tickets/MRD-999999/", "/no-such-page/"])
def test_not_found_pages_have_the_portal_look(requester_a, client, path):
    client.force_login(requester_a.user)
    response = client.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and 'class="site-header"' in html
