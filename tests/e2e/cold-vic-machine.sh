#!/usr/bin/env bash
# vic-machine for the cold-boot e2e run (VIC_E2E_COLD=1): every VCH it creates boots a kernel for
# each container start, without instant clone templates. Everything else is passed through.
set -euo pipefail
real=${VIC_MACHINE_REAL:?}
if [ "${1:-}" = create ]; then
  shift
  exec "$real" create --no-instant-clone "$@"
fi
exec "$real" "$@"
