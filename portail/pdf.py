"""How every PDF of the portal is rendered by WeasyPrint: nothing is fetched
(only inline `data:` URLs), and the fetcher and font configuration are kept
per thread (building them cost a third of a short page's layout). WeasyPrint's
default fetcher would read `file:` and `http:` URLs."""

import ssl
import threading

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

# Never used to connect (the fetcher allows no network scheme); given so that
# WeasyPrint does not build one with the system's CAs for every document.
_NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
_local = threading.local()


def url_fetcher() -> URLFetcher:
    """This thread's fetcher, which refuses anything but inline `data:` URLs."""
    fetcher = getattr(_local, "url_fetcher", None)
    if fetcher is None:
        fetcher = _local.url_fetcher = URLFetcher(
            ssl_context=_NO_TLS, allowed_protocols=("data",)
        )
    return fetcher


def font_config() -> FontConfiguration:
    """This thread's font configuration (Pango's objects are not
    thread-safe: not shared between threads)."""
    config = getattr(_local, "font_config", None)
    if config is None:
        config = _local.font_config = FontConfiguration()
    return config


def html_pdf(html: str) -> bytes:
    """A one-off document (a receipt, a credentials letter) as PDF."""
    return HTML(string=html, url_fetcher=url_fetcher()).write_pdf(
        font_config=font_config()
    )
