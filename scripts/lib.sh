# Shared by scripts/demo.sh and scripts/test.sh: make sure the Node dependencies are installed and the CLI is built.
# Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ensure_node_deps() {
  local stamp="node_modules/.duckhouse-lock-hash" want
  want="$(sha256sum package-lock.json | cut -c1-64)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "[setup] installing Node dependencies…"
    # `npm ci` first. Where the npm registry mirror serves only this platform's optional native packages (DuckDB's
    # bindings for other OSes answer 404), the lock cannot list them and `npm ci` refuses it: fall back to
    # `npm install --no-save`, which installs the same locked versions and leaves package-lock.json untouched.
    mkdir -p .stack/logs
    if ! npm ci --no-audit --no-fund --loglevel=error > .stack/logs/npm-install.log 2>&1; then
      npm install --no-save --no-audit --no-fund --loglevel=error
    fi
    echo "$want" > "$stamp"
  fi
  echo "[setup] building the CLI (tsc)…"
  npm run --silent build
}
