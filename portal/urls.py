from django.contrib import admin
from django.urls import include, path

from portal import views

admin.site.site_header = "Meridian support"
admin.site.site_title = "Meridian"
admin.site.index_title = "Support desk"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("tickets/", include("tickets.urls")),
    path("api/", include("portal.api_urls")),
    path("admin/", admin.site.urls),
]
