"""`Idempotency-Key` for the API's writes: a retried request gets the first response back and
writes nothing again."""

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from portal.services.idempotency import (
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_release,
)

T = TypeVar("T")

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
    # A key in use by a running or a different request is refused (409, 422) by the claim.
    record = idempotency_key_claim(
        user=request.user,
        key=key,
        method=request.method,
        path=request.path,
        fingerprint=request_fingerprint(request),
        now=timezone.now(),
    )
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
