"""Customer portal pages for tickets: the dashboard, the list, a new ticket, a ticket's page
with its conversation and actions, and attachment downloads.

Each view parses, authorises with a selector that 404s on what the caller may not see, calls a
service for any write, and renders. Every instant is shown in the viewer's time zone (activated
by `portal.middleware.ViewerTimeZoneMiddleware`).
"""

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contracts.selectors import sla_terms_for
from contracts.terms import ContractTermsMismatch
from portal import views as portal_views
from portal.errors import Refusal
from portal.forms import add_refusal
from tickets.forms import (
    ReplyForm,
    StatusForm,
    TicketCreateForm,
    TicketFilterForm,
    attachments_of,
)
from tickets.models import Attachment, Ticket
from tickets.selectors import (
    attachment_for_user,
    contract_terms,
    customer_actions,
    dashboard_tickets,
    member_for_user,
    ticket_conversation,
    ticket_for_user,
    ticket_milestones,
    tickets_for_list,
)
from tickets.services import ticket_change_status, ticket_create, ticket_reply

PAGE_SIZE = 25
DASHBOARD_SIZE = 50
# How instants read in messages (the pages use the same format through the `date` filter).
INSTANT_FORMAT = "D j M Y, H:i T"


def _local(instant: datetime) -> str:
    return dateformat.format(timezone.localtime(instant), INSTANT_FORMAT)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """`/`: a customer's open tickets with their next deadline, and their contract at a glance.

    Anonymous visitors, agents and anyone without a customer membership get the public landing
    page (`portal.views.home`); agents find the support desk linked from it.
    """
    try:
        member = member_for_user(request.user)
    except Http404:
        return portal_views.home(request)
    now = timezone.now()
    tickets = dashboard_tickets(
        request.user,
        now=now,
        time_zone=timezone.get_current_timezone_name(),
        limit=DASHBOARD_SIZE,
    )
    terms, refusal = None, None
    try:
        sla = sla_terms_for(organisation=member.organisation, at=now)
    except ContractTermsMismatch as mismatch:
        refusal = mismatch
    else:
        terms = contract_terms(sla, region_name=member.organisation.home_region.name)
    return render(
        request,
        "tickets/dashboard.html",
        {"member": member, "tickets": tickets, "terms": terms, "terms_refusal": refusal},
    )


@login_required
@require_GET
def ticket_list(request: HttpRequest) -> HttpResponse:
    filters = TicketFilterForm(request.GET)
    tickets = tickets_for_list(request.user, **filters.filters())
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tickets/ticket_list.html", {"page": page, "filters": filters})


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    member = member_for_user(request.user)
    now = timezone.now()
    organisation = member.organisation
    try:
        sla = sla_terms_for(organisation=organisation, at=now)
    except ContractTermsMismatch as refusal:
        # Never a ticket under terms nobody can vouch for: say so, and file nothing.
        messages.error(request, f"{refusal} {_('Please call your account manager.')}")
        return render(request, "tickets/ticket_form.html", {"form": None}, status=refusal.status)
    terms = contract_terms(sla, region_name=organisation.home_region.name)
    if request.method == "POST":
        form = TicketCreateForm(request.POST, request.FILES, terms=terms)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = ticket_create(
                    organisation=member.organisation,
                    requester=member,
                    channel=Ticket.Channel.WEB,
                    subject=data["subject"],
                    body_text=data["description"],
                    priority=data["priority"],
                    product_area=data["product_area"],
                    attachments=attachments_of(form),
                    actor=request.user,
                    now=now,
                    terms=sla,
                )
            except Refusal as refusal:
                add_refusal(form, refusal)
            else:
                if ticket.first_response_due_at is not None:
                    promise = f"We will respond by {_local(ticket.first_response_due_at)}."
                else:
                    promise = "It has no SLA deadlines: there was no active contract."
                messages.success(request, f"Ticket {ticket.reference} created. {promise}")
                return redirect("tickets:detail", reference=ticket.reference)
    else:
        form = TicketCreateForm(terms=terms)
    return render(
        request,
        "tickets/ticket_form.html",
        {"form": form, "terms": terms},
        status=400 if form.is_bound else 200,
    )


def _detail_page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    now: datetime,
    reply_form: ReplyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    zone = timezone.get_current_timezone_name()
    milestones = ticket_milestones(ticket, now=now, time_zone=zone)
    # A root cause recorded where no milestone carries it (none was promised): shown on its own.
    placed = any(milestone.summary for milestone in milestones)
    return render(
        request,
        "tickets/ticket_detail.html",
        {
            "ticket": ticket,
            "conversation": ticket_conversation(ticket, request.user),
            "milestones": milestones,
            "unplaced_root_cause": "" if placed else ticket.root_cause_summary,
            "actions": customer_actions(ticket, request.user, now=now),
            "reply_form": reply_form or ReplyForm(),
            "reopen_days": settings.REOPEN_WINDOW_DAYS,
        },
        status=status,
    )


@login_required
@require_GET
def ticket_detail(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, reference)
    return _detail_page(request, ticket, now=timezone.now())


@login_required
@require_POST
def ticket_reply_view(request: HttpRequest, reference: str) -> HttpResponse:
    """A customer's reply; on a resolved ticket within the reopen window it reopens it."""
    member_for_user(request.user)  # customers only: agents reply in the support desk
    ticket = ticket_for_user(request.user, reference)
    now = timezone.now()
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        was_resolved = ticket.status == Ticket.Status.RESOLVED
        try:
            message = ticket_reply(
                ticket=ticket,
                author=request.user,
                body_text=form.cleaned_data["body"],
                attachments=attachments_of(form),
                channel=Ticket.Channel.WEB,
                now=now,
            )
        except Refusal as refusal:
            add_refusal(form, refusal)
        else:
            reopened = " and the ticket is open again" if was_resolved else ""
            messages.success(request, f"Your reply was added to {ticket.reference}{reopened}.")
            url = reverse("tickets:detail", args=[ticket.reference])
            return redirect(f"{url}#message-{message.pk}")
    return _detail_page(request, ticket, now=now, reply_form=form, status=400)


@login_required
@require_POST
def ticket_status(request: HttpRequest, reference: str) -> HttpResponse:
    """Mark as resolved, or reopen a resolved ticket (within the reopen window)."""
    member_for_user(request.user)  # customers only: agents change status in the support desk
    ticket = ticket_for_user(request.user, reference)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to mark the ticket as resolved or to reopen it.")
    else:
        status = form.cleaned_data["status"]
        try:
            ticket_change_status(
                ticket=ticket, status=status, actor=request.user, now=timezone.now()
            )
        except Refusal as refusal:
            messages.error(request, str(refusal))
        else:
            done = "marked as resolved" if status == Ticket.Status.RESOLVED else "reopened"
            messages.success(request, f"{ticket.reference} {done}.")
    return redirect("tickets:detail", reference=ticket.reference)


@login_required
@require_GET
def attachment_download(request: HttpRequest, reference: str, attachment_id: int) -> FileResponse:
    return attachment_response(attachment_for_user(request.user, reference, attachment_id))


def attachment_response(attachment: Attachment) -> FileResponse:
    """The stored file, streamed as a download under its original name and stored type (the
    portal's and the support desk's downloads); 404 when the file is gone from storage."""
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is no longer stored.") from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
    # Never let a browser guess a type (an uploaded "text" file rendered as HTML).
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
