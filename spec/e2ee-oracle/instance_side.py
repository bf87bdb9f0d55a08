"""The instance side of Chutes E2EE, written independently with pyca/cryptography (OpenSSL ML-KEM).

Reads one JSON object on stdin: {"seed": hex of the 64-byte instance KeyGen seed, "blob": base64 of a
request blob}. Opens the request, then answers to the e2e_response_pk inside it, and writes one JSON
object on stdout: {"public_key": base64 of the instance key, "body": the opened request JSON,
"response_blob": base64, "stream": [the SSE events an instance would send for the body's echo]}.
Exits 3 when this Python lacks ML-KEM.
"""
import base64
import gzip
import json
import os
import sys

try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
except ImportError as err:
    print(f"no ML-KEM in this Python's cryptography: {err}", file=sys.stderr)
    sys.exit(3)


def derive(shared_secret: bytes, kem_ct: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=kem_ct[:16], info=info).derive(shared_secret)


def seal(key: bytes, plaintext: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, None)


def main() -> None:
    given = json.load(sys.stdin)
    instance = MLKEM768PrivateKey.from_seed_bytes(bytes.fromhex(given["seed"]))
    blob = base64.b64decode(given["blob"])
    kem_ct, nonce, sealed = blob[:1088], blob[1088:1100], blob[1100:]
    key = derive(instance.decapsulate(kem_ct), kem_ct, b"e2e-req-v1")
    body = json.loads(gzip.decompress(ChaCha20Poly1305(key).decrypt(nonce, sealed, None)))
    response_pk = MLKEM768PublicKey.from_public_bytes(base64.b64decode(body.pop("e2e_response_pk")))
    text = "echo: " + body["messages"][-1]["content"]

    completion = {"id": "py", "object": "chat.completion", "model": body["model"],
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}
    shared, resp_ct = response_pk.encapsulate()
    response_blob = resp_ct + seal(derive(shared, resp_ct, b"e2e-resp-v1"), gzip.compress(json.dumps(completion).encode()))

    shared, init_ct = response_pk.encapsulate()
    stream_key = derive(shared, init_ct, b"e2e-stream-v1")
    events = [{"e2e_init": base64.b64encode(init_ct).decode()}]
    chunk = {"id": "py", "object": "chat.completion.chunk", "model": body["model"],
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
    for line in ["data: " + json.dumps(chunk) + "\n", "\n", "data: [DONE]\n", "\n"]:
        events.append({"e2e": base64.b64encode(seal(stream_key, line.encode())).decode()})

    public_key = instance.public_key().public_bytes_raw()
    print(json.dumps({"public_key": base64.b64encode(public_key).decode(), "body": body,
                      "response_blob": base64.b64encode(response_blob).decode(), "stream": events}))


if __name__ == "__main__":
    main()
