from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

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
    # A guardian's e-mail changes only through the family file's own flow
    # (password asked again, history, the old address told): allauth's
    # page for managing addresses would bypass all three.
    path(
        "compte/email/",
        RedirectView.as_view(pattern_name="familles:dossier"),
        name="account_email",
    ),
    path("compte/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
