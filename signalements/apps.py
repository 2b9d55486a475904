from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignalementsConfig(AppConfig):
    name = "signalements"
    verbose_name = _("Reports")
