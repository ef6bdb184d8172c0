"""The REST API: `/api/v1/…`, its OpenAPI schema at `/api/schema/` and docs at `/api/docs/`."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from contracts.api import ComplianceStatementViewSet, ContractViewSet, SLATierViewSet
from portal.api.base import NotFoundView
from portal.api.organisations import OrganisationView, OrganisationViewSet
from tickets.api import TicketViewSet
from tickets.channels.email.http import InboundEmailView

router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="api-ticket")
router.register("contracts", ContractViewSet, basename="api-contract")
router.register("tiers", SLATierViewSet, basename="api-tier")
router.register("statements", ComplianceStatementViewSet, basename="api-statement")
router.register("organisations", OrganisationViewSet, basename="api-organisation")

v1 = [
    path("organisation/", OrganisationView.as_view(), name="api-my-organisation"),
    path("inbound/email/", InboundEmailView.as_view(), name="api-inbound-email"),
    *router.urls,
    # Anything else under v1/ (with a trailing slash: without one, Django first redirects to
    # the slashed URL when that exists) is a 404 in the API's error shape.
    re_path(r"^(?:.*/)?$", NotFoundView.as_view()),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/", include(v1)),
]
