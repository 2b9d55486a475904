from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from familles.access import acting_user
from familles.models import (
    ActivationCode,
    AddressChangeRequest,
    Child,
    Family,
    Guardian,
    ProofDocument,
    User,
)
from familles.search import FamilySearchMixin
from familles.selectors import dossier_changes
from familles.services import (
    CONTACT_FIELDS,
    address_change_refuse,
    address_change_validate,
    family_login_create,
    family_login_emails_sync,
    family_paperless_edited,
    guardian_contact_recorded,
)
from familles.staff_views import CredentialsLetterView, ProofDownloadView
from portail.admin_tools import (
    HistoryAdmin,
    NoAddMixin,
    NoDeleteMixin,
)


def _changed_contacts(forms: Any) -> list[tuple[Guardian, str]]:
    """The guardians whose e-mail or phones a form changes, with the e-mail
    they had."""
    return [
        (form.instance, form.initial.get("email") or "")
        for form in forms
        if isinstance(form.instance, Guardian)
        and form.instance.pk
        and set(form.changed_data) & set(CONTACT_FIELDS)
    ]


def _changelist_crumbs(model: type[Model]) -> list[tuple[str, str]]:
    """The breadcrumbs of an action's page (`admin/portail/page.html`): the
    list of the model it acts on."""
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    return [(capfirst(str(meta.verbose_name_plural)), url)]


class LoginStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("portal login")
    parameter_name = "acces"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("aucun", gettext_lazy("no login")),
            ("jamais", gettext_lazy("never activated")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Family]
    ) -> QuerySet[Family]:
        if self.value() == "aucun":
            return queryset.filter(logins__isnull=True)
        if self.value() == "jamais":
            return (
                queryset.filter(logins__is_active=True)
                .exclude(logins__last_login__isnull=False)
                .distinct()
            )
        return queryset


class GuardianInline(admin.StackedInline):
    model = Guardian
    extra = 0


class ChildInline(admin.TabularInline):
    model = Child
    extra = 0
    can_delete = False  # a child's attendance and invoices are history


class LoginInline(NoAddMixin, admin.TabularInline):
    model = User
    fields = ["username", "is_active", "last_login", "date_joined"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = gettext_lazy("portal logins")


@admin.register(Family)
class FamilyAdmin(FamilySearchMixin, HistoryAdmin):
    list_display = ["identifier", "name", "city", "paperless"]
    list_filter = ["paperless", "bracket_assignments__bracket", LoginStateFilter]
    # Names, phones and e-mails too, accents ignored (`FamilySearchMixin`).
    search_fields = ["identifier"]
    family_path = ""
    # The apps above add theirs (factures: the bracket history).
    inlines = [GuardianInline, ChildInline, LoginInline]
    actions = ["issue_activation_codes", "issue_activation_codes_keeping_access"]
    readonly_fields = ["created_at", "paperless_changed_at", "dossier_history"]

    @admin.display(description=gettext_lazy("dossier history"))
    def dossier_history(self, obj: Family) -> str:
        """The last changes of the family's and its guardians' data, from
        their history (the History button shows every version)."""
        changes = dossier_changes(obj)[:20] if obj.pk else []
        if not changes:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    formats.date_format(
                        timezone.localtime(change.changed_at), "SHORT_DATETIME_FORMAT"
                    ),
                    change.changed_by or "—",
                    (
                        f"{change.guardian.first_name} {change.guardian.last_name} – "
                        if change.guardian
                        else ""
                    )
                    + (change.label or change.reason),
                    "" if change.old is None else change.old,
                    "" if change.new is None else change.new,
                )
                for change in changes
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("When"),
            _("By"),
            _("What"),
            _("Old value"),
            _("New value"),
            rows,
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # The identifier is the login and is printed on paper: it never
            # changes (duplicates are merged instead).
            readonly.append("identifier")
        return readonly

    def save_model(
        self, request: HttpRequest, obj: Family, form: Any, change: bool
    ) -> None:
        family_paperless_edited(family=obj, changed_fields=form.changed_data)
        # Its history records who changed what (the request's user).
        super().save_model(request, obj, form, change)

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        family_login_emails_sync(family=form.instance)

    def save_formset(
        self, request: HttpRequest, form: Any, formset: Any, change: bool
    ) -> None:
        contacts = _changed_contacts(formset.forms)
        for instance in formset.save(commit=False):
            # Rows that record who made them (a bracket assignment).
            if getattr(instance, "created_by_id", False) is None:
                instance.created_by = request.user
            instance.save()
        for guardian, old_email in contacts:
            guardian_contact_recorded(
                guardian=guardian, old_email=old_email, agent=acting_user(request)
            )
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()

    def get_urls(self) -> list[Any]:
        return [
            CredentialsLetterView.route(
                self.admin_site,
                "<id:pk>/lettre-identifiants/",
                "familles_family_credentials_letter",
            ),
            *super().get_urls(),
        ]

    @admin.action(
        description=gettext_lazy(
            "Create the portal login / issue a new activation code"
        ),
        permissions=["change"],
    )
    def issue_activation_codes(
        self, request: HttpRequest, queryset: QuerySet[Family]
    ) -> TemplateResponse | None:
        """The current password stops working and open sessions end: the
        usual reason for a new code is access lost or taken."""
        return self._issue_codes(request, queryset, end_access=True)

    @admin.action(
        description=gettext_lazy(
            "Issue a new activation code, keeping the current password"
        ),
        permissions=["change"],
    )
    def issue_activation_codes_keeping_access(
        self, request: HttpRequest, queryset: QuerySet[Family]
    ) -> TemplateResponse | None:
        return self._issue_codes(request, queryset, end_access=False)

    def _issue_codes(
        self, request: HttpRequest, queryset: QuerySet[Family], *, end_access: bool
    ) -> TemplateResponse | None:
        issued = []
        for family in queryset:
            try:
                result = family_login_create(
                    family=family, agent=acting_user(request), end_access=end_access
                )
            except ValidationError as error:
                self.message_user(
                    request, f"{family}: {error.messages[0]}", messages.ERROR
                )
                continue
            issued.append((family, result))
        if not issued:
            return None
        return TemplateResponse(
            request,
            "admin/familles/activation_codes_issued.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Activation codes issued"),
                "crumbs": _changelist_crumbs(self.model),
                "issued": issued,
                "opts": self.model._meta,
            },
        )


@admin.register(Guardian)
class GuardianAdmin(HistoryAdmin):
    list_display = ["last_name", "first_name", "family", "email", "phone_mobile"]
    list_select_related = ["family"]
    ordering = ["family__identifier", "pk"]
    search_fields = [
        "last_name",
        "first_name",
        "email",
        "phone_mobile",
        "family__identifier",
    ]
    autocomplete_fields = ["family"]

    def save_model(
        self, request: HttpRequest, obj: Guardian, form: Any, change: bool
    ) -> None:
        contacts = _changed_contacts([form])
        super().save_model(request, obj, form, change)
        for guardian, old_email in contacts:
            guardian_contact_recorded(
                guardian=guardian, old_email=old_email, agent=acting_user(request)
            )


@admin.register(Child)
class ChildAdmin(HistoryAdmin):
    list_display = [
        "last_name",
        "first_name",
        "birth_date",
        "school",
        "school_class",
        "family",
    ]
    list_select_related = ["family"]
    ordering = ["family__identifier", "birth_date", "first_name"]
    list_filter = ["school", "school_class"]
    search_fields = ["last_name", "first_name", "family__identifier"]
    autocomplete_fields = ["family"]


class ActivationCodeInline(NoAddMixin, admin.TabularInline):
    model = ActivationCode
    fk_name = "user"
    fields = ["created_at", "expires_at", "used_at", "voided_at", "created_by"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names
    extra = 0
    can_delete = False


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    list_display = [
        "username",
        "family",
        "email",
        "is_staff",
        "is_active",
        "last_login",
    ]
    list_filter = ["is_staff", "is_active", "groups"]
    list_select_related = ["family"]
    search_fields = ["username", "email", "family__identifier", "family__name"]
    autocomplete_fields = ["family"]
    fieldsets = [
        *(UserAdmin.fieldsets or ()),
        (gettext_lazy("Family"), {"fields": ["family"]}),
    ]
    inlines = [ActivationCodeInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only administrators touch staff accounts (passwords, activation).
        if obj is not None and obj.is_staff and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only administrators hand out staff rights.
            readonly += ["is_staff", "is_superuser", "groups", "user_permissions"]
        return readonly


class DocumentInline(NoAddMixin, admin.TabularInline):
    """Documents sent by a family, downloaded through a permission-checked
    admin view named `download_view`."""

    download_view = ""
    fields = ["original_name", "content_type", "size", "download"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names
    extra = 0
    can_delete = False

    @admin.display(description=gettext_lazy("file"))
    def download(self, obj: Any) -> str:
        url = reverse(self.download_view, args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))


class ProofInline(DocumentInline):
    model = ProofDocument
    download_view = "admin:familles_proofdocument_download"


class RefusalForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for refusal (sent to the family)"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@admin.register(AddressChangeRequest)
class AddressChangeRequestAdmin(
    FamilySearchMixin, NoAddMixin, NoDeleteMixin, admin.ModelAdmin[AddressChangeRequest]
):
    list_display = [
        "submitted_at",
        "family",
        "postal_code",
        "city",
        "status",
        "decided_by",
    ]
    list_filter = ["status"]
    list_select_related = ["family", "decided_by"]
    search_fields = ["city"]
    inlines = [ProofInline]
    actions = ["validate", "refuse"]
    readonly_fields = [
        "family",
        "current_address",
        "address_line1",
        "address_line2",
        "postal_code",
        "city",
        "status",
        "submitted_at",
        "submitted_by",
        "decided_at",
        "decided_by",
        "refusal_reason",
    ]

    def get_urls(self) -> list[Any]:
        return [
            ProofDownloadView.route(
                self.admin_site,
                "justificatif/<id:pk>/",
                "familles_proofdocument_download",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("current address"))
    def current_address(self, obj: AddressChangeRequest) -> str:
        return obj.family.postal_address

    @admin.action(
        description=gettext_lazy("Validate: apply the new address"),
        permissions=["change"],
    )
    def validate(
        self, request: HttpRequest, queryset: QuerySet[AddressChangeRequest]
    ) -> None:
        done = 0
        for item in queryset:
            try:
                address_change_validate(request=item, agent=acting_user(request))
                done += 1
            except ValidationError as error:
                self.message_user(
                    request, f"{item}: {error.messages[0]}", messages.ERROR
                )
        if done:
            self.message_user(
                request,
                _("%(count)s address(es) applied.") % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(
        description=gettext_lazy("Refuse, with a reason"), permissions=["change"]
    )
    def refuse(
        self, request: HttpRequest, queryset: QuerySet[AddressChangeRequest]
    ) -> TemplateResponse | None:
        form = RefusalForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            for item in queryset:
                try:
                    address_change_refuse(
                        request=item,
                        agent=acting_user(request),
                        reason=form.cleaned_data["reason"],
                    )
                except ValidationError as error:
                    self.message_user(
                        request, f"{item}: {error.messages[0]}", messages.ERROR
                    )
            return None
        return TemplateResponse(
            request,
            "admin/familles/refuse_requests.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Refuse address changes"),
                "crumbs": _changelist_crumbs(self.model),
                "form": form,
                "queryset": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )
