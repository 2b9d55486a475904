"""Settings of the portal served by bench/pages.py: the portal's own, with one
more page, the baseline (see bench/pages_urls.py)."""

from portail.settings import *  # noqa: F403

ROOT_URLCONF = "bench.pages_urls"
