"""What the desk's index and sidebar offer a person, they may open: for every staff role of the
demo, every link there (and the first row of every list) answers 200, and every model the
person may not view is absent."""

import re
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command

from conftest import make_user

User = get_user_model()

DEMO_NOW = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
# Staff of the demo: an agent (Berlin L1), a team lead, an account manager, the superuser.
DEMO_STAFF = ["lena.fischer", "jonas.weber", "sophie.laurent", "admin"]
ADMIN_LINK = re.compile(r'href="(/admin/[^"#?]*)"')
SIDEBAR = re.compile(r'<nav class="sticky" id="nav-sidebar"[^>]*>(.*?)</nav>', re.DOTALL)


@pytest.fixture
def demo(db, time_machine, media):
    time_machine.move_to(DEMO_NOW, tick=False)
    call_command("seed_demo", "--tickets-per-org", "2", stdout=StringIO(), stderr=StringIO())


def links(html: str) -> set[str]:
    return set(ADMIN_LINK.findall(html)) - {"/admin/logout/"}


def model_links(html: str) -> set[str]:
    """The models' list pages linked from a page (`/admin/<app>/<model>/`)."""
    return {link for link in links(html) if link.count("/") == 4}


def viewable(user) -> set[str]:
    """The list pages of the models `user` may view or change."""
    return {
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model in admin.site._registry
        if user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
        or user.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")
    }


def walk(client, user) -> dict[str, int]:
    """Every link of the index, of the sidebar on each list page and of each app's page, and
    the first row of each list: the status each answers with (200 expected)."""
    index = client.get("/admin/")
    assert index.status_code == 200
    listed = model_links(index.content.decode())
    assert listed == viewable(user), user
    statuses: dict[str, int] = {}
    sidebars = 0
    to_open = sorted(links(index.content.decode()))
    while to_open:
        link = to_open.pop()
        if link in statuses:
            continue
        response = client.get(link)
        statuses[link] = response.status_code
        if response.status_code != 200 or link.count("/") != 4:
            continue
        html = response.content.decode()
        sidebar = SIDEBAR.search(html)
        if sidebar is not None:
            sidebars += 1
            assert model_links(sidebar.group(1)) == listed, link
        rows = [
            row
            for row in links(html)
            if row.startswith(link) and re.fullmatch(r"\d+/change/", row[len(link) :])
        ]
        to_open += sorted(links(html) & {*listed, *rows[:1]} - set(statuses))
    # Every list page but the ticket queue, which gives the whole width to its columns.
    assert sidebars >= len(listed) - 1
    return statuses


@pytest.mark.parametrize("username", DEMO_STAFF)
def test_every_link_the_desk_offers_opens(demo, client, username):
    user = User.objects.get(username=username)
    client.force_login(user)
    statuses = walk(client, user)
    assert len(statuses) > 20
    assert {link: status for link, status in statuses.items() if status != 200} == {}


def test_a_model_nobody_let_you_view_is_not_offered(db, client):
    # Staff allowed to view tickets only: no other page of the desk is theirs.
    user = make_user("viewer", staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client.force_login(user)
    html = client.get("/admin/").content.decode()
    assert model_links(html) == {"/admin/tickets/ticket/"}
    for model in ("escalation", "notification", "phonecall", "message"):
        assert client.get(f"/admin/tickets/{model}/").status_code == 403, model
