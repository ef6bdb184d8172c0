"""`POST /api/v1/inbound/email/`: the raw MIME message as the body, for forwarders and mail
providers' inbound hooks. The mailbox's token comes as `Authorization: Bearer <token>` or as
the password of HTTP basic auth (for hooks that can only put credentials in the URL)."""

import base64
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.base import error_responses
from portal.api.errors import PayloadTooLarge
from tickets.channels.email.ingest import ingest
from tickets.channels.email.mailboxes import mailbox_for_token
from tickets.models import InboundEmail, Mailbox


class MailboxTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Mailbox] | None:
        header = get_authorization_header(request).decode("latin-1")
        scheme, _space, value = header.partition(" ")
        token = ""
        if scheme.lower() == "bearer":
            token = value
        elif scheme.lower() == "basic":
            try:
                token = base64.b64decode(value).decode("utf-8").partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                token = ""
        if not token:
            return None
        mailbox = mailbox_for_token(token)
        if mailbox is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked mailbox token."))
        return (None, mailbox)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="inbound email"'


class MailboxTokenScheme(OpenApiAuthenticationExtension):
    target_class = MailboxTokenAuthentication
    name = "mailboxToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A mailbox's token (`<id>.<secret>`), issued in the support desk; "
            "also accepted as the password of HTTP basic auth.",
        }


class HasMailbox(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        if not isinstance(request.auth, Mailbox):
            raise exceptions.NotAuthenticated(_("Send the mailbox's token: Authorization: Bearer."))
        return True


class RawEmailParser(BaseParser):
    """The body as bytes, whatever its Content-Type (message/rfc822 is the proper one)."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.EMAIL_MAX_BYTES * 2
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise PayloadTooLarge(
                _("A message is stored up to %(limit)d bytes.") % {"limit": limit}
            )
        return data


class InboundResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["ticket", "message", "quarantined", "ignored"])
    reason = serializers.CharField()
    ticket = serializers.CharField(allow_null=True, help_text="The ticket's reference.")
    record = serializers.IntegerField(allow_null=True, help_text="The inbound email's id.")


class InboundEmailView(APIView):
    authentication_classes = [MailboxTokenAuthentication]
    permission_classes = [HasMailbox]
    parser_classes = [RawEmailParser]
    renderer_classes = [JSONRenderer]
    throttle_classes: list = []

    @extend_schema(
        operation_id="inbound_email",
        summary="Deliver one email (raw RFC 5322 bytes) to a mailbox",
        request={"message/rfc822": {"type": "string", "format": "binary"}},
        responses={
            201: OpenApiResponse(InboundResultSerializer, "Stored as a ticket or a message."),
            200: OpenApiResponse(InboundResultSerializer, "Ignored (a duplicate, a bounce…)."),
            202: OpenApiResponse(InboundResultSerializer, "Quarantined, with its reason."),
            **error_responses(400, 413),
        },
        examples=[
            OpenApiExample(
                "Stored",
                value={"outcome": "ticket", "reason": "", "ticket": "MRD-000123", "record": 7},
                response_only=True,
            )
        ],
        tags=["inbound"],
    )
    def post(self, request: Request) -> Response:
        raw = request.data
        if not isinstance(raw, bytes) or not raw.strip():
            raise exceptions.ParseError(_("The body must be the raw email message."))
        result = ingest(raw, mailbox=request.auth, via=InboundEmail.Via.HTTP)
        code = {
            InboundEmail.Outcome.TICKET: status.HTTP_201_CREATED,
            InboundEmail.Outcome.MESSAGE: status.HTTP_201_CREATED,
            InboundEmail.Outcome.QUARANTINED: status.HTTP_202_ACCEPTED,
        }.get(result.outcome, status.HTTP_200_OK)
        body = {
            "outcome": result.outcome,
            "reason": result.reason,
            "ticket": result.ticket.reference if result.ticket is not None else None,
            "record": result.record.pk if result.record is not None else None,
        }
        return Response(body, status=code)
