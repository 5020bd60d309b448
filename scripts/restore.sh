#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into a database.
#
#   scripts/restore.sh [--force] [DATABASE_URL] BACKUPFILE
#
# DATABASE_URL defaults to the environment's DATABASE_URL, else sqlite:///instance/reunite.db.
# Stop reunite-web and reunite-worker first: a restore replaces what they are working on.
#   sqlite:///path   the backup is checked (PRAGMA integrity_check) and copied into place;
#                    an existing database is replaced only with --force (its -wal and -shm
#                    files are removed with it).
#   postgresql://... pg_restore into the database, which must exist; with --force the objects
#                    already there are dropped first (--clean --if-exists), otherwise the
#                    database must be empty.
# Afterwards run `flask db upgrade` (a backup from an older release has an older schema).
set -euo pipefail
umask 077

force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
usage() { echo "usage: $0 [--force] [DATABASE_URL] BACKUPFILE" >&2; exit 2; }
case $# in
  1) url=${DATABASE_URL:-sqlite:///instance/reunite.db}; backup=$1 ;;
  2) url=$1; backup=$2 ;;
  *) usage ;;
esac
if [ ! -f "$backup" ]; then
  echo "restore: no backup file at $backup" >&2
  exit 1
fi

case "$url" in
  sqlite:///*)
    db=${url#sqlite:///}
    db=${db%%\?*}
    if [ -e "$db" ] && [ "$force" != 1 ]; then
      echo "restore: $db exists; stop the services and pass --force to replace it" >&2
      exit 1
    fi
    check_sql="PRAGMA integrity_check;"
    if command -v sqlite3 >/dev/null 2>&1; then
      verdict=$(sqlite3 -readonly "$backup" "$check_sql")
    else
      verdict=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$backup")
    fi
    if [ "$verdict" != "ok" ]; then
      echo "restore: $backup is not a sound SQLite database" >&2
      exit 1
    fi
    mkdir -p "$(dirname "$db")"
    tmp="$db.restoring.$$"
    trap 'rm -f "$tmp"' EXIT
    cp "$backup" "$tmp"
    rm -f "$db-wal" "$db-shm"
    mv -f "$tmp" "$db"
    trap - EXIT
    ;;
  postgres://*|postgresql://*|postgresql+psycopg://*)
    pgurl="postgresql://${url#*://}"
    clean=()
    if [ "$force" = 1 ]; then clean=(--clean --if-exists); fi
    pg_restore --no-owner --no-privileges --exit-on-error "${clean[@]}" --dbname="$pgurl" "$backup"
    ;;
  *)
    echo "restore: unsupported DATABASE_URL scheme (sqlite:/// or postgresql://)" >&2
    exit 2
    ;;
esac
echo "restore: restored $backup"
