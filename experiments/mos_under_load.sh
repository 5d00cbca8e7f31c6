#!/bin/bash
# The MOS server under a loaded CPU: 30 runs of the 20-concurrent-participants test beside two busy-loop processes.
#   bash experiments/mos_under_load.sh [CHECKOUT ...]     (default: this checkout)
# 2026-12-06, 2-core machine: commit 18398d7 (listen backlog 5): 7 of 30 failed (ConnectionResetError at
# POST /api/start); after the fix (MosServer.request_queue_size = 128): 0 of 30.
set -u
HERE="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$HERE/.venv/bin/python}"
for repo in "${@:-$HERE}"; do
  for i in 1 2; do timeout 900 "$PY" -c "while True: pass" & done
  fails=0
  for i in $(seq 1 30); do
    (cd "$repo" && "$PY" -m pytest -q -p no:cacheprovider tests/test_mos.py -k twenty_concurrent >/dev/null 2>&1) \
      || fails=$((fails + 1))
  done
  kill $(jobs -p) 2>/dev/null
  echo "$repo: $fails of 30 failed"
done
