from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from portail import views
from portail.health import health

# The admin's own login page is replaced by the portal's (throttled) login.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = _("Portail Familles – administration")
admin.site.site_title = _("Portail Familles")

urlpatterns = [
    path("", views.home, name="home"),
    path("aide/", views.help_page, name="help"),
    path("health/", health, name="health"),
    path("", include("familles.urls")),
    path("factures/", include("factures.urls")),
    path("paiements/", include("paiements.urls")),
    path("signalements/", include("signalements.urls")),
    path("compte/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
