#!/usr/bin/env bash
# `npm run bench`: bring the stack up (installing it on first use) and run every benchmark (bench/run.ts), which
# writes bench/results/<time>.json and .md. Options pass through: `npm run bench -- --quick`, `-- --only sink`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node_deps
node bin/duckhouse.js stack up
node --import tsx bench/run.ts "$@"
