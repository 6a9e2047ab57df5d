#!/usr/bin/env bash
# A backup of a data directory while the service runs on it (docs/deployment.md
# "Backup and restore"):
#
#   bash scripts/backup-data-dir.sh DATA_DIR DEST      (DEST must not exist)
#
# Holds every write acknowledged before it started; writes acknowledged while it runs
# may or may not be in it. Restore: stop the service, put DEST in place of the data
# directory, start it (the logs are replayed over the snapshots, as after a crash).
#
# What it copies, in this order, and why:
#  1. the list of index and collection files (name, inode, size);
#  2. every write-ahead log (<id>.wal): a log only grows between snapshots;
#  3. every snapshot file (<id>.<seq>.faissindex / .state.json / .points): once
#     renamed into place they never change, only go when a newer snapshot stands;
#  4. the list again: if a snapshot came or went, or a log was trimmed (a new inode,
#     or shorter), during 2-3, the copy is thrown away and made again: a log copied
#     before a snapshot that was then removed could lack records only that snapshot held;
#  5. the catalog last, with SQLite's online backup (sqlite3 .backup): a consistent copy
#     of a database in WAL mode. An index the catalog names that was created after step 3
#     is empty in the copy; files of one deleted after it are left for the next start to
#     remove as orphans;
#  6. `faiss-proxy check` on the copy: every snapshot's checksum, every log readable.
# Needs: sqlite3 (apt-get install sqlite3); FAISS_PROXY_CLI, the command that runs
# faiss-proxy (default: faiss-proxy on PATH, else node dist/service/cli.js of this clone).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="${1:?usage: backup-data-dir.sh DATA_DIR DEST}"
DEST="${2:?usage: backup-data-dir.sh DATA_DIR DEST}"
TRIES="${TRIES:-10}"
log() { printf '[backup] %s\n' "$*" >&2; }
[ -f "$SRC/catalog.db" ] || { log "$SRC holds no catalog.db: not a data directory"; exit 1; }
[ ! -e "$DEST" ] || { log "$DEST exists"; exit 1; }
command -v sqlite3 >/dev/null || { log "needs sqlite3 (apt-get install sqlite3)"; exit 1; }
if [ -n "${FAISS_PROXY_CLI:-}" ]; then read -r -a CLI <<<"$FAISS_PROXY_CLI"
elif command -v faiss-proxy >/dev/null; then CLI=(faiss-proxy)
else CLI=(node "$ROOT/dist/service/cli.js"); fi

# name inode size, one line per finished file (temporary files are not part of any state).
listing() { find "$SRC/indexes" -maxdepth 1 -type f ! -name '*.tmp' -printf '%f %i %s\n' 2>/dev/null | sort; }
snapshots_of() { grep -v '\.wal ' || true; }
logs_of() { grep '\.wal ' || true; }

# Logs that kept their inode and did not shrink: appended to, not trimmed.
logs_only_grew() { # before after
  local name inode size now_inode now_size
  while read -r name inode size; do
    read -r now_inode now_size < <(awk -v n="$name" '$1 == n { print $2, $3 }' <<<"$2") || return 1
    [ "$now_inode" = "$inode" ] && [ "$now_size" -ge "$size" ] || return 1
  done < <(logs_of <<<"$1")
}

tmp="$DEST.partial"
for try in $(seq 1 "$TRIES"); do
  rm -rf "$tmp" && mkdir -p "$tmp/indexes"
  before=$(listing)
  ok=1
  for f in $(logs_of <<<"$before" | cut -d' ' -f1) $(snapshots_of <<<"$before" | cut -d' ' -f1); do
    cp -p "$SRC/indexes/$f" "$tmp/indexes/$f" 2>/dev/null || { ok=0; break; }   # gone meanwhile: again
  done
  after=$(listing)
  if [ "$ok" = 1 ] && [ "$(snapshots_of <<<"$before")" = "$(snapshots_of <<<"$after")" ] && logs_only_grew "$before" "$after"; then
    sqlite3 "$SRC/catalog.db" ".backup '$tmp/catalog.db'"
    if "${CLI[@]}" check --data-dir "$tmp" >"$tmp.check.json" 2>&1; then
      rm -f "$tmp.check.json"
      mv "$tmp" "$DEST"
      log "backed up $SRC to $DEST ($(du -sh "$DEST" | cut -f1); try $try)"
      exit 0
    fi
    log "try $try: the copy does not check out: $(head -c 400 "$tmp.check.json")"
  else
    log "try $try: a snapshot was taken or a log trimmed during the copy; again"
  fi
  sleep "0.$((RANDOM % 9 + 1))"
done
rm -rf "$tmp" "$tmp.check.json"
log "no consistent copy after $TRIES tries"
exit 1
