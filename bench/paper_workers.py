"""A month's paper batch printed through the workers while e-mails leave.

Production's layout (deploy/systemd): one `db_worker` on the default queue
(e-mails) and one on the "impressions" queue (the paper batch's chunks).
This starts both as separate processes, as systemd would, asks for the
month's paper batch as the agent's page does, and meanwhile queues one
"invoice available" e-mail every INTERVAL seconds, as the portal would
during the day. E-mails go over SMTP to a sink in this process, so they
really leave.

Reports: the batch's time, invoices and pages, whether it was ever without
news for the patience (`PRINT_PATIENCE`, when the page would take it for
lost), the longest gap between two pieces of news, the print worker's peak
memory; each e-mail's wait from queued to sent (median, max) and how many
reached the sink. Appends them to bench/results/paper_workers.jsonl.

`--one-worker` starts a single worker on every queue instead (`make run`'s
layout, a small commune's server): e-mails then wait for the chunk being
printed, some twenty seconds.

The month is cut to PAPER paper invoices (the others are marked paperless)
and the tasks already queued are deleted: run it on a copy.

Usage, after `bench/generate.py 100000 2026-09 2` into portail_bench_breadth:
  dropdb -h 127.0.0.1 -U postgres --if-exists portail_bench_paper
  createdb -h 127.0.0.1 -U postgres -T portail_bench_breadth portail_bench_paper
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_paper \
    .venv/bin/python bench/paper_workers.py 2026-09 10000 [--one-worker]
"""

import os
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, setup_django, write_results  # noqa: E402

INTERVAL = 5.0  # seconds between two e-mails queued
POLL = 1.0


class _SmtpSink(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's backend: every message is accepted and
    its arrival time kept."""

    arrivals: list[float] = []

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 sink")
        while raw := self.rfile.readline():
            command = raw.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 sink")
            elif command == "DATA":
                self.reply("354 end with .")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
                self.arrivals.append(time.time())
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.reply("250 ok")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(month: str, paper: int, one_worker: bool) -> None:
    sink = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpSink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    var_dir = tempfile.mkdtemp(prefix="portail-bench-paper-")
    os.environ.update(
        {
            "DJANGO_EMAIL_HOST": "127.0.0.1",
            "DJANGO_EMAIL_PORT": str(sink.server_address[1]),
            "PORTAIL_VAR_DIR": var_dir,
        }
    )
    setup_django()
    from django.core.files.storage import default_storage
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from factures.models import PRINT_PATIENCE, Invoice, PaperBatch
    from factures.periods import parse_period
    from factures.printing import paper_batch_request, paper_invoices
    from factures.tasks import send_invoices_available
    from familles.models import User

    period = parse_period(month)
    chosen = list(paper_invoices(period).values_list("pk", flat=True)[:paper])
    if len(chosen) < paper:
        sys.exit(f"{month} has {len(chosen)} paper invoices, fewer than {paper}.")
    Invoice.objects.filter(period=period, paperless=False).exclude(
        pk__in=chosen
    ).update(paperless=True)
    DBTaskResult.objects.all().delete()
    PaperBatch.objects.all().delete()
    mailed = iter(
        Invoice.objects.filter(period=period, paperless=True)
        .filter(family__guardians__email__contains="@")
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()[:2000]
    )
    agent, _new = User.objects.get_or_create(
        username="bench-agent", defaults={"is_staff": True}
    )

    layouts = [["*"]] if one_worker else [["default"], ["impressions"]]
    workers = []
    for queues in layouts:
        log = open(Path(var_dir) / f"worker-{queues[0].strip('*') or 'all'}.log", "w")  # noqa: SIM115
        workers.append(
            subprocess.Popen(  # noqa: S603 - our own command
                [
                    sys.executable,
                    str(ROOT / "manage.py"),
                    "db_worker",
                    "--no-reload",
                    "--queue-name",
                    queues[0],
                ],
                env=os.environ,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    printer = workers[-1]
    time.sleep(3)  # the workers start
    started = time.time()
    batch = paper_batch_request(period=period, requested_by=agent)
    print(f"batch {batch.pk}: {paper} paper invoices of {month}", flush=True)
    mails, news, lost_seen = [], [], False
    last_touch, longest_gap, next_mail, next_print = None, 0.0, started, started
    try:
        while True:
            now = time.time()
            if now >= next_mail:
                result = send_invoices_available.enqueue(invoice_ids=[next(mailed)])
                mails.append(result.id)
                next_mail += INTERVAL
            batch.refresh_from_db()
            if batch.touched_at != last_touch:
                if last_touch is not None:
                    gap = (batch.touched_at - last_touch).total_seconds()
                    longest_gap = max(longest_gap, gap)
                last_touch = batch.touched_at
                news.append(now)
            lost_seen = lost_seen or batch.lost
            if batch.status not in PaperBatch.ON_ITS_WAY:
                break
            if now - started > 3 * 3600:
                sys.exit("the batch took more than three hours: stopped")
            if now >= next_print:
                next_print += 60
                print(
                    f"  {now - started:6.0f} s: {batch.printed} printed, "
                    f"{len(mails)} e-mails queued",
                    flush=True,
                )
            time.sleep(POLL)
        elapsed = time.time() - started
        deadline = time.time() + 120
        while (
            DBTaskResult.objects.filter(pk__in=mails, finished_at__isnull=True).exists()
            and time.time() < deadline
        ):
            time.sleep(POLL)
        peak_mb = _peak_rss_mb(printer.pid)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        sink.shutdown()
    waits = [
        (result.finished_at - result.enqueued_at).total_seconds()
        for result in DBTaskResult.objects.filter(pk__in=mails)
        if result.finished_at is not None and result.status == "SUCCESSFUL"
    ]
    unsent = len(mails) - len(waits)
    figures = {
        "month": month,
        "layout": "one worker, every queue" if one_worker else "two workers",
        "paper_invoices": paper,
        "status": batch.status,
        "printed": batch.invoice_count,
        "pages": batch.pages,
        "files": len(batch.files),
        "files_mb": round(
            sum(default_storage.size(file["name"]) for file in batch.files) / 2**20, 1
        ),
        "seconds": round(elapsed, 1),
        "invoices_per_second": round(batch.invoice_count / elapsed, 1),
        "news": len(news),
        "longest_gap_between_news_s": round(longest_gap, 1),
        "patience_s": PRINT_PATIENCE.total_seconds(),
        "ever_taken_for_lost": lost_seen,
        "print_worker_peak_mb": round(peak_mb, 1),
        "emails_queued": len(mails),
        "emails_sent": len(waits),
        "emails_not_sent": unsent,
        "emails_at_sink": len(_SmtpSink.arrivals),
        "email_wait_median_s": round(statistics.median(waits), 2) if waits else None,
        "email_wait_max_s": round(max(waits), 2) if waits else None,
        "at": timezone.now().isoformat(timespec="seconds"),
    }
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    write_results("paper_workers", figures)
    if batch.status != PaperBatch.Status.READY or batch.invoice_count != paper:
        sys.exit("the batch was not printed whole")
    if unsent:
        sys.exit(f"{unsent} e-mail(s) not sent")


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(arguments) != 2:
        sys.exit(__doc__)
    main(arguments[0], int(arguments[1]), "--one-worker" in sys.argv)
