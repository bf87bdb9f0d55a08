#!/usr/bin/env bash
# Stream a chat reply with bash and jq: text is printed as chat.delta notifications arrive, then
# the finish reason and usage from the reply. Offline on the recorded demo traffic unless LIVE=1.
#   examples/shell/chat.sh "Write a haiku about confidential computing."
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chutes_rpc=${CHUTES_RPC:-"node $root/bin/chutes-rpc"}
replay=()
if [ "${LIVE:-0}" != 1 ]; then
  replay=(--replay "$root/fixtures/cassettes/demo.json")
  export CHUTES_API_KEY=cpk_demo_not_a_real_key
fi
prompt=${1:-"Write a haiku about confidential computing."}
model=${MODEL:-chutes/zai-org/GLM-4.7-Flash}

jq -n --arg p "$prompt" --arg m "$model" '{model: $m, messages: [{role: "user", content: $p}]}' |
  $chutes_rpc call chat.stream "${replay[@]}" |
  jq --unbuffered -j '
    if .method == "chat.delta" then (.params.content // "")
    elif .error then "\nerror \(.error.code): \(.error.message)\n\(.error.data.resolution // "")\n" | halt_error(1)
    else "\n[\(.result.finishReason), \(.result.usage.totalTokens) tokens, served by \(.result.model)]\n"
    end
  '
