"""gunicorn settings for Portail Familles (`gunicorn -c deploy/gunicorn.conf.py
portail.wsgi`).

- workers: 2 × cores + 1 sync workers. Pages are short database-bound
  requests; PDFs (WeasyPrint) take up to a second or two of CPU, which is
  why there is no thread pool: a slow PDF holds one worker, not the others.
- timeout 60 s: the longest page is the month's paper batch, produced from
  the admin; anything slower is a fault to see in the logs.
- max_requests with jitter: workers are recycled now and then, which bounds
  the memory WeasyPrint's caches can take.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
max_requests = 1000
max_requests_jitter = 100
# Logs go to the journal; the portal's own logs are JSON lines.
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"
