from django.contrib import admin

from portal.models import Agent, EmailDomain, Heartbeat, Member, Organisation, Region, Team


class TeamInline(admin.TabularInline):
    model = Team
    extra = 0


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone"]
    search_fields = ["code", "name"]
    inlines = [TeamInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "level", "email"]
    list_filter = ["level", "region"]
    list_select_related = ["region"]
    search_fields = ["name", "email"]


class EmailDomainInline(admin.TabularInline):
    model = EmailDomain
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "home_region", "account_manager", "requesters_see_all_tickets"]
    list_filter = ["home_region", "requesters_see_all_tickets"]
    list_select_related = ["home_region", "account_manager"]
    search_fields = ["name", "slug", "email_domains__domain"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["account_manager"]
    inlines = [EmailDomainInline]


@admin.register(EmailDomain)
class EmailDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["domain", "organisation__name"]
    autocomplete_fields = ["organisation"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user_email", "organisation", "role", "time_zone"]
    list_filter = ["role", "organisation__home_region"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__username", "user__email", "user__last_name", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, obj: Member) -> str:
        return obj.user.email


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "role", "team", "time_zone"]
    list_filter = ["role", "team__region", "team__level"]
    list_select_related = ["user", "team"]
    search_fields = ["user__username", "user__email", "user__last_name", "team__name"]
    autocomplete_fields = ["user"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "seen_at", "beats"]
    readonly_fields = ["name", "seen_at", "beats"]

    def has_add_permission(self, request) -> bool:
        return False
