"""A payment's and a refund's method is one of its choices, as the pages
that name it (the statement, the payment list) expect."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("paiements", "0008_payment_left_flags"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "method__in",
                        ["card_online", "payfip", "card_desk", "cash", "cheque"],
                    )
                ),
                name="payment_method_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="refund",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("method__in", ["cash", "cheque", "provider", "treasury"])
                ),
                name="refund_method_known",
            ),
        ),
    ]
