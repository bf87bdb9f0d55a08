#!/usr/bin/env python3
"""A host for chutes-rpc in Python, with the chutes_rpc client (standard library only).

Starts the adapter, streams a chat, answers a tool call, and cancels a stream half way. By default
it replays the recorded demo traffic, so it runs offline:

    python3 examples/python/chutes_host.py
    python3 examples/python/chutes_host.py --live        # the real service; needs CHUTES_API_KEY

Install the client with `pip install ./clients/python`; run from a clone, it is found without that.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
try:
    import chutes_rpc
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "clients", "python", "src"))
    import chutes_rpc

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"]},
    },
}


def show(stream):
    """Prints a stream's text as it arrives; returns how many deltas came."""
    seen = 0
    for delta in stream:
        seen += 1
        print(delta.get("content", ""), end="", flush=True)
    print()
    return seen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", default=f"node {os.path.join(ROOT, 'bin', 'chutes-rpc')}", help="command that starts chutes-rpc")
    parser.add_argument("--replay", default=os.path.join(ROOT, "fixtures", "cassettes", "demo.json"))
    parser.add_argument("--live", action="store_true", help="talk to the real service instead of replaying")
    args = parser.parse_args()

    env = dict(os.environ)
    if not args.live:
        env["CHUTES_API_KEY"] = "cpk_demo_not_a_real_key"
    client = chutes_rpc.Client(args.adapter.split(), [] if args.live else ["--replay", args.replay], env=env)
    with client:
        info = client.initialize(clientInfo={"name": "python-example", "version": "1"})
        print(f"connected to {info['serverInfo']['name']} {info['serverInfo']['version']} ({info['framing']})")

        found = client.models_discover(teeOnly=True)
        print(f"{len(found['models'])} TEE models ({found['source']}), e.g. {found['models'][0]['id']}")

        haiku = client.chat_stream(model="chutes/zai-org/GLM-4.7-Flash", messages=[{"role": "user", "content": "Write a haiku about confidential computing."}])
        show(haiku)
        print(f"[{haiku.result['finishReason']}, {haiku.result['usage']['totalTokens']} tokens]")

        # A tool round trip: run the calls the model asked for, then send its message and the results back.
        question = {"role": "user", "content": "What's the weather in Lisbon?"}
        asked = client.chat_stream(model="moonshotai/Kimi-K2.5-TEE", messages=[question], tools=[WEATHER], toolChoice="auto")
        show(asked)
        call = asked.result["message"]["toolCalls"][0]
        arguments = json.loads(call["arguments"])
        print(f"tool call: {call['name']}({arguments})")
        weather = {"city": arguments["city"], "temperature_c": 21, "conditions": "sunny"}
        assistant = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}],
        }
        answer = client.chat_stream(
            model="moonshotai/Kimi-K2.5-TEE",
            messages=[question, assistant, {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(weather)}],
            tools=[WEATHER],
        )
        show(answer)
        print(f"[{answer.result['finishReason']}]")

        story = client.chat_stream(model="zai-org/GLM-4.7-Flash", messages=[{"role": "user", "content": "Tell me a long story."}], maxTokens=2048)
        seen = 0
        for delta in story:
            seen += 1
            print(delta.get("content", ""), end="", flush=True)
            if seen == 10:
                break  # leaving the loop cancels the stream upstream
        print()
        try:
            story.wait(timeout=10)
        except chutes_rpc.RpcError as err:
            print(f"cancelled after {seen} deltas: {err.code} {err.message}; kept {len(err.data['partial']['content'])} characters")

    print(f"adapter exited with {client.returncode}")
    return 0 if client.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
