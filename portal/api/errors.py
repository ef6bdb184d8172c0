"""One JSON shape for every API error.

    {"error": {"status": 400, "code": "invalid", "message": "…", "fields": {"priority": ["…"]}}}

`status` repeats the HTTP status; `code` is a stable word to branch on (`invalid`,
`parse_error`, `not_authenticated`, `authentication_failed`, `permission_denied`, `not_found`,
`method_not_allowed`, `not_acceptable`, `unsupported_media_type`, `too_large`, `throttled`,
`idempotency_key_in_progress`, `idempotency_key_reused`, `conflict`, `contract_terms_mismatch`);
`message` is a sentence for people;
`fields` maps each input field (or header) that was refused to its messages, and is empty when
the error is not about one field.

Every app's refusals are `portal.errors.Refusal`s: 400 with the service's message (or the
refusal's own status and code), under `fields` when the refusal names the input it is about. A
view that knows which input an unnamed refusal is about reports it as that field's error
(`refusal_as_field_error`). Nothing here imports the apps; they build on `portal.errors`.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import Refusal


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class RefusedElsewhere(exceptions.APIException):
    """A refusal whose status is not 400 (a conflict with the state of things, say)."""

    def __init__(self, refusal: Refusal) -> None:
        self.status_code = refusal.status
        super().__init__(refusal.message, code=refusal.code)


def refusal_as_api_error(
    refusal: Refusal, *, field: str | None = None, renamed: Mapping[str, str] | None = None
) -> exceptions.APIException:
    """The API exception a refusal means: a 400 naming its field (the refusal's own, as the
    API calls it in `renamed`, else `field`), or its own status and code."""
    if refusal.status != status.HTTP_400_BAD_REQUEST:
        return RefusedElsewhere(refusal)
    own = (renamed or {}).get(refusal.field, refusal.field) if refusal.field else None
    name = own or field
    if name:
        return exceptions.ValidationError({name: [refusal.message]})
    return exceptions.ValidationError([refusal.message])


@contextmanager
def refusal_as_field_error(
    field: str, *, renamed: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Report a service's refusal as an error of the input `field` it is about (unless the
    refusal names its field itself: the service's names are the API's, or `renamed`)."""
    try:
        yield
    except Refusal as exc:
        raise refusal_as_api_error(exc, field=field, renamed=renamed) from exc


def _translate(exc: Exception) -> Exception:
    """Exceptions DRF does not know, as the API exception they mean."""
    if isinstance(exc, Refusal):
        return refusal_as_api_error(exc)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError(exc.messages)
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, SuspiciousOperation):
        # Too many fields or files in a form, a malformed upload: the request is at fault.
        return exceptions.ParseError("The request could not be read.")
    return exc


def _messages(detail: Any) -> list[str]:
    """Every message in a (possibly nested) error detail, flattened to strings."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            out.extend(f"{key}: {message}" for message in _messages(value))
        return out
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item)]
    return [str(detail)]


def _code(detail: Any, default: str) -> str:
    if isinstance(detail, exceptions.ErrorDetail) and detail.code:
        return str(detail.code)
    return default


def error_body(exc: exceptions.APIException, status_code: int) -> dict[str, Any]:
    """The `error` object for an API exception."""
    detail = exc.detail
    fields: dict[str, list[str]] = {}
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        if isinstance(detail, dict):
            fields = {str(name): _messages(value) for name, value in detail.items()}
            refused = [name for name in fields if name != api_settings.NON_FIELD_ERRORS_KEY]
            if len(fields) == 1:
                (name, messages) = next(iter(fields.items()))
                first = messages[0] if messages else "Invalid input."
                message = first if name == api_settings.NON_FIELD_ERRORS_KEY else f"{name}: {first}"
            else:
                message = f"Invalid input in {', '.join(refused) or 'the request'}."
        else:
            messages = _messages(detail)
            message = messages[0] if messages else "Invalid input."
    else:
        code = _code(detail, exc.default_code)
        message = " ".join(_messages(detail)) or str(exc.default_detail)
    return {"status": status_code, "code": code, "message": message, "fields": fields}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status, WWW-Authenticate, Retry-After), then the one error shape."""
    exc = _translate(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug, not a refusal: Django's 500 handling and logging
    if not isinstance(exc, exceptions.APIException):
        # Http404 and PermissionDenied, which DRF turned into its own exceptions.
        exc = (
            exceptions.NotFound(*exc.args)
            if response.status_code == status.HTTP_404_NOT_FOUND
            else exceptions.PermissionDenied(*exc.args)
        )
    response.data = {"error": error_body(exc, response.status_code)}
    return response


# --- The error shape, for the schema ------------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(
        help_text=(
            "A stable word to branch on: invalid, parse_error, not_authenticated, "
            "authentication_failed, permission_denied, not_found, method_not_allowed, "
            "not_acceptable, unsupported_media_type, too_large, throttled, "
            "idempotency_key_in_progress, idempotency_key_reused, contract_terms_mismatch."
        )
    )
    message = serializers.CharField(help_text="What went wrong, for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per refused input field (or header); empty when none is at fault.",
    )


class ErrorSerializer(serializers.Serializer):
    """Every API error has this shape."""

    error = ErrorBodySerializer()
