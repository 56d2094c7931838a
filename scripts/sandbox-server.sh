# Sourced by scripts/conformance.sh and scripts/python-clients.sh: start the built server (dist/) on the sandbox engine
# with temp auth/data dirs on 127.0.0.1, port 0, and stop it again. Needs `npm run build` first.
#
#   start_sandbox_server DIR   # logs to DIR/server.log; sets server_pid and url (http://127.0.0.1:PORT)
#   stop_sandbox_server        # SIGTERM, then wait; safe to call twice (use it in an EXIT trap)

server_pid=""
url=""

start_sandbox_server() {
  local dir=$1
  # Port 0: the server picks a free port and logs its URL, so two runs never race for one port.
  WHATSAPP_ENGINE=sandbox WHATSAPP_AUTH_DIR="$dir/auth" WHATSAPP_DATA_DIR="$dir/data" \
    WHATSAPP_MCP_HOST=127.0.0.1 WHATSAPP_MCP_PORT=0 LOG_LEVEL=info \
    node dist/cli.js 2>"$dir/server.log" &
  server_pid=$!
  url=""
  for _ in $(seq 1 100); do
    url=$(grep -o '"url":"http://127.0.0.1:[0-9]*"' "$dir/server.log" | head -1 | cut -d'"' -f4 || true)
    [ -n "$url" ] && return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then
      cat "$dir/server.log" >&2; echo "server exited before listening" >&2; server_pid=""; return 1
    fi
    sleep 0.1
  done
  cat "$dir/server.log" >&2; echo "server did not log its URL within 10 s" >&2
  return 1
}

stop_sandbox_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
