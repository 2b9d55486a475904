"""Charts drawn on the server as SVG: no script, nothing fetched, readable
without colour (every bar carries its label and its value in text) and
shown beside the table that says the same."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 440
ROW = 30
LABEL = 175
VALUE = 95
BAR_HEIGHT = 18


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | int
    text: str  # the value as shown ("1 234,50 €", "12")


def bar_chart(title: str, bars: Sequence[Bar], *, chart_id: str) -> SafeString:
    """Horizontal bars, the longest for the largest value: label on the
    left, value on the right of its bar, the title for screen readers."""
    largest = max((bar.value for bar in bars), default=0) or 1
    room = WIDTH - LABEL - VALUE
    height = ROW * len(bars) + 4
    rows = []
    for index, bar in enumerate(bars):
        top = index * ROW + 4
        length = round(room * max(bar.value, 0) / largest) if bar.value else 0
        rows.append(
            (
                top + BAR_HEIGHT - 4,
                bar.label,
                LABEL,
                top,
                length,
                BAR_HEIGHT,
                LABEL + length + 6,
                top + BAR_HEIGHT - 4,
                bar.text,
            )
        )
    body = format_html_join(
        "",
        '<text x="0" y="{}" class="chart-label">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" class="chart-bar"></rect>'
        '<text x="{}" y="{}" class="chart-value">{}</text>',
        rows,
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}">'
        '<title id="{}">{}</title>{}</svg>',
        WIDTH,
        height,
        chart_id,
        chart_id,
        title,
        body,
    )
