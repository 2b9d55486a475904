from typing import Any

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from portail import views
from portail.dashboard import agent_day
from portail.health import health

# The admin's own login page is replaced by the portal's (throttled) login.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = _("Portail Familles – administration")
admin.site.site_title = _("Portail Familles")
# The lists need the room at 1280 px (the payments list lost its amounts
# behind a scroll bar): the home page and the breadcrumbs lead everywhere.
admin.site.enable_nav_sidebar = False

# The admin's home page is the agent's day (portail/dashboard.py).
admin.site.index_template = "admin/portail_index.html"
_admin_index = admin.site.index


def _agent_index(
    request: HttpRequest, extra_context: dict[str, Any] | None = None
) -> TemplateResponse:
    day = agent_day(request.user)  # type: ignore[arg-type]  # staff only (admin_view)
    return _admin_index(request, {**(extra_context or {}), "agent_day": day})


admin.site.index = _agent_index  # type: ignore[method-assign]

urlpatterns = [
    path("", views.home, name="home"),
    path("aide/", views.help_page, name="help"),
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("mentions-legales/", views.legal_notice, name="legal_notice"),
    path("donnees-personnelles/", views.personal_data, name="personal_data"),
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
