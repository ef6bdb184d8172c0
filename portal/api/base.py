"""The REST API's common ground: the base view, strict JSON and input, cursor pages, the
errors an endpoint documents, and the 404 for unknown paths."""

import copy
from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from portal.api.errors import ErrorSerializer, PayloadTooLarge
from portal.api.throttles import WriteRateThrottle


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
            try:
                field = queryset.model._meta.get_field(column)
            except FieldDoesNotExist:  # an annotation, such as a ticket's next deadline
                field = queryset.query.annotations[column].output_field
            try:
                value = field.to_python(cursor.position)
            except DjangoValidationError:
                value = None
            if value is None or (hasattr(value, "tzinfo") and timezone.is_naive(value)):
                raise exceptions.ValidationError(
                    {self.cursor_query_param: [self.invalid_cursor_message]}
                )
        return super().paginate_queryset(queryset, request, view)


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Any other path under /api/v1/: a 404 in the API's error shape."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound("No such endpoint; see /api/docs/ for the API.")


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not know, instead of silently ignoring a misspelt one."""

    # Sent by HTML forms posting to the API with a session; never data.
    IGNORED = frozenset({"csrfmiddlewaretoken"})

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields) - self.IGNORED)
            if unknown:
                known = ", ".join(name for name, f in self.fields.items() if not f.read_only)
                raise serializers.ValidationError(
                    {name: [f"Unknown field; this endpoint takes {known}."] for name in unknown}
                )
        return super().to_internal_value(data)


class ModelRepresentation(serializers.ModelSerializer):
    """A read-only `ModelSerializer` whose fields are worked out once per class.

    DRF introspects the model to build a `ModelSerializer`'s fields every time one is made (a
    ticket's detail makes a dozen); the result depends on the class alone, so it is built once
    and copied afresh for each instance, as DRF copies declared fields.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        prototypes = type(self).__dict__.get("_field_prototypes")
        if prototypes is None:
            prototypes = super().get_fields()
            type(self)._field_prototypes = prototypes
        return copy.deepcopy(prototypes)
