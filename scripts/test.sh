#!/usr/bin/env bash
# Quick start, command 2 (and what .ci/run calls): lint, typecheck, then the unit and integration tiers in ONE run of
# node's test runner, so its closing summary covers the whole suite. Starts the stack — with the optional Trino, for the
# Trino tier in test/interop — when the integration tier runs, and stops afterwards what this script started.
#   scripts/test.sh                 everything
#   scripts/test.sh --unit          unit tier only (no services)
#   scripts/test.sh --integration   integration tier only (the Trino tier included)
#   scripts/test.sh --trino         the Trino tier only (test/interop/trino.test.ts), Trino started if needed
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tier="${1:-all}"
ensure_node_deps

if [[ "$tier" != "--integration" && "$tier" != "--trino" ]]; then
  echo "[check] eslint, import cycles, typecheck…"
  npx --no-install eslint --max-warnings=0 .
  npx --no-install madge --circular --warning --extensions ts --ts-config tsconfig.json src >/dev/null || {
    npx --no-install madge --circular --extensions ts --ts-config tsconfig.json src; exit 1; }
  npx --no-install tsc -p tsconfig.json --noEmit
fi

files=()
if [[ "$tier" != "--integration" && "$tier" != "--trino" ]]; then
  while IFS= read -r f; do files+=("$f"); done < <(find src test -name '*.test.ts' -not -path 'test/integration/*' -not -path 'test/interop/*' | sort)
fi
started_stack=0
started_trino=0
if [[ "$tier" != "--unit" ]]; then
  if [[ "$tier" == "--trino" ]]; then
    files+=(test/interop/trino.test.ts)
  else
    while IFS= read -r f; do files+=("$f"); done < <(find test/integration test/interop -name '*.test.ts' | sort)
  fi
  # `status` exits 0 when every default component is up (an optional Trino that is not running does not count).
  if ! node bin/duckhouse.js stack status >/dev/null 2>&1; then
    started_stack=1
  fi
  trino_state="$(node bin/duckhouse.js stack status --json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{try{const t=JSON.parse(s).find((c)=>c.name==="trino");process.stdout.write(t?t.state:"")}catch{}})' || true)"
  if [[ "$trino_state" != "up" ]]; then
    started_trino=1
  fi
  node bin/duckhouse.js stack up --with trino
  # The status page's browser tests drive Debian's Chromium (installed once, with apt).
  bash scripts/ensure-chromium.sh
fi
cleanup() {
  # Quietly, so the test runner's summary stays the last thing printed.
  if [[ "${DUCKHOUSE_KEEP_STACK:-0}" == 1 ]]; then
    return
  fi
  local what=()
  if [[ "$started_stack" == 1 ]]; then
    what=()
  elif [[ "$started_trino" == 1 ]]; then
    what=(trino)
  else
    return
  fi
  node bin/duckhouse.js stack down "${what[@]}" > .stack/logs/test-stack-down.log 2>&1 ||
    echo "warning: stack down failed, see .stack/logs/test-stack-down.log" >&2
}
trap cleanup EXIT

echo "[test] ${#files[@]} test files"
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
