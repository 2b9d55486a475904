"""The merge in the admin: the agents' list of suspected duplicates, the
merge action and its preview, added to the families' admin page."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from familles.access import acting_user
from familles.admin import FamilyAdmin
from familles.models import Family
from fusions.duplicates import suspected_duplicates
from fusions.services import family_merge, family_merge_plan
from portail.params import parse_id
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

    def merge_view(self, request: HttpRequest) -> HttpResponse:
        """Preview what a merge does; the agent picks the family kept and
        confirms."""
        if not self.has_merge_permission(request):
            return HttpResponse(status=403)
        raw = request.POST.get("ids") or request.GET.get("ids", "")
        ids = [pk for part in raw.split(",") if (pk := parse_id(part))]
        families = list(Family.objects.filter(pk__in=ids).order_by("identifier"))
        if len(families) < 2:
            self.message_user(
                request, _("Choose at least two families."), messages.WARNING
            )
            return redirect("admin:familles_family_changelist")
        chosen = request.POST.get("keep") or request.GET.get("keep")
        keep = next((f for f in families if str(f.pk) == chosen), None) or max(
            families,
            key=lambda f: (f.logins.filter(last_login__isnull=False).exists(), -f.pk),
        )
        duplicates = [f for f in families if f.pk != keep.pk]
        try:
            plan = family_merge_plan(keep=keep, duplicates=duplicates)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return redirect("admin:familles_family_changelist")
        if request.method == "POST" and "confirm" in request.POST:
            try:
                family_merge(
                    keep=keep, duplicates=duplicates, agent=acting_user(request)
                )
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return redirect("admin:familles_family_changelist")
            self.message_user(
                request,
                _("%(merged)s merged into %(keep)s.")
                % {"merged": ", ".join(f.identifier for f in duplicates), "keep": keep},
                messages.SUCCESS,
            )
            return redirect(reverse("admin:familles_family_change", args=[keep.pk]))
        return TemplateResponse(
            request,
            "admin/familles/merge_preview.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Merge families"),
                "families": families,
                "plan": plan,
                "ids": ",".join(str(f.pk) for f in families),
            },
        )

    def duplicates_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        return TemplateResponse(
            request,
            "admin/familles/suspected_duplicates.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Suspected duplicates"),
                "groups": suspected_duplicates(),
                "can_merge": self.has_merge_permission(request),
            },
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "fusion/",
                self.admin_site.admin_view(self.merge_view),
                name="familles_family_merge",
            ),
            path(
                "doublons/",
                self.admin_site.admin_view(self.duplicates_view),
                name="familles_family_duplicates",
            ),
            *super().get_urls(),
        ]
