#!/usr/bin/env bash
# The deployment steps that can run on this machine, with production
# settings: migrate, collectstatic, gunicorn + the task worker, the health
# probe and a static file through gunicorn, then a backup restored into a new
# database. Used by .ci/run; needs PostgreSQL on 127.0.0.1 and the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
db="portail_smoke_$$"
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/${db}"
export PORTAIL_ENV=production
export DJANGO_SECRET_KEY="smoke-$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
export DJANGO_ALLOWED_HOSTS=127.0.0.1
export DJANGO_SECURE_SSL_REDIRECT=0   # no TLS proxy in this check
export STRIPE_SECRET_KEY=sk_test_smoke STRIPE_WEBHOOK_SECRET=whsec_smoke
export PORTAIL_SERVICE_PHONE="0590 00 00 00" PORTAIL_SERVICE_EMAIL=restauration@example.org
export PORTAIL_SERVICE_HOURS="du lundi au vendredi, de 8 h à 12 h"
export PORTAIL_PUBLIC_URL="http://127.0.0.1:${port}"
export PORTAIL_VAR_DIR="$work/var" DJANGO_STATIC_ROOT="$work/static"
export GUNICORN_BIND="127.0.0.1:${port}" GUNICORN_WORKERS=2

cleanup() {
  kill "${web:-}" "${worker:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS ${db}" \
    -c "DROP DATABASE IF EXISTS ${db}_restored" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE ${db}"
$py manage.py migrate --noinput -v0
$py manage.py createcachetable
$py manage.py collectstatic --noinput -v0
DJANGO_SECURE_SSL_REDIRECT=1 $py manage.py check --deploy --fail-level WARNING
$py manage.py reconcile_payments

.venv/bin/gunicorn -c deploy/gunicorn.conf.py portail.wsgi >"$work/gunicorn.log" 2>&1 & web=$!
$py manage.py db_worker --no-reload --no-startup-delay --queue-name '*' >"$work/worker.log" 2>&1 & worker=$!

for _ in $(seq 1 40); do
  curl -sf -o /dev/null "http://127.0.0.1:${port}/health/" && break
  sleep 0.5
done
health=$(curl -s "http://127.0.0.1:${port}/health/")
echo "health: $health"
echo "$health" | grep -q '"status": "ok"'
curl -sf -o /dev/null "http://127.0.0.1:${port}$(curl -s "http://127.0.0.1:${port}/compte/login/" | grep -o '/static/css/portail\.[a-f0-9]*\.css' | head -1)"
echo "static file served through gunicorn (whitenoise, hashed name)"
kill -0 "$worker"   # the worker is still running
echo "worker running"

# Backup, then restore into a new database and compare.
DJANGO_DEBUG=0 $py - <<'PY'
import os
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portail.settings")
django.setup()
from familles.models import Family
Family.objects.create(identifier="PB-900001", name="Sauvegarde", address_line1="1 rue", postal_code="97170", city="Petit-Bourg")
PY
dump=$(deploy/backup.sh "$work/backups" | tail -1)
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE ${db}_restored"
deploy/restore.sh "$dump" "postgres://postgres@127.0.0.1:5432/${db}_restored"
original=$(psql -tA -h 127.0.0.1 -U postgres -d "$db" -c "SELECT count(*), string_agg(identifier, ',') FROM familles_family")
restored=$(psql -tA -h 127.0.0.1 -U postgres -d "${db}_restored" -c "SELECT count(*), string_agg(identifier, ',') FROM familles_family")
echo "families: original=$original restored=$restored"
[ "$original" = "$restored" ]
echo "smoke test passed"
