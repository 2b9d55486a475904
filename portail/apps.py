from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortailConfig(AppConfig):
    name = "portail"
    verbose_name = _("Family portal")
