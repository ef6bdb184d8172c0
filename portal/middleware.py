from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from portal.selectors import profile_of


class ViewerTimeZoneMiddleware:
    """Show every instant in the time zone of the person looking: members and agents each have
    one in their profile; everyone else sees UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        profile = profile_of(user) if user is not None else None
        if profile is not None and profile.time_zone:
            timezone.activate(profile.time_zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
