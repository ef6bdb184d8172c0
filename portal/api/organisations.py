"""The caller's organisation, and organisations for staff."""

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.base import ApiCursorPagination, ApiViewMixin, error_responses
from portal.models import Member, Organisation
from portal.serializers import MembershipSerializer, OrganisationSerializer


class OrganisationView(ApiViewMixin, generics.GenericAPIView):
    """The caller's own organisation."""

    serializer_class = MembershipSerializer

    def get_object(self) -> Member:
        member = (
            Member.objects.select_related("organisation__home_region")
            .prefetch_related("organisation__email_domains")
            .filter(user_id=self.request.user.pk)
            .first()
        )
        if member is None:
            raise Http404("Only customer members have an organisation; staff see organisations/.")
        return member

    @extend_schema(
        operation_id="organisation_retrieve",
        summary="Your organisation and your role in it",
        responses={200: MembershipSerializer, **error_responses(404)},
    )
    def get(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_object()).data)


@extend_schema_view(
    list=extend_schema(
        summary="Organisations: all of them for staff, your own for customers",
        responses={200: OrganisationSerializer(many=True), **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="One organisation (404 unless staff or its member)",
        responses={200: OrganisationSerializer, **error_responses(404)},
    ),
)
class OrganisationViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Customer organisations. Agents see all; a customer sees only their own (any other answers
    404)."""

    serializer_class = OrganisationSerializer
    pagination_class = ApiCursorPagination
    cursor_ordering = ("slug",)
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,60}"

    def get_queryset(self) -> QuerySet[Organisation]:
        organisations = Organisation.objects.select_related(
            "home_region", "account_manager"
        ).prefetch_related("email_domains")
        user = self.request.user
        if user.is_staff:
            return organisations
        return organisations.filter(members__user_id=user.pk)
