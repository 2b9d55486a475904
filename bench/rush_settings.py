"""Settings of the portal served by bench/payment_rush.py: production's own
(DEBUG off, JSON logs, the database task backend), with three changes for a
local benchmark:

- the Stripe API base is the local stand-in, which portail/settings.py
  refuses outside DEBUG (PAYMENT_RUSH_STRIPE_API_BASE);
- plain HTTP and no collected static files (no manifest);
- the test suite's fast password hasher: one production PBKDF2 check costs
  about 0.6 s of CPU here, so 300 logins would keep the 2-core machine busy
  for a minute and a half before the first payment; the rush measures
  payments. PAYMENT_RUSH_HASHER=production keeps PBKDF2.
"""

import os

from portail.settings import *  # noqa: F403
from portail.settings import STORAGES

STRIPE_API_BASE = os.environ["PAYMENT_RUSH_STRIPE_API_BASE"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if os.environ.get("PAYMENT_RUSH_HASHER") != "production":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
