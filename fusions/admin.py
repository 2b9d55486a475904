"""The merge in the admin: the merge action and the duplicates' filter,
added to the families' admin page; the preview and the list of suspected
duplicates are staff pages of their own (`fusions.staff_views`)."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy

from familles.admin import FamilyAdmin
from familles.models import Family
from fusions.staff_views import DuplicatesView, MergeView
from signalements.models import Report


class ReportedDuplicateFilter(admin.SimpleListFilter):
    """Families that said, in a report still open, that they have several
    accounts: the start of the agents' list of suspected duplicates."""

    title = gettext_lazy("suspected duplicate")
    parameter_name = "doublon"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("signale", gettext_lazy("reported by the family"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Family]
    ) -> QuerySet[Family]:
        if self.value() == "signale":
            return queryset.filter(
                pk__in=Report.objects.open()
                .filter(kind=Report.Kind.SEVERAL_ACCOUNTS)
                .values("family_id")
            )
        return queryset


admin.site.unregister(Family)


@admin.register(Family)
class MergingFamilyAdmin(FamilyAdmin):
    list_filter = [*FamilyAdmin.list_filter, ReportedDuplicateFilter]
    actions = [*FamilyAdmin.actions, "merge_families"]

    @admin.action(
        description=gettext_lazy("Merge the selected families (preview first)"),
        permissions=["merge"],
    )
    def merge_families(self, request: HttpRequest, queryset: QuerySet[Family]) -> Any:
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return redirect(f"{reverse('admin:familles_family_merge')}?ids={ids}")

    def has_merge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("familles.merge_family")

    def get_urls(self) -> list[Any]:
        return [
            MergeView.route(self.admin_site, "fusion/", "familles_family_merge"),
            DuplicatesView.route(
                self.admin_site, "doublons/", "familles_family_duplicates"
            ),
            *super().get_urls(),
        ]
