"""Invoice PDFs against WeasyPrint's floor, and the month's paper batch.

1. One invoice: the month's paper invoice with the most lines that still has
   something to pay (so its payment box is printed), fetched as the admin's
   PDF view does and rendered by `factures.pdf.invoice_pdf` (what a parent's
   download and the admin's PDF link call), against a minimal one-page
   document (a heading and a three-row table in the same font, DejaVu Sans)
   rendered by WeasyPrint's defaults, `HTML(string=...).write_pdf()`. Both
   warm (three renders each first), then RUNS renders of each, interleaved so
   that the machine's noise falls on both; medians of wall and CPU time.
   Target: the invoice within 1.5 x the minimal document (wall time).
   For information, the minimal document is also rendered with the set-up
   `factures.pdf` uses (kept font configuration, no-network fetcher): the
   ratio to that one is what the invoice's content itself costs.
2. The paper batch: `factures.pdf.invoices_pdf_write` over the month's
   paper invoices (`factures.printing.paper_invoices`) into a temporary
   file, as the background print does, the first 250 then the first
   1,000. Each size runs in a child process of its own (forked), warmed by
   one invoice, so that its max RSS (`resource.getrusage`) is its own: wall
   and CPU time, and how far the RSS rose above the child's RSS before the
   batch. Memory is bounded if
   the rise does not grow with the batch. Python's own peak (tracemalloc) is
   measured in separate children, by default for 50 invoices only:
   tracemalloc makes WeasyPrint about 4.5 x slower (--traced 250,1000 to
   trace the batch sizes too, some 15 minutes).

Prints the figures and appends them to bench/results/pdf.jsonl.

Usage, on a database of its own. On an empty one the first run builds the
data (about a minute): bench/generate.py for 2,700 families over
September-October 2026 (September invoiced, then paid, credited...), then
October invoiced by the real run, as on the day its paper batch is printed
(about 1,080 paper invoices, all to pay). Later runs reuse it. On another
dataset it takes the latest invoiced month.
  createdb -h 127.0.0.1 -U postgres portail_bench_pdf
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_pdf
  DJANGO_DEBUG=1 .venv/bin/python manage.py migrate
  DJANGO_DEBUG=1 .venv/bin/python manage.py createcachetable
  .venv/bin/python bench/pdf.py [--runs 15] [--sizes 250,1000] [--traced 50]
"""

import argparse
import datetime
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import rss, setup_django, write_results  # noqa: E402

# Four families in ten want paper invoices: this many give over 1,000.
FAMILIES = 2700
FIRST_MONTH = "2026-09"
TARGET_RATIO = 1.5
MINIMAL = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Minimal</title>
<style>
  @page { size: A4; margin: 2cm; }
  body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; }
  table { border-collapse: collapse; }
  th, td { padding: 2pt 6pt; border-bottom: .5pt solid #bbb; text-align: left; }
</style></head>
<body><h1>Facture F2026-000001</h1>
<table>
  <tr><th>Enfant</th><th>Montant</th></tr>
  <tr><td>Kenzo</td><td>54,00 €</td></tr>
  <tr><td>Léa</td><td>36,00 €</td></tr>
</table></body></html>"""


def paper_batch(period: datetime.date):  # noqa: ANN201
    """The invoices the background print puts in the month's PDF."""
    from factures.printing import paper_invoices

    return paper_invoices(period)


def month_ready(needed: int) -> datetime.date:
    """The latest invoiced month, built first on an empty database."""
    from factures.models import Invoice
    from factures.periods import next_month, parse_period
    from factures.services import invoice_issue_month

    latest = (
        Invoice.objects.order_by("-period").values_list("period", flat=True).first()
    )
    if latest is None:
        from generate import main as generate

        print(f"Empty database: generating {FAMILIES} families...", flush=True)
        generate(FAMILIES, FIRST_MONTH, 2)  # invoices September, not October
        latest = next_month(parse_period(FIRST_MONTH))
        start = time.perf_counter()
        result = invoice_issue_month(
            period=latest, issued_by=None, today=next_month(latest)
        )
        print(
            f"{latest:%Y-%m}: {result.created_count} invoices issued "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    count = paper_batch(latest).count()
    if count < needed:
        sys.exit(
            f"{latest:%Y-%m} has {count} paper invoices, {needed} needed: "
            "run on an empty database (see the docstring)."
        )
    return latest


def clock(action: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU seconds of `action`."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def single(period: datetime.date, runs: int) -> dict[str, Any]:
    from weasyprint import HTML

    from factures.models import Invoice, InvoiceLine
    from factures.pdf import _font_config, _render, _url_fetcher, invoice_pdf

    due = list(paper_batch(period).filter(due__gt=0).values_list("pk", flat=True)[:200])
    lines = Counter(
        InvoiceLine.objects.filter(invoice__in=due).values_list("invoice", flat=True)
    )
    pk = max(due, key=lambda pk: lines[pk])

    def invoice() -> Invoice:
        return Invoice.objects.with_balance().get(pk=pk)

    pages = len(_render([invoice()], first_page=1, last=True).pages)
    actions = {
        "invoice": lambda fresh: invoice_pdf(fresh),
        "minimal": lambda _: HTML(string=MINIMAL).write_pdf(),
        "minimal_same_setup": lambda _: HTML(
            string=MINIMAL, url_fetcher=_url_fetcher()
        ).write_pdf(font_config=_font_config()),
    }
    wall: dict[str, list[float]] = {name: [] for name in actions}
    cpu: dict[str, list[float]] = {name: [] for name in actions}
    for run in range(3 + runs):
        for name, action in actions.items():
            fresh = invoice()  # as each request fetches it: no cached lines
            seconds = clock(lambda action=action, fresh=fresh: action(fresh))
            if run >= 3:
                wall[name].append(seconds[0])
                cpu[name].append(seconds[1])
    ms = {name: statistics.median(times) * 1000 for name, times in wall.items()}
    cpu_ms = {name: statistics.median(times) * 1000 for name, times in cpu.items()}
    return {
        "invoice": invoice().number,
        "invoice_lines": lines[pk],
        "invoice_pages": pages,
        "runs": runs,
        "invoice_ms": round(ms["invoice"], 1),
        "minimal_ms": round(ms["minimal"], 1),
        "ratio": round(ms["invoice"] / ms["minimal"], 2),
        "target_met": ms["invoice"] <= TARGET_RATIO * ms["minimal"],
        "invoice_cpu_ms": round(cpu_ms["invoice"], 1),
        "minimal_cpu_ms": round(cpu_ms["minimal"], 1),
        "cpu_ratio": round(cpu_ms["invoice"] / cpu_ms["minimal"], 2),
        "minimal_same_setup_ms": round(ms["minimal_same_setup"], 1),
        "ratio_to_same_setup": round(ms["invoice"] / ms["minimal_same_setup"], 2),
    }


def batch_child(
    period: datetime.date, size: int, traced: bool, pipe: Connection
) -> None:
    from factures.pdf import invoices_pdf, invoices_pdf_write

    invoices_pdf(paper_batch(period)[:1])  # a worker that has printed before
    before = rss() // 1024
    if traced:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryFile() as output:  # as factures.printing writes it
        invoices_pdf_write(paper_batch(period)[:size], output)
        pdf_bytes = output.tell()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    pipe.send(
        {
            "size": size,
            "seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1),
            "ms_per_invoice": round(wall / size * 1000),
            "rss_before_mb": round(before / 1024),
            "max_rss_mb": round(max_rss / 1024),
            "rss_rise_mb": round((max_rss - before) / 1024),
            "rss_rise_kb_per_invoice": round((max_rss - before) / size),
            "pdf_kb": pdf_bytes // 1024,
        }
        | (
            {
                "tracemalloc_peak_mb": round(peak / 2**20, 1),
                "tracemalloc_kb_per_invoice": round(peak / 1024 / size),
            }
            if traced
            else {}
        )
    )


def batch(period: datetime.date, size: int, *, traced: bool) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()  # the child opens its own
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=batch_child, args=(period, size, traced, sender))
    child.start()
    figures = receiver.recv()
    child.join()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sizes", default="250,1000")
    parser.add_argument("--traced", default="50")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    traced = [int(size) for size in options.traced.split(",") if size]

    setup_django()
    from factures.pdf import CHUNK_SIZE

    period = month_ready(max(sizes + traced))
    load = os.getloadavg()[0]
    figures: dict[str, Any] = {"month": f"{period:%Y-%m}", "chunk_size": CHUNK_SIZE}
    figures["single"] = single(period, options.runs)
    print(
        "One invoice {invoice} ({invoice_lines} lines, {invoice_pages} page): "
        "{invoice_ms} ms; minimal document {minimal_ms} ms; ratio {ratio} "
        "(CPU {cpu_ratio}; to the minimal document with the same set-up "
        "{ratio_to_same_setup})".format(**figures["single"]),
        flush=True,
    )
    figures["batches"] = []
    for size in sizes:
        result = batch(period, size, traced=False)
        figures["batches"].append(result)
        print(
            "Paper batch of {size}: {seconds} s ({ms_per_invoice} ms an invoice), "
            "max RSS {max_rss_mb} MB, {rss_rise_mb} MB above the start "
            "({rss_rise_kb_per_invoice} kB an invoice)".format(**result),
            flush=True,
        )
    figures["traced"] = []
    for size in traced:
        result = batch(period, size, traced=True)
        figures["traced"].append(result)
        print(
            "Traced batch of {size}: tracemalloc peak {tracemalloc_peak_mb} MB "
            "({tracemalloc_kb_per_invoice} kB an invoice)".format(**result),
            flush=True,
        )
    small, large = figures["batches"][0], figures["batches"][-1]
    if large["size"] > small["size"]:
        # Bounded: the rise of the larger batch stays near the smaller one's.
        figures["rss_rise_growth"] = round(
            large["rss_rise_mb"] / max(small["rss_rise_mb"], 1), 2
        )
        figures["batch_size_growth"] = round(large["size"] / small["size"], 2)
        figures["memory_bounded"] = figures["rss_rise_growth"] < 1.5
        figures["kb_per_extra_invoice"] = round(
            (large["rss_rise_mb"] - small["rss_rise_mb"])
            * 1024
            / (large["size"] - small["size"])
        )
    figures["load_average"] = [round(load, 1), round(os.getloadavg()[0], 1)]
    write_results("pdf", figures)


if __name__ == "__main__":
    main()
