"""What the admin pages of every app share: rows that may not be added,
changed or deleted there (history is never edited; money is changed only
through its services), and `StaffView`, the base of the staff pages that
are not a model's list or form (the desk, the journal, the invoicing…)."""

import datetime
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin import AdminSite
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.views import View
from simple_history.admin import SimpleHistoryAdmin

from portail.params import parse_id, parse_int

# The days a list or a journal can be asked for: beyond them, Python's and
# the databases' dates overflow.
FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(2999, 12, 31)


class NoAddMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoChangeMixin:
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoDeleteMixin:
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyMixin(NoAddMixin, NoChangeMixin, NoDeleteMixin):
    """Shown, never written, in the admin."""


class SafeDateHierarchyMixin:
    """A list by date (`date_hierarchy`) asked for a year beyond
    `FIRST_DAY`…`LAST_DAY` (year 9999 overflows) shows every date instead
    of an error."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        field = getattr(self, "date_hierarchy", None)
        year = request.GET.get(f"{field}__year") if field else None
        if year is not None:
            number = parse_int(year, digits=4)
            if number is None or not FIRST_DAY.year <= number <= LAST_DAY.year:
                query = request.GET.copy()
                for part in ("year", "month", "day"):
                    query.pop(f"{field}__{part}", None)
                request.GET = query  # type: ignore[assignment]
        return super().changelist_view(request, extra_context)  # type: ignore[misc]


class SafeInitialMixin:
    """A form naming a related row by something that is not an id (a link's
    `?family=²`, a posted `family=abc`) gets "choose a valid choice" or an
    empty field, instead of an error from the widget that shows the row."""

    def _related_names(self) -> list[str]:
        return [
            field.name
            for field in self.model._meta.get_fields()  # type: ignore[attr-defined]
            if field.concrete and (field.many_to_one or field.one_to_one)
        ]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = super().get_changeform_initial_data(request)  # type: ignore[misc]
        for name in self._related_names():
            if name in initial and parse_id(initial[name]) is None:
                del initial[name]
        return initial

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        odd = [
            name
            for name in self._related_names()
            if request.POST.get(name) and parse_id(request.POST[name]) is None
        ]
        if request.method == "POST" and odd:
            posted = request.POST.copy()
            for name in odd:
                posted[name] = "0"  # no row has it: "choose a valid choice"
            request.POST = posted  # type: ignore[assignment]
        return super().changeform_view(  # type: ignore[misc, no-any-return]
            request, object_id, form_url, extra_context
        )


class HistoryAdmin(SafeInitialMixin, SimpleHistoryAdmin):
    """django-simple-history's admin, whose history page answers 404 to an
    object id that is not one (it failed)."""

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if parse_id(object_id) is None:
            raise Http404
        return super().history_view(request, object_id, extra_context)  # type: ignore[no-any-return]


class StaffView(View):
    """A staff page of the admin of its own: the desk, the cash journal, a
    merge, the invoicing… (each app's `staff_views.py`). It answers 403 to
    a member of staff without `permission`, and renders `template_name`
    (which extends `admin/portail/page.html`) with the admin's context:
    the site's header and sidebar, the model's `opts`, the page's title
    and its breadcrumbs. `route` wires it into a ModelAdmin's URLs, behind
    the admin's own login and CSRF checks."""

    admin_site: AdminSite = admin.site  # `route` passes the ModelAdmin's
    model: ClassVar[type[Model]]
    # "app.codename", or several of which any one opens the page (a model's
    # rows are seen with its view or its change permission, as in the admin).
    permission: ClassVar[str | tuple[str, ...]] = ""
    title: ClassVar[str | Promise] = ""
    template_name: ClassVar[str] = ""

    @classmethod
    def route(cls, admin_site: AdminSite, route: str, name: str) -> URLPattern:
        view = cls.as_view(admin_site=admin_site)
        return path(route, admin_site.admin_view(view), name=name)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not self.has_permission():
            return HttpResponse(status=403)
        return super().dispatch(request, *args, **kwargs)

    def has_permission(self) -> bool:
        wanted = (
            (self.permission,) if isinstance(self.permission, str) else self.permission
        )
        return any(name and self.request.user.has_perm(name) for name in wanted)

    def get_title(self) -> str:
        return str(self.title)

    def crumbs(self) -> list[tuple[str, str]]:
        """The links between Home and this page: the model's list."""
        meta = self.model._meta
        changelist = f"admin:{meta.app_label}_{meta.model_name}_changelist"
        return [(capfirst(str(meta.verbose_name_plural)), reverse(changelist))]

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(self.request),
            "opts": self.model._meta,
            "title": self.get_title(),
            "crumbs": self.crumbs(),
            **extra,
        }

    def render(self, **extra: Any) -> TemplateResponse:
        return TemplateResponse(self.request, self.template_name, self.context(**extra))

    def tell(self, text: str, level: int = messages.SUCCESS) -> None:
        """A message shown at the top of the next page."""
        messages.add_message(self.request, level, text)
