"""Contracts and SLA tiers, read-only: customers see their organisation's, staff see all.
Compliance statements: customer admins see their organisation's issued ones, account managers
their organisations' (drafts too), superusers all."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, viewsets

from contracts.models import ComplianceStatement, Contract, SLATier
from contracts.serializers import (
    ComplianceStatementSerializer,
    ContractSerializer,
    SLATierSerializer,
)
from contracts.statements.months import parse_month
from contracts.statements.selectors import StatementsRefused, statements_for_user
from portal.api.base import ApiCursorPagination, ApiViewMixin, error_responses
from portal.api.errors import refusal_as_field_error
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


MONTH_PARAMETER = OpenApiParameter(
    "month",
    OpenApiTypes.STR,
    description="Only this month's statements, as `YYYY-MM` (e.g. `2026-10`).",
    pattern=r"^\d{4}-\d{2}$",
)


@extend_schema_view(
    list=extend_schema(
        summary="Compliance statements: your organisation's (admins), your organisations' "
        "(account managers)",
        parameters=[MONTH_PARAMETER],
        responses={200: ComplianceStatementSerializer(many=True), **error_responses(400, 403)},
    ),
    retrieve=extend_schema(
        summary="One compliance statement (404 unless you may read it)",
        responses={200: ComplianceStatementSerializer, **error_responses(403, 404)},
    ),
)
class ComplianceStatementViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Monthly SLA compliance statements, every revision, newest month first; `superseded`
    marks a revision a later issued one corrects. A customer organisation's admins read its
    issued statements; its account manager reads its drafts too. Requesters and other staff
    read none (403 on the list); a statement the caller may not read answers 404."""

    serializer_class = ComplianceStatementSerializer
    pagination_class = ApiCursorPagination
    cursor_ordering = ("-month", "organisation_id", "-revision")
    lookup_value_regex = r"[0-9]{1,12}"

    def get_queryset(self) -> QuerySet[ComplianceStatement]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return ComplianceStatement.objects.none()
        user = self.request.user
        try:
            statements = statements_for_user(user)
        except StatementsRefused as refusal:
            if self.action == "retrieve" and not user.is_staff:
                # A customer who may read no statement learns nothing about one.
                raise Http404(refusal.message) from refusal
            raise exceptions.PermissionDenied(refusal.message) from refusal
        if self.action == "list":
            month = self.request.query_params.get("month")
            if month is not None:
                with refusal_as_field_error("month"):
                    statements = statements.filter(month=parse_month(month))
        return statements
