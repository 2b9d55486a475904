"""The two staff roles, as permission groups (created by a data migration,
kept up to date by `manage.py sync_roles`):

- *Agent de restauration*: families and their logins, attendance, desk
  payments, credits and refunds, blocks, disputes, reports, address
  changes, the history;
- *Administrateur*: all of that, plus tariffs, invoicing runs, merges and
  staff accounts.
"""

from typing import Any

AGENT_GROUP = "Agent de restauration"
ADMIN_GROUP = "Administrateur"

AGENT_PERMISSIONS: dict[str, dict[str, list[str]]] = {
    "familles": {
        "family": ["view", "add", "change"],
        "guardian": ["view", "add", "change"],
        "child": ["view", "add", "change"],
        "user": ["view"],
        "addresschangerequest": ["view", "change"],
        "proofdocument": ["view"],
        "familymerge": ["view"],
    },
    "signalements": {
        "report": ["view", "change"],
        "reportattachment": ["view"],
        "reportupdate": ["view"],
    },
    "factures": {
        "attendance": ["view", "add", "change", "delete"],
        "bracketassignment": ["view", "add"],
        "invoice": ["view"],
        "creditnote": ["view", "add"],
        "invoicedispute": ["view", "add"],
        "activity": ["view"],
        "tariffbracket": ["view"],
        "price": ["view"],
    },
    "paiements": {
        "payment": ["view", "add"],
        "refund": ["view", "add"],
        "paymentoverride": ["view", "add"],
        "checkoutsession": ["view"],
        "webhookevent": ["view"],
    },
}

# On top of the agent's: every permission of the portal's apps, and staff
# accounts and groups.
ADMIN_APPS = ["familles", "factures", "paiements", "signalements"]
ADMIN_EXTRA = [("auth", "group"), ("mfa", "authenticator")]


def sync_roles(apps: Any = None) -> None:
    """Create or update both groups. `apps` is a migration's app registry
    (historical models) or None for the live one."""
    if apps is None:
        from django.apps import apps as live_apps

        apps = live_apps
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")  # noqa: N806
    Permission = apps.get_model("auth", "Permission")  # noqa: N806
    agent_codes = [
        (app, f"{action}_{model}")
        for app, models in AGENT_PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    ]
    agent_perms = [
        perm
        for app, codename in agent_codes
        for perm in Permission.objects.filter(
            content_type__app_label=app, codename=codename
        )
    ]
    agent, _created = Group.objects.get_or_create(name=AGENT_GROUP)
    agent.permissions.set(agent_perms)
    admin_perms = list(
        Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
    )
    for app, model in ADMIN_EXTRA:
        admin_perms += list(
            Permission.objects.filter(
                content_type__app_label=app, content_type__model=model
            )
        )
    admin, _created = Group.objects.get_or_create(name=ADMIN_GROUP)
    admin.permissions.set(admin_perms)
