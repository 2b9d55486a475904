#!/usr/bin/env bash
# Back up the portal: the PostgreSQL database (pg_dump custom format) and the
# private uploads (proofs of address, report attachments).
# Usage: deploy/backup.sh DESTINATION_DIR
# Reads DATABASE_URL and PORTAIL_VAR_DIR from the environment (the same
# environment file as the portal's services).
set -euo pipefail
# The dumps hold every family's data: readable by their owner alone.
umask 077
dest=${1:?usage: backup.sh DESTINATION_DIR}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dest"
pg_dump --format=custom --no-owner --file "$dest/portail-$stamp.dump" "${DATABASE_URL:?DATABASE_URL must be set}"
if [ -d "${PORTAIL_VAR_DIR:-}/private" ]; then
  tar -C "$PORTAIL_VAR_DIR" -czf "$dest/portail-files-$stamp.tar.gz" private
fi
echo "$dest/portail-$stamp.dump"
