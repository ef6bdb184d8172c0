"""The names an SLA is written in: the priorities a tier promises per, and the clocks it keeps.

The one source of both (values and labels): the models' choices, the clock engine
(`tickets.clocks`), the pages and the API read them from here. Pure enumerations: nothing here
touches the database.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Priority(models.TextChoices):
    """Ticket priority; a tier promises targets per priority."""

    P1 = "p1", _("P1 – service down")
    P2 = "p2", _("P2 – major degradation")
    P3 = "p3", _("P3 – minor issue")
    P4 = "p4", _("P4 – question or request")


class Clock(models.TextChoices):
    """The SLA clocks a ticket carries, in the order they are shown."""

    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    WORKAROUND = "workaround", _("Workaround")
    ROOT_CAUSE = "root_cause", _("Root cause")
    RESOLUTION = "resolution", _("Resolution")


CLOCKS: tuple[str, ...] = tuple(Clock.values)
