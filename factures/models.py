from django.db import models
from django.utils.translation import gettext_lazy as _


class TariffBracket(models.Model):
    """A *tranche tarifaire*: families whose *quotient familial* (the household's
    monthly income divided by its number of shares, computed by the family
    allowance office) falls in [qf_min, qf_max] pay the bracket's meal prices.

    Prices per activity and their validity dates come with the invoicing work.
    """

    code = models.CharField(_("code"), max_length=10, unique=True)
    label = models.CharField(_("label"), max_length=100)
    qf_min = models.DecimalField(
        _("minimum quotient familial"), max_digits=10, decimal_places=2, default=0
    )
    qf_max = models.DecimalField(
        _("maximum quotient familial"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Leave empty for the highest bracket."),
    )

    class Meta:
        verbose_name = _("tariff bracket")
        verbose_name_plural = _("tariff brackets")
        ordering = ["qf_min"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(qf_max__isnull=True)
                | models.Q(qf_max__gte=models.F("qf_min")),
                name="tariffbracket_range_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.label}"
