#!/usr/bin/env bash
# Quick start, command 2 (and what .ci/run calls): lint, typecheck, then the unit and integration tiers in ONE run of
# node's test runner, so its closing summary covers the whole suite. Starts the stack when the integration tier runs,
# and stops it again afterwards if this script was the one that started it.
#   scripts/test.sh                 everything
#   scripts/test.sh --unit          unit tier only (no services)
#   scripts/test.sh --integration   integration tier only
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tier="${1:-all}"
ensure_node_deps

if [[ "$tier" != "--integration" ]]; then
  echo "[check] eslint, import cycles, typecheck…"
  npx --no-install eslint --max-warnings=0 .
  npx --no-install madge --circular --warning --extensions ts --ts-config tsconfig.json src >/dev/null || {
    npx --no-install madge --circular --extensions ts --ts-config tsconfig.json src; exit 1; }
  npx --no-install tsc -p tsconfig.json --noEmit
fi

files=()
if [[ "$tier" != "--integration" ]]; then
  while IFS= read -r f; do files+=("$f"); done < <(find src test -name '*.test.ts' -not -path 'test/integration/*' -not -path 'test/interop/*' | sort)
fi
started_stack=0
if [[ "$tier" != "--unit" ]]; then
  while IFS= read -r f; do files+=("$f"); done < <(find test/integration test/interop -name '*.test.ts' | sort)
  if ! node bin/duckhouse.js stack status >/dev/null 2>&1; then
    started_stack=1
  fi
  node bin/duckhouse.js stack up
fi
cleanup() {
  # Quietly, so the test runner's summary stays the last thing printed.
  if [[ "$started_stack" == 1 && "${DUCKHOUSE_KEEP_STACK:-0}" != 1 ]]; then
    node bin/duckhouse.js stack down > .stack/logs/test-stack-down.log 2>&1 ||
      echo "warning: stack down failed, see .stack/logs/test-stack-down.log" >&2
  fi
}
trap cleanup EXIT

echo "[test] ${#files[@]} test files"
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
