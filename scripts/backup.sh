#!/usr/bin/env bash
# Back up Reunite's database, online (the service keeps running).
#
#   scripts/backup.sh [DATABASE_URL] OUTFILE
#
# DATABASE_URL defaults to the environment's DATABASE_URL (as app/config.py reads it), else the
# embedded sqlite:///instance/reunite.db.
#   sqlite:///path   SQLite's online backup (the sqlite3 CLI's .backup, or Python's
#                    sqlite3 backup API where the CLI is not installed): a consistent copy
#                    even while gunicorn and the worker write (WAL included).
#   postgresql://... pg_dump --format=custom (restore with scripts/restore.sh / pg_restore).
# The backup is written to a temporary file next to OUTFILE and renamed when complete, with
# mode 0600: it holds names, phones and places of people in a disaster.
set -euo pipefail
umask 077

usage() { echo "usage: $0 [DATABASE_URL] OUTFILE" >&2; exit 2; }
case $# in
  1) url=${DATABASE_URL:-sqlite:///instance/reunite.db}; out=$1 ;;
  2) url=$1; out=$2 ;;
  *) usage ;;
esac
[ -n "$out" ] || usage

tmp="$out.partial.$$"
trap 'rm -f "$tmp"' EXIT

case "$url" in
  sqlite:///*)
    db=${url#sqlite:///}
    db=${db%%\?*}
    if [ ! -f "$db" ]; then
      echo "backup: no SQLite database at $db" >&2
      exit 1
    fi
    if command -v sqlite3 >/dev/null 2>&1; then
      # .timeout: wait for a writer's lock instead of failing at once.
      sqlite3 "$db" ".timeout 10000" ".backup '${tmp//\'/\'\'}'"
    else
      python3 - "$db" "$tmp" <<'PY'
import sqlite3, sys
source = sqlite3.connect(sys.argv[1], timeout=10)
target = sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
target.close()
source.close()
PY
    fi
    ;;
  postgres://*|postgresql://*|postgresql+psycopg://*)
    # libpq does not know SQLAlchemy's driver suffix.
    pgurl="postgresql://${url#*://}"
    pg_dump --format=custom --no-owner --no-privileges --file="$tmp" --dbname="$pgurl"
    ;;
  *)
    echo "backup: unsupported DATABASE_URL scheme (sqlite:/// or postgresql://)" >&2
    exit 2
    ;;
esac

mv -f "$tmp" "$out"
trap - EXIT
echo "backup: wrote $out ($(wc -c <"$out") bytes)"
