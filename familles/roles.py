"""What a canteen agent (*agent de restauration*) may do in the admin:
families and their logins, attendance, desk payments, blocks, disputes,
address changes and the history. Running the invoicing, tariffs and staff
accounts stay with administrators (superusers)."""

from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet

AGENT_PERMISSIONS = {
    "familles": {
        "family": ["view", "add", "change"],
        "guardian": ["view", "add", "change"],
        "child": ["view", "add", "change"],
        "user": ["view"],
        "addresschangerequest": ["view", "change"],
        "proofdocument": ["view"],
        "dossierchange": ["view"],
    },
    "factures": {
        "attendance": ["view", "add", "change", "delete"],
        "bracketassignment": ["view", "add"],
        "invoice": ["view"],
        "creditnote": ["view", "add"],
        "invoicedispute": ["view", "add"],
        "activity": ["view"],
        "tariffbracket": ["view"],
    },
    "paiements": {
        "payment": ["view", "add"],
        "paymentoverride": ["view", "add"],
        "checkoutsession": ["view"],
        "webhookevent": ["view"],
    },
}


def agent_permissions() -> QuerySet[Permission]:
    query = Q(pk__in=[])
    for app, models in AGENT_PERMISSIONS.items():
        for model, actions in models.items():
            query |= Q(
                content_type__app_label=app,
                content_type__model=model,
                codename__in=[f"{action}_{model}" for action in actions],
            )
    return Permission.objects.filter(query)
