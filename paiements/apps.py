from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaiementsConfig(AppConfig):
    name = "paiements"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from paiements import signals  # noqa: F401 - connects the receivers
