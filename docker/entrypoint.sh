#!/bin/sh
# Entrypoint of the Bouncer container image; also runs as-is outside a container:
#
#   docker/entrypoint.sh [bouncer-command] [args...]   (default command: run)
#   docker/entrypoint.sh run --config bouncer.yaml
#   docker/entrypoint.sh healthcheck                   (used by the image's HEALTHCHECK)
#
# - `exec` replaces this shell with Node, so SIGTERM from the runtime reaches the bouncer
#   directly (it finishes in-flight requests, flushes decision logs within its deadline and
#   exits 0). Node is then PID 1 in the container; bouncer installs its own SIGTERM/SIGINT
#   handlers, so the kernel's "PID 1 ignores default signals" rule does not matter.
# - Node runs the compiled JavaScript in dist/ (built with the image): nothing is
#   transpiled or cached at start, so a read-only root filesystem needs no writable /tmp.
# - The app directory is the one above this script (/app in the image). This script defines
#   no BOUNCER_* variables of its own: the bouncer treats every BOUNCER_* variable as a
#   setting and rejects unknown ones. `healthcheck` reads the same BOUNCER_ADMIN_PORT /
#   BOUNCER_ADMIN_HOST the bouncer does (defaults 9090 / all interfaces → 127.0.0.1); if you
#   change the admin port in the config file instead, set BOUNCER_ADMIN_PORT too.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
app_dir=$(dirname -- "$here")

log() {
  # One JSON line in the same shape as the bouncer's logs (level as a label, time in ISO 8601
  # UTC), so log pipelines keyed on either read it alike. $1 = level label, $2 = message.
  msg=$(printf '%s' "$2" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\n\r')
  printf '{"level":"%s","time":"%s","name":"bouncer-entrypoint","msg":"%s"}\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$msg" >&2
}

if [ "$#" -eq 0 ]; then
  set -- run
fi
case "$1" in
  -*) set -- run "$@" ;; # options only: they are for `run`
esac

if [ "$1" = "healthcheck" ]; then
  # Liveness of the admin server, without curl/wget in the image.
  exec node -e '
    const port = Number(process.env.BOUNCER_ADMIN_PORT || 9090)
    const bound = process.env.BOUNCER_ADMIN_HOST || ""
    const host = ["", "0.0.0.0", "::", "[::]"].includes(bound) ? "127.0.0.1" : bound
    fetch(`http://${host.includes(":") ? `[${host}]` : host}:${port}/healthz`, { signal: AbortSignal.timeout(2000) })
      .then((r) => { process.exitCode = r.status === 200 ? 0 : 1 }, (e) => { console.error(`healthcheck: ${e.cause?.code ?? e.name}`); process.exitCode = 1 })
  '
fi

if [ ! -f "$app_dir/bin/bouncer.js" ]; then
  log error "bin/bouncer.js not found under $app_dir"
  exit 127
fi
if [ ! -f "$app_dir/dist/cli/index.js" ]; then
  log error "dist/cli/index.js not found under $app_dir (the image build runs npm run build)"
  exit 127
fi

exec node "$app_dir/bin/bouncer.js" "$@"
