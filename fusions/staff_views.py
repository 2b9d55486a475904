"""The staff pages of the merge: the preview and confirmation of a merge,
and the list of suspected duplicates (wired in `fusions.admin`)."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from familles.access import acting_user
from familles.models import Family
from fusions.duplicates import suspected_duplicates
from fusions.services import family_merge, family_merge_plan, family_to_keep
from portail.admin_tools import StaffView
from portail.params import parse_id


class MergeView(StaffView):
    """Preview what a merge does; the agent picks the family kept and
    confirms."""

    model = Family
    permission = "familles.merge_family"
    title = gettext_lazy("Merge families")
    template_name = "admin/familles/merge_preview.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.merge(request.GET, confirm=False)

    def post(self, request: HttpRequest) -> HttpResponse:
        return self.merge(request.POST, confirm="confirm" in request.POST)

    def merge(self, data: Any, *, confirm: bool) -> HttpResponse:
        raw = data.get("ids", "")
        ids = [pk for part in raw.split(",") if (pk := parse_id(part))]
        families = list(Family.objects.filter(pk__in=ids).order_by("identifier"))
        if len(families) < 2:
            self.tell(_("Choose at least two families."), messages.WARNING)
            return redirect("admin:familles_family_changelist")
        keep = family_to_keep(families, data.get("keep"))
        duplicates = [f for f in families if f.pk != keep.pk]
        try:
            plan = family_merge_plan(keep=keep, duplicates=duplicates)
            if confirm:
                family_merge(
                    keep=keep, duplicates=duplicates, agent=acting_user(self.request)
                )
        except ValidationError as error:
            self.tell(" ".join(error.messages), messages.ERROR)
            return redirect("admin:familles_family_changelist")
        if confirm:
            self.tell(
                _("%(merged)s merged into %(keep)s.")
                % {"merged": ", ".join(f.identifier for f in duplicates), "keep": keep}
            )
            return redirect(reverse("admin:familles_family_change", args=[keep.pk]))
        return self.render(
            families=families, plan=plan, ids=",".join(str(f.pk) for f in families)
        )


class DuplicatesView(StaffView):
    """Families that look like the same household registered twice."""

    model = Family
    permission = "familles.view_family"
    title = gettext_lazy("Suspected duplicates")
    template_name = "admin/familles/suspected_duplicates.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(
            groups=suspected_duplicates(),
            can_merge=request.user.has_perm("familles.merge_family"),
        )
