#!/usr/bin/env bash
# List the models Chutes serves (TEE ones only with --tee-only), with bash and jq, by piping one
# JSON-RPC request into `chutes-rpc call`. Offline on the recorded demo traffic unless LIVE=1.
#   examples/shell/discover.sh [--tee-only]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chutes_rpc=${CHUTES_RPC:-"node $root/bin/chutes-rpc"}
replay=()
[ "${LIVE:-0}" = 1 ] || replay=(--replay "$root/fixtures/cassettes/demo.json")

tee_only=false
[ "${1:-}" = "--tee-only" ] && tee_only=true

jq -n --argjson tee "$tee_only" '{teeOnly: $tee}' |
  $chutes_rpc call models.discover "${replay[@]}" |
  jq -r '
    select(.id != null)
    | if .error then "" | halt_error(1) else . end   # chutes-rpc call has said what went wrong on stderr
    | .result
    | "source: \(.source), \(.models | length) models\(if .warning then " (\(.warning))" else "" end)",
      (.models[] | [.id, (if .tee then "TEE" else "-" end), .contextWindow, (.pricing.input // "?"), (.pricing.output // "?")] | @tsv)
  '
