"""Staff pages speak French: every column of every list in the admin, and
every field of the project's models an agent may see, has a French name."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.utils.translation import override

APPS = ["familles", "factures", "paiements", "signalements", "fusions", "portail"]
# The same word in both languages.
SAME = {"total", "note", "message", "code", "type", "pages", "date", "ID"}
SAME |= {"quotient familial"}
# Kept for the code, never shown to an agent (no admin form or list has them).
HIDDEN = {
    "id",
    "token",
    "request_key",
    "idempotency_key",
    "history_id",
    "history_type",
    "history_user",
    "history_date",
    "history_change_reason",
}


def untranslated(text) -> bool:  # noqa: ANN001
    with override("en"):
        english = str(text)
    with override("fr"):
        french = str(text)
    return english == french and english not in SAME


def test_every_list_column_is_named_in_french():
    missing = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in APPS:
            continue
        for name in model_admin.list_display:
            if name == "__str__":
                continue
            label = label_for_field(name, model, model_admin)
            if untranslated(label):
                missing.append(f"{model.__name__}.{name}: {label}")

    assert missing == []


@pytest.mark.parametrize("app", APPS)
def test_every_model_field_an_agent_sees_is_named_in_french(app):
    missing = []
    for model in apps.get_app_config(app).get_models():
        if model.__name__.startswith("Historical") or model not in admin.site._registry:
            continue
        for field in model._meta.get_fields():
            name = getattr(field, "verbose_name", None)
            if name is None or field.name in HIDDEN or not field.concrete:
                continue
            if untranslated(name):
                missing.append(f"{model.__name__}.{field.name}: {name}")

    assert missing == []
