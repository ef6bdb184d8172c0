"""The REST API's common ground (base view, pagination, idempotency, error schema) and the
portal's endpoints: the caller's organisation, and organisations for staff."""

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, generics, viewsets
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api_errors import Conflict, PayloadTooLarge, Unprocessable
from portal.api_throttles import WriteRateThrottle
from portal.models import Member, Organisation
from portal.serializers import ErrorSerializer, MembershipSerializer, OrganisationSerializer
from portal.services import (
    IdempotencyKeyConflict,
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_release,
)

T = TypeVar("T")

# --- Common ground -------------------------------------------------------------------------------


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


class StrictJSONParser(JSONParser):
    """JSON of a bounded size whose strings are real text.

    Django limits form bodies to `DATA_UPLOAD_MAX_MEMORY_SIZE`; DRF's JSON parser reads any
    size, so the same limit is applied here. And `"\\ud800"` parses in Python but cannot be
    stored: such strings are refused.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise PayloadTooLarge(
                    f"The JSON body is larger than {limit} bytes; send files as attachments."
                )
        data = super().parse(stream, media_type, parser_context)
        if _has_lone_surrogate(data):
            raise exceptions.ParseError("JSON parse error - strings must be valid Unicode text.")
        return data


class ApiViewMixin:
    """What every API view shares: JSON only, per-user write throttling, and UTC.

    The site's middleware shows instants in the viewer's zone; the API always speaks UTC, so a
    token and a session see the same values.
    """

    renderer_classes = [JSONRenderer]
    parser_classes = [StrictJSONParser]
    throttle_classes = [WriteRateThrottle]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        timezone.activate(UTC)
        super().initial(request, *args, **kwargs)


ERROR_DESCRIPTIONS = {
    400: "Invalid input: `fields` names each refused field with its messages.",
    401: "No or invalid credentials (`WWW-Authenticate: Token`).",
    403: "Not allowed to do this to a visible object.",
    404: "No such object, or not visible to the caller.",
    405: "Method not allowed on this endpoint.",
    409: "The first request with this Idempotency-Key is still being processed.",
    413: "The request body is too large.",
    415: "Unsupported Content-Type.",
    422: "The Idempotency-Key was used for a different request.",
    429: "Too many writes; `Retry-After` says when to try again.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the errors an endpoint may answer with (401 is always possible)."""
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in sorted({401, *statuses})
    }


class ApiCursorPagination(CursorPagination):
    """Cursor pages: stable under inserts, and a bad cursor is a 400, never a 500.

    The view names its order in `cursor_ordering` (a unique or nearly unique column first).
    """

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("id",)
    invalid_cursor_message = "Invalid cursor: use the `next` or `previous` link as given."

    def get_ordering(self, request: Request, queryset: QuerySet, view: APIView) -> tuple:
        return tuple(getattr(view, "cursor_ordering", self.ordering))

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise exceptions.ValidationError({self.cursor_query_param: [exc.detail]}) from exc

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: APIView | None = None
    ) -> list | None:
        cursor = self.decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            # The position is compared with the ordering column in SQL: make sure it is a
            # value of that column's type (a hand-made cursor could hold anything).
            column = self.get_ordering(request, queryset, view)[0].lstrip("-")
            field = queryset.model._meta.get_field(column)
            try:
                value = field.to_python(cursor.position)
            except DjangoValidationError:
                value = None
            if value is None or (hasattr(value, "tzinfo") and timezone.is_naive(value)):
                raise exceptions.ValidationError(
                    {self.cursor_query_param: [self.invalid_cursor_message]}
                )
        return super().paginate_queryset(queryset, request, view)


# --- Idempotency ---------------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Printable ASCII without spaces: a UUID is the usual choice.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=IDEMPOTENCY_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes a retry safe: a repeat of this request by the same user with the same key gets "
        "the first response (status and body) back, with `Idempotent-Replayed: true`, and "
        "creates nothing. The same key with different data is a 422; while the first request "
        "is still running, a 409. Keys are 1-255 printable ASCII characters (a UUID is ideal), "
        "per user, and remembered for 24 hours. A refused request (4xx) is not remembered: fix "
        "it and send it again with the same key."
    ),
)


def _canonical(value: Any) -> Any:
    """Request data as plain JSON values, files by name, size and SHA-256 of their content."""
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def request_fingerprint(request: Request) -> str:
    """SHA-256 of the request's data and files (not of the raw body, whose multipart boundary
    changes from one send to the next)."""
    data = request.data
    if hasattr(data, "lists"):  # a form: each field may repeat (several files)
        payload = {key: _canonical(values) for key, values in data.lists()}
    else:
        payload = _canonical(data)
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def idempotent(
    request: Request,
    *,
    perform: Callable[[], T],
    render: Callable[[T], Response],
) -> Response:
    """Run a write at most once per `Idempotency-Key` (when the request has one).

    `perform` validates and calls the service; `render` turns its result into the response.
    The key is claimed (committed) before `perform`; if `perform` raises, it wrote nothing (the
    service's transaction rolled back) and the claim is released so the key can be sent again.
    Once `perform` has returned, the write exists: the key stays taken whatever happens next,
    and the response is kept for retries.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return render(perform())
    if not IDEMPOTENCY_KEY_PATTERN.fullmatch(key):
        raise exceptions.ValidationError(
            {IDEMPOTENCY_HEADER: ["Use 1 to 255 printable ASCII characters without spaces."]}
        )
    try:
        record = idempotency_key_claim(
            user=request.user,
            key=key,
            method=request.method,
            path=request.path,
            fingerprint=request_fingerprint(request),
            now=timezone.now(),
        )
    except IdempotencyKeyConflict as exc:
        if exc.in_progress:
            raise Conflict(str(exc), code="idempotency_key_in_progress") from exc
        raise Unprocessable(str(exc), code="idempotency_key_reused") from exc
    if not record.in_progress:
        headers = {"Idempotent-Replayed": "true"}
        if isinstance(record.response, dict) and isinstance(record.response.get("url"), str):
            headers["Location"] = record.response["url"]
        return Response(record.response, status=record.status, headers=headers)
    try:
        result = perform()
    except BaseException:
        idempotency_key_release(record=record)
        raise
    response = render(result)
    # Stored as the client received it (rendered JSON), so a replay is byte-for-byte the same.
    body = json.loads(JSONRenderer().render(response.data) or b"null")
    idempotency_key_complete(record=record, status=response.status_code, response=body)
    return response


# --- Organisations -------------------------------------------------------------------------------


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


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Any other path under /api/v1/: a 404 in the API's error shape."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound("No such endpoint; see /api/docs/ for the API.")
