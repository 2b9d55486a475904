from django.contrib import admin

from factures.models import TariffBracket


@admin.register(TariffBracket)
class TariffBracketAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "qf_min", "qf_max"]
    search_fields = ["code", "label"]
