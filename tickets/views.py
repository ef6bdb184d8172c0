"""Customer portal pages for tickets."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tickets.models import Message
from tickets.selectors import ticket_for_user, tickets_visible_to
from tickets.sla import clock_views

PAGE_SIZE = 25


@login_required
@require_GET
def ticket_list(request: HttpRequest) -> HttpResponse:
    tickets = (
        tickets_visible_to(request.user)
        .select_related("organisation")
        .order_by("-updated_at", "-pk")
    )
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tickets/ticket_list.html", {"page": page})


@login_required
@require_GET
def ticket_detail(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = ticket_for_user(request.user, reference)
    messages = ticket.messages.select_related("author").order_by("created_at", "id")
    if not request.user.is_staff:
        messages = messages.filter(visibility=Message.Visibility.PUBLIC)
    clocks = clock_views(ticket, now=timezone.now(), time_zone=timezone.get_current_timezone_name())
    return render(
        request,
        "tickets/ticket_detail.html",
        {"ticket": ticket, "conversation": messages, "clocks": clocks},
    )
