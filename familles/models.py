from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

identifier_validator = RegexValidator(
    r"^[A-Z]{2,5}-\d{6}$",
    _("A family identifier is a prefix, a dash and six digits, e.g. PB-004217."),
)


class PostalAddress:
    """A postal address of four fields (the family's, or the one it asks
    to move to), written as on an envelope."""

    address_line1: str
    address_line2: str
    postal_code: str
    city: str

    @property
    def postal_address(self) -> str:
        lines = [
            self.address_line1,
            self.address_line2,
            f"{self.postal_code} {self.city}",
        ]
        return "\n".join(line for line in lines if line.strip())


class DossierHistory(models.Model):
    """What the history of a family's dossier (django-simple-history) keeps
    beyond each version: the form submission that made it, so that the same
    submission applied twice changes nothing more. Set on the instance as
    `_history_request_key` before it is saved."""

    request_key = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        abstract = True


class Family(PostalAddress, models.Model):
    """A household: the unit that is invoiced, pays and logs in."""

    identifier = models.CharField(
        _("family identifier"),
        max_length=12,
        unique=True,
        validators=[identifier_validator],
        help_text=_("Printed at the bottom of every invoice; it is the login."),
    )
    name = models.CharField(_("family name"), max_length=150)
    address_line1 = models.CharField(_("address"), max_length=200)
    address_line2 = models.CharField(
        _("address (continued)"), max_length=200, blank=True
    )
    postal_code = models.CharField(_("postal code"), max_length=10)
    city = models.CharField(_("city"), max_length=100)
    quotient_familial = models.DecimalField(
        _("quotient familial"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Monthly income divided by the number of shares (CAF)."),
    )
    paperless = models.BooleanField(_("paperless invoices"), default=False)
    paperless_changed_at = models.DateTimeField(
        _("paperless choice made on"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created on"), auto_now_add=True)
    # A family merged into another stays as a record pointing to the family
    # kept, so that an identifier printed on paper still leads somewhere.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="merged_families",
    )
    merged_at = models.DateTimeField(
        _("merged on"), null=True, blank=True, editable=False
    )

    history = HistoricalRecords(bases=[DossierHistory])

    class Meta:
        verbose_name = _("family")
        verbose_name_plural = _("families")
        ordering = ["identifier"]
        permissions = [("merge_family", _("Can merge duplicate families"))]

    def __str__(self) -> str:
        return f"{self.identifier} – {self.name}"

    def _assignments_on(self, day: datetime.date) -> models.QuerySet:
        """The bracket assignments from `day` or earlier, the one in force
        on `day` first (the history is in `factures.BracketAssignment`)."""
        return self.bracket_assignments.filter(valid_from__lte=day).order_by(
            "-valid_from"
        )

    @property
    def current_bracket_label(self) -> str | None:
        """The label of the bracket in force today, read alone: the family
        file shows nothing else of it (a third cheaper than reading the
        bracket with its assignment)."""
        return (
            self._assignments_on(timezone.localdate())
            .values_list("bracket__label", flat=True)
            .first()
        )


class Guardian(models.Model):
    """A *responsable*: a parent or guardian of the family's children."""

    family = models.ForeignKey(
        Family,
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        related_name="guardians",
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("e-mail address"), blank=True)
    phone_mobile = PhoneNumberField(_("mobile phone"), blank=True)
    phone_home = PhoneNumberField(_("home phone"), blank=True)
    phone_work = PhoneNumberField(_("work phone"), blank=True)

    history = HistoricalRecords(bases=[DossierHistory])

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        # By the foreign key's column: ordering by the relation itself joins
        # its table to sort by its own ordering, on every read.
        ordering = ["family_id", "pk"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Child(models.Model):
    family = models.ForeignKey(
        Family,
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        related_name="children",
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    birth_date = models.DateField(_("birth date"))
    school = models.CharField(_("school"), max_length=150, blank=True)
    school_class = models.CharField(_("class"), max_length=50, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("child")
        verbose_name_plural = _("children")
        # By the foreign key's column: ordering by the relation itself joins
        # its table to sort by its own ordering, on every read.
        ordering = ["family_id", "birth_date", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class User(AbstractUser):
    """A login. Parents' logins belong to a family (normally one, several while
    duplicates wait to be merged) and use the family identifier as username;
    staff logins belong to no family."""

    family = models.ForeignKey(
        Family,
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="logins",
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("login")  # type: ignore[assignment]
        verbose_name_plural = _("logins")  # type: ignore[assignment]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(family__isnull=True) | models.Q(is_staff=False),
                name="user_staff_has_no_family",
            )
        ]

    @property
    def is_parent(self) -> bool:
        return self.family_id is not None and not self.is_staff


class ActivationCodeQuerySet(models.QuerySet["ActivationCode"]):
    def open(self) -> ActivationCodeQuerySet:
        """Codes neither used nor voided (they may have expired)."""
        return self.filter(used_at__isnull=True, voided_at__isnull=True)


class ActivationCode(models.Model):
    """A login's first password: random, single use, with an expiry date.

    The code is kept twice: as a keyed digest (HMAC with the secret key), to
    find it at login with one indexed query whatever the identifier typed, and
    encrypted (`familles.crypto`), so that documents printed while it is valid
    (credentials letter, invoices) can carry it. The encrypted copy is erased
    as soon as the code is used, voided by a newer one, or found expired.
    A slow password hash buys nothing here: the code is random (about 59 bits)
    and the digest cannot be computed without the secret key.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.CASCADE,
        related_name="activation_codes",
    )
    code_digest = models.CharField(max_length=64, db_index=True, editable=False)
    code_encrypted = models.TextField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("issued on"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires on"))
    used_at = models.DateTimeField(_("used on"), null=True, blank=True)
    voided_at = models.DateTimeField(_("voided on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = ActivationCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")
        ordering = ["-created_at"]
        constraints = [
            # Issuing a new code voids the previous one: one open code a login.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(used_at__isnull=True, voided_at__isnull=True),
                name="activationcode_one_open_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} – {timezone.localtime(self.created_at):%d/%m/%Y}"

    def is_usable(self, now: datetime.datetime) -> bool:
        return self.used_at is None and self.voided_at is None and now < self.expires_at


def normalize_code(raw_code: str) -> str:
    """Codes are printed in groups (ABCD-EFGH-JKLM); typed with or without the
    dashes or spaces, in any case."""
    return "".join(ch for ch in raw_code.upper() if ch.isalnum())


def code_digest(raw_code: str) -> str:
    return salted_hmac(
        "portail.familles.activation-code", normalize_code(raw_code), algorithm="sha256"
    ).hexdigest()


class AddressChangeRequest(PostalAddress, models.Model):
    """A family moving house: the new address waits for an agent, who checks
    the proof documents and validates (the address is applied) or refuses
    (with a reason)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        VALIDATED = "validated", _("validated")
        REFUSED = "refused", _("refused")

    family = models.ForeignKey(
        Family,
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        related_name="address_requests",
    )
    address_line1 = models.CharField(_("address"), max_length=200)
    address_line2 = models.CharField(
        _("address (continued)"), max_length=200, blank=True
    )
    postal_code = models.CharField(_("postal code"), max_length=10)
    city = models.CharField(_("city"), max_length=100)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    submitted_at = models.DateTimeField(_("submitted on"), default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided on"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    refusal_reason = models.TextField(_("reason for refusal"), blank=True)
    request_key = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        verbose_name = _("address change request")
        verbose_name_plural = _("address change requests")
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.family} – {timezone.localtime(self.submitted_at):%d/%m/%Y}"


def private_upload_path(instance: PrivateDocument, filename: str) -> str:
    # Never the family's file name: a random one, under a private folder.
    return f"{instance.FOLDER}/{timezone.now():%Y/%m}/{instance.token}"


class PrivateDocument(models.Model):
    """A PDF, JPEG or PNG sent by a family, stored in the private storage and
    served only through a view that checks who asks (never a public URL)."""

    FOLDER = "documents"

    token = models.CharField(max_length=64, unique=True, editable=False)
    file = models.FileField(_("file"), upload_to=private_upload_path)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("file type"), max_length=50)
    size = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(_("sent on"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.original_name


class ProofDocument(PrivateDocument):
    """A *justificatif* attached to a change of address."""

    FOLDER = "justificatifs"

    request = models.ForeignKey(
        AddressChangeRequest,
        verbose_name=_("request"),
        on_delete=models.PROTECT,
        related_name="proofs",
    )

    class Meta(PrivateDocument.Meta):
        verbose_name = _("proof document")
        verbose_name_plural = _("proof documents")


class FamilyMerge(models.Model):
    """Who merged which family into which, when, and what moved."""

    kept = models.ForeignKey(
        Family,
        verbose_name=_("family kept"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    merged = models.ForeignKey(
        Family,
        verbose_name=_("family merged"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    merged_at = models.DateTimeField(_("merged on"), default=timezone.now)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    summary = models.JSONField(_("what moved"), default=dict)

    class Meta:
        verbose_name = _("family merge")
        verbose_name_plural = _("family merges")
        ordering = ["-merged_at"]
        constraints = [
            models.UniqueConstraint(fields=["merged"], name="familymerge_once")
        ]

    def __str__(self) -> str:
        return f"{self.merged} → {self.kept}"
