"""Forms of the portal's own pages."""

from itertools import groupby

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.errors import Refusal
from portal.timezones import time_zone_choices


def add_refusal(form: forms.Form, refusal: Refusal, fields: dict[str, str] | None = None) -> None:
    """Show a rule's refusal on the form field it is about (`fields` maps the rule's names to
    the form's where they differ), or above the form when it is about none of them."""
    name = (fields or {}).get(refusal.field or "", refusal.field)
    form.add_error(name if name in form.fields else None, refusal.message)


def grouped_time_zone_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """IANA zones grouped by their area (Africa, America, Europe, …) for a readable select."""

    def area(choice: tuple[str, str]) -> str:
        name = choice[0]
        return name.split("/", 1)[0] if "/" in name else "Other"

    choices = sorted(time_zone_choices(), key=lambda choice: (area(choice), choice[0]))
    return [(group, list(items)) for group, items in groupby(choices, key=area)]


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=grouped_time_zone_choices,
        help_text="Every date and time in the portal is shown in this zone.",
    )


class EmailPreferencesForm(forms.Form):
    """The emails a customer receives about their tickets."""

    email_on_created = forms.BooleanField(
        required=False,
        label=_("When I open a ticket: an acknowledgement with its reference"),
    )
    email_on_reply = forms.BooleanField(
        required=False, label=_("Every reply from support, and the root cause once found")
    )
    email_on_waiting = forms.BooleanField(
        required=False, label=_("When support is waiting for my answer")
    )
    email_on_resolved = forms.BooleanField(required=False, label=_("When a ticket is resolved"))
