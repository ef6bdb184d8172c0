"""Throttling of the REST API: writes are counted per user; reads are not throttled."""

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView


class WriteRateThrottle(UserRateThrottle):
    """At most the `writes` rate (`API_WRITE_RATE`, e.g. `120/minute`) of unsafe requests
    (POST, PATCH, …) per user; GET, HEAD and OPTIONS never count.

    Anonymous callers never get this far (every endpoint needs authentication, which DRF
    checks first), so the key is always the user's id.
    """

    scope = "writes"

    def get_rate(self) -> str | None:
        # Read the rate when a request comes, not when DRF was imported (DRF's base class
        # binds the settings dict at import), so a changed setting takes effect.
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()

    def allow_request(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
