from django.contrib import admin
from django.urls import include, path

from portal import views
from tickets import views as ticket_views

admin.site.site_header = "Meridian support"
admin.site.site_title = "Meridian"
admin.site.index_title = "Support desk"

urlpatterns = [
    # A logged-in customer's dashboard; the public landing page (`views.home`) for everyone else.
    path("", ticket_views.dashboard, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("profile/", views.profile, name="profile"),
    path("profile/email/", views.profile_email, name="profile-email"),
    path("profile/token/", views.profile_token_create, name="profile-token-create"),
    path("profile/token/revoke/", views.profile_token_revoke, name="profile-token-revoke"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("tickets/", include("tickets.urls")),
    path("api/", include("portal.api.urls")),
    path("admin/", admin.site.urls),
]
