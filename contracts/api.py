"""Contracts and SLA tiers, read-only: customers see their organisation's, staff see all."""

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from contracts.models import Contract, SLATier
from contracts.serializers import ContractSerializer, SLATierSerializer
from portal.api.base import ApiCursorPagination, ApiViewMixin, error_responses
from portal.selectors import today_of


@extend_schema_view(
    list=extend_schema(
        summary="Contracts: your organisation's (staff: all)",
        responses={200: ContractSerializer(many=True), **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="One contract by reference (404 unless it is your organisation's)",
        responses={200: ContractSerializer, **error_responses(404)},
    ),
)
class ContractViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Contracts with the terms their organisation signed. Customers see their organisation's;
    agents see all. Another organisation's contract answers 404."""

    serializer_class = ContractSerializer
    pagination_class = ApiCursorPagination
    cursor_ordering = ("reference",)
    lookup_field = "reference"
    lookup_value_regex = r"[-a-zA-Z0-9_.]{1,20}"

    def get_serializer_context(self) -> dict[str, Any]:
        # Token requests are authenticated after the time zone middleware ran: the viewer's
        # day is read from their profile here.
        today = today_of(self.request.user, now=timezone.now())
        return {**super().get_serializer_context(), "today": today}

    def get_queryset(self) -> QuerySet[Contract]:
        contracts = Contract.objects.select_related("organisation", "tier", "signed_by")
        user = self.request.user
        if user.is_staff:
            return contracts
        return contracts.filter(organisation__members__user_id=user.pk)


@extend_schema_view(
    list=extend_schema(
        summary="SLA tiers with their targets and credits: those of your contracts (staff: all)",
        responses={200: SLATierSerializer(many=True), **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="One SLA tier by code (404 unless one of your contracts is on it)",
        responses={200: SLATierSerializer, **error_responses(404)},
    ),
)
class SLATierViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """SLA tiers: per priority, the business minutes promised for each clock, and the service
    credits earned when monthly compliance falls short. Customers see the tiers of their
    organisation's contracts; agents see all."""

    serializer_class = SLATierSerializer
    pagination_class = ApiCursorPagination
    cursor_ordering = ("code",)
    lookup_field = "code"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,40}"

    def get_queryset(self) -> QuerySet[SLATier]:
        tiers = SLATier.objects.prefetch_related("targets", "credit_bands")
        user = self.request.user
        if user.is_staff:
            return tiers
        # A subquery, not a join: a tier with several contracts appears once.
        mine = Contract.objects.filter(organisation__members__user_id=user.pk).values("tier_id")
        return tiers.filter(pk__in=mine)
