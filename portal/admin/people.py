"""The directory in the support desk: regions and teams, organisations, members, staff."""

from django.contrib import admin, messages
from django.db.models import Model
from django.forms import ModelForm
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin.base import InlineChanges, ServiceAdmin
from portal.models import Agent, EmailDomain, Member, Organisation, Region, Team
from portal.services import (
    agent_away_set,
    agent_save,
    email_domain_save,
    member_save,
    organisation_save,
    region_save,
    team_save,
)


class TeamInline(admin.TabularInline):
    model = Team
    fields = ["name", "level", "email", "auto_assign"]
    extra = 0
    can_delete = False


@admin.register(Region)
class RegionAdmin(ServiceAdmin):
    list_display = ["code", "name", "time_zone", "follow_sun_position"]
    ordering = ["follow_sun_position", "code"]
    search_fields = ["code", "name"]
    inlines = [TeamInline]

    def save_by_service(
        self, request: HttpRequest, obj: Region, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        teams = inlines.of(Team)
        return region_save(region=obj, teams=teams.saved, removed_teams=teams.deleted)


@admin.register(Team)
class TeamAdmin(ServiceAdmin):
    list_display = ["name", "region", "level", "auto_assign", "email"]
    list_filter = ["level", "region", "auto_assign"]
    list_select_related = ["region"]
    search_fields = ["name", "email"]

    def save_by_service(
        self, request: HttpRequest, obj: Team, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return team_save(team=obj)


class EmailDomainInline(admin.TabularInline):
    model = EmailDomain
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(ServiceAdmin):
    list_display = ["name", "home_region", "account_manager", "requesters_see_all_tickets"]
    list_filter = ["home_region", "requesters_see_all_tickets"]
    list_select_related = ["home_region", "account_manager"]
    search_fields = ["name", "slug", "email_domains__domain"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["account_manager"]
    inlines = [EmailDomainInline]

    def save_by_service(
        self, request: HttpRequest, obj: Organisation, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        domains = inlines.of(EmailDomain)
        return organisation_save(
            organisation=obj, domains=domains.saved, removed_domains=domains.deleted
        )


@admin.register(EmailDomain)
class EmailDomainAdmin(ServiceAdmin):
    list_display = ["domain", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["domain", "organisation__name"]
    autocomplete_fields = ["organisation"]

    def save_by_service(
        self, request: HttpRequest, obj: EmailDomain, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return email_domain_save(domain=obj)


@admin.register(Member)
class MemberAdmin(ServiceAdmin):
    list_display = ["__str__", "user_email", "organisation", "role", "time_zone"]
    list_filter = ["role", "organisation__home_region"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__username", "user__email", "user__last_name", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]

    @admin.display(description=gettext_lazy("Email"), ordering="user__email")
    def user_email(self, obj: Member) -> str:
        return obj.user.email

    def save_by_service(
        self, request: HttpRequest, obj: Member, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return member_save(member=obj)


@admin.register(Agent)
class AgentAdmin(ServiceAdmin):
    """Staff members; saving one gives them their role's permissions at once."""

    list_display = ["__str__", "role", "team", "away", "max_open_tickets", "time_zone"]
    list_filter = ["role", "team__region", "team__level", "away"]
    list_select_related = ["user", "team"]
    search_fields = ["user__username", "user__email", "user__last_name", "team__name"]
    autocomplete_fields = ["user"]

    def save_by_service(
        self, request: HttpRequest, obj: Agent, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return agent_save(agent=obj)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "me/away/",
                self.admin_site.admin_view(self.away_view),
                name="portal_agent_away",
            )
        ]
        return own + super().get_urls()

    def away_view(self, request: HttpRequest) -> HttpResponse:
        """Any agent marks themselves away or back (POST `away=1|0`), whatever their
        permissions on other staff; then back to the page they came from."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        agent = Agent.objects.filter(user=request.user).first()
        if agent is None:
            raise Http404(_("You are not a support agent."))
        away = request.POST.get("away") == "1"
        agent_away_set(agent=agent, away=away)
        messages.success(
            request,
            _("You are away: nothing new is assigned to you.")
            if away
            else _("Welcome back: new tickets can be assigned to you again."),
        )
        target = request.POST.get("next") or reverse("admin:index")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
            target = reverse("admin:index")
        return HttpResponseRedirect(target)
