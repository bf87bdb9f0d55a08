#!/usr/bin/env bash
# Stream a chat reply with bash and jq: text is printed as chat.delta notifications arrive, then
# the finish reason and usage from the reply. Offline on the recorded demo traffic unless LIVE=1.
#   examples/shell/chat.sh "Write a haiku about confidential computing."
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chutes_rpc=${CHUTES_RPC:-"node $root/bin/chutes-rpc"}
replay=()
# Replay needs no API key.
[ "${LIVE:-0}" = 1 ] || replay=(--replay "$root/fixtures/cassettes/demo.json")
prompt=${1:-"Write a haiku about confidential computing."}
model=${MODEL:-chutes/zai-org/GLM-4.7-Flash}

jq -n --arg p "$prompt" --arg m "$model" '{model: $m, messages: [{role: "user", content: $p}]}' |
  $chutes_rpc call chat.stream "${replay[@]}" |
  jq --unbuffered -j '
    if .method == "chat.delta" then (.params.content // "")
    elif .error then "\n" | halt_error(1)   # chutes-rpc call has said what went wrong on stderr
    else "\n[\(.result.finishReason), \(.result.usage.totalTokens) tokens, served by \(.result.model)]\n"
    end
  '
