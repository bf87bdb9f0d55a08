"""Where the tests find the adapter and the recorded cassettes: this repository's bin/ and fixtures/."""
import os
import shutil
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CASSETTES = os.path.join(ROOT, "fixtures", "cassettes")
COMMAND = [shutil.which("node") or "node", os.path.join(ROOT, "bin", "chutes-rpc")]
# The framings to run the scenario over; the jest suite runs one per process, in parallel.
FRAMINGS = [f for f in os.environ.get("CHUTES_RPC_TEST_FRAMINGS", "ndjson,lsp").split(",") if f]


def env():
    """No credentials or config from the developer's machine; a placeholder key for the replayed service."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHUTES_")}
    clean["CHUTES_API_KEY"] = "cpk_test_python_client"
    clean["CHUTES_RPC_HOME"] = os.environ.get("CHUTES_RPC_TEST_HOME", os.path.join(ROOT, ".tmp", "python-client-home"))
    return clean


def replay(name):
    return ["--replay", os.path.join(CASSETTES, name)]


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
HAIKU = "Sealed in silicon,\nthoughts run where no eye can reach —\nproof, not promises."
print(f"chutes_rpc from {os.path.dirname(__import__('chutes_rpc').__file__)}", file=sys.stderr)
