from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortailConfig(AppConfig):
    name = "portail"
    verbose_name = _("Family portal")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models import ForeignKey, IntegerField

        from portail import params  # noqa: F401 - registers the <id:…> converter
        from portail.lookups import AnyOf, register_fold

        IntegerField.register_lookup(AnyOf)
        ForeignKey.register_lookup(AnyOf)
        connection_created.connect(register_fold, dispatch_uid="portail_fold")
