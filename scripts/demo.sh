#!/usr/bin/env bash
# Quick start, command 1: bring the stack up (installing it on first use) and run the end-to-end demo.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node_deps
node bin/duckhouse.js stack up
node bin/duckhouse.js demo "$@"
echo
echo "The stack is still running: \`node bin/duckhouse.js stack status\` shows it, \`node bin/duckhouse.js stack down\` stops it."
