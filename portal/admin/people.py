"""The directory in the support desk: regions and teams, organisations, members, staff."""

from django.contrib import admin
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from portal.admin.base import InlineChanges, ServiceAdmin
from portal.models import Agent, EmailDomain, Member, Organisation, Region, Team
from portal.services import (
    agent_save,
    email_domain_save,
    member_save,
    organisation_save,
    region_save,
    team_save,
)


class TeamInline(admin.TabularInline):
    model = Team
    extra = 0
    can_delete = False


@admin.register(Region)
class RegionAdmin(ServiceAdmin):
    list_display = ["code", "name", "time_zone"]
    search_fields = ["code", "name"]
    inlines = [TeamInline]

    def save_by_service(
        self, request: HttpRequest, obj: Region, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        teams = inlines.of(Team)
        return region_save(region=obj, teams=teams.saved, removed_teams=teams.deleted)


@admin.register(Team)
class TeamAdmin(ServiceAdmin):
    list_display = ["name", "region", "level", "email"]
    list_filter = ["level", "region"]
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

    list_display = ["__str__", "role", "team", "time_zone"]
    list_filter = ["role", "team__region", "team__level"]
    list_select_related = ["user", "team"]
    search_fields = ["user__username", "user__email", "user__last_name", "team__name"]
    autocomplete_fields = ["user"]

    def save_by_service(
        self, request: HttpRequest, obj: Agent, form: ModelForm, inlines: InlineChanges
    ) -> Model:
        return agent_save(agent=obj)
