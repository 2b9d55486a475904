#!/usr/bin/env bash
# Restore a backup made by backup.sh into an EMPTY database.
# Usage: deploy/restore.sh DUMP_FILE TARGET_DATABASE_URL [FILES_ARCHIVE VAR_DIR]
set -euo pipefail
dump=${1:?usage: restore.sh DUMP_FILE TARGET_DATABASE_URL [FILES_ARCHIVE VAR_DIR]}
target=${2:?usage: restore.sh DUMP_FILE TARGET_DATABASE_URL [FILES_ARCHIVE VAR_DIR]}
pg_restore --no-owner --exit-on-error --dbname "$target" "$dump"
if [ -n "${3:-}" ]; then
  mkdir -p "${4:?the VAR_DIR to restore the files into}"
  tar -C "$4" -xzf "$3"
fi
echo "restored $dump"
