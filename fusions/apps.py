from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FusionsConfig(AppConfig):
    name = "fusions"
    verbose_name = _("Merges")
