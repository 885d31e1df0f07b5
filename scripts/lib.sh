# Shared by scripts/demo.sh and scripts/test.sh: make sure the Node dependencies are installed and the CLI is built.
# Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ensure_node_deps() {
  local stamp="node_modules/.duckhouse-lock-hash" want
  want="$(sha256sum package-lock.json | cut -c1-64)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "[setup] installing Node dependencies (npm ci)…"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
  echo "[setup] building the CLI (tsc)…"
  npm run --silent build
}
