"""The portal's own pages: the public landing page, the profile (time zone and API token), and
the health check. The ticket pages, including the member dashboard at `/`, are `tickets.views`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.forms import EmailPreferencesForm, TimeZoneForm
from portal.models import Member
from portal.selectors import api_token_of, heartbeat_ages, profile_of
from portal.services import (
    EMAIL_PREFERENCES,
    api_token_create,
    api_token_revoke,
    member_bounce_clear,
    profile_email_preferences_update,
    profile_time_zone_update,
)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The public landing page; agents find the support desk here. Customers who are logged in
    see their dashboard at the same address (`tickets.views.dashboard` falls back to this)."""
    return render(request, "portal/home.html")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    """The viewer's time zone, and their API token (shown to its owner, who may revoke it)."""
    person = profile_of(request.user)
    if request.method == "POST" and person is not None:
        form = TimeZoneForm(request.POST)
        if form.is_valid():
            try:
                profile_time_zone_update(profile=person, time_zone=form.cleaned_data["time_zone"])
            except ValidationError as exc:
                form.add_error("time_zone", exc)
            else:
                messages.success(
                    request, f"Times are now shown in {person.time_zone.replace('_', ' ')}."
                )
                return redirect("profile")
    else:
        form = TimeZoneForm(initial={"time_zone": person.time_zone if person else "UTC"})
    return render(
        request,
        "portal/profile.html",
        {
            "person": person,
            "form": form,
            "email_form": _email_form(person),
            "token": api_token_of(request.user),
        },
        status=400 if form.is_bound else 200,
    )


def _email_form(person: object) -> EmailPreferencesForm | None:
    if not isinstance(person, Member):
        return None
    return EmailPreferencesForm(initial={name: getattr(person, name) for name in EMAIL_PREFERENCES})


@login_required
@require_POST
def profile_email(request: HttpRequest) -> HttpResponse:
    """A customer's choice of emails; "my address works again" after it bounced."""
    person = profile_of(request.user)
    if not isinstance(person, Member):
        messages.error(request, _("Only customers receive emails about their tickets."))
        return redirect("profile")
    if "resume" in request.POST:
        member_bounce_clear(member=person)
        messages.success(
            request, _("We will email %(address)s again.") % {"address": request.user.email}
        )
        return redirect("profile")
    form = EmailPreferencesForm(request.POST)
    form.is_valid()  # checkboxes: every input is valid
    profile_email_preferences_update(member=person, choices=form.cleaned_data)
    messages.success(request, _("Your email choices are saved."))
    return redirect("profile")


@login_required
@require_POST
def profile_token_create(request: HttpRequest) -> HttpResponse:
    _token, created = api_token_create(user=request.user)
    if created:
        messages.success(request, "Your API token was created. Keep it secret, like a password.")
    else:
        messages.info(request, "You already have an API token; revoke it to get a new one.")
    return redirect("profile")


@login_required
@require_POST
def profile_token_revoke(request: HttpRequest) -> HttpResponse:
    if api_token_revoke(user=request.user):
        messages.success(request, "Your API token was revoked; requests using it are refused.")
    else:
        messages.info(request, "You had no API token.")
    return redirect("profile")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and `make run`: the database answers; background ages."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    now = timezone.now()
    ages = {name: round(age.total_seconds()) for name, age in heartbeat_ages(now=now).items()}
    return JsonResponse({"status": "ok", "heartbeat_age_seconds": ages})
