from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortailConfig(AppConfig):
    name = "portail"
    verbose_name = _("Family portal")

    def ready(self) -> None:
        from django.db.models import ForeignKey, IntegerField

        from portail import params  # noqa: F401 - registers the <id:…> converter
        from portail.lookups import AnyOf

        IntegerField.register_lookup(AnyOf)
        ForeignKey.register_lookup(AnyOf)
