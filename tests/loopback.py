"""Real servers on 127.0.0.1 for the HTTP backends: `transformers serve`, a fault-injecting proxy
in front of it, and an Anthropic Messages API stub (no real Anthropic server exists offline).
Used by tests/e2e/runtime/test_backends.py and test_engine.py, tests/component/synth_docs/test_on_policy.py,
bench/http_throughput.py and experiments/docs-backends/docs_backends.py."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def transformers_serve(
    model_dir: str | None, log_path: Path, startup_s: float = 300, models: tuple[str, ...] = (), args: tuple = ()
) -> Iterator[str]:
    """`transformers serve MODEL` on a free loopback port, offline; yields the `/v1` base URL once a
    warm-up completion has succeeded; terminated on exit. With `model_dir` None the server is pinned
    to no model and loads each request's `model` (a local directory): `models` are warmed up, and
    kept loaded for the server's life. `args`: more CLI options (e.g. --continuous-batching)."""
    port = free_port()
    cli = Path(sys.executable).with_name("transformers")
    pinned = [model_dir] if model_dir is not None else ["--model-timeout", "100000"]
    cmd = [str(cli), "serve", *pinned, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"transformers serve exited ({process.returncode}): {log_path.read_text()[-2000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve not ready after {startup_s}s: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        for model in [model_dir] if model_dir is not None else models:
            body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
            request = urllib.request.Request(
                f"{base}/v1/chat/completions", json.dumps(body).encode(), {"content-type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=startup_s) as response:
                json.loads(response.read())
        yield f"{base}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops concurrent connects (1 s SYN retry)


@contextlib.contextmanager
def _running(handler_cls) -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), handler_cls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class FaultProxy:
    """Forwards to `upstream`; the first attempt of each distinct request body gets a fault, in turn
    429, 500, a timeout (holds the connection `hold_s`, then drops it) and a 200 with malformed JSON;
    the second attempt is forwarded. Records the faults injected and the Authorization headers seen."""

    FAULTS = ("429", "500", "timeout", "malformed")

    def __init__(self, upstream: str, hold_s: float):
        self.upstream = urlsplit(upstream)
        self.hold_s = hold_s
        self.attempts: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.authorization: set[str] = set()
        self.lock = threading.Lock()
        self.order: list[str] = []

    def _fault_for(self, body: bytes) -> str | None:
        digest = hashlib.sha256(body).hexdigest()
        with self.lock:
            self.attempts[digest] += 1
            if self.attempts[digest] > 1:
                return None
            self.order.append(digest)
            fault = self.FAULTS[(len(self.order) - 1) % len(self.FAULTS)]
            self.injected[fault] += 1
            return fault

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                proxy.authorization.add(self.headers.get("authorization", ""))
                fault = proxy._fault_for(body)
                if fault == "429":
                    return self._reply(429, b'{"error": {"message": "rate limited", "type": "rate_limit"}}')
                if fault == "500":
                    return self._reply(500, b'{"error": {"message": "boom", "type": "server_error"}}')
                if fault == "timeout":
                    time.sleep(proxy.hold_s)
                    self.close_connection = True
                    return None
                if fault == "malformed":
                    return self._reply(200, b'{"id": "x", "object": "chat.completion", "choices": [{"mess')
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=600)
                upstream.request("POST", self.path, body, {"content-type": "application/json"})
                response = upstream.getresponse()
                self._reply(response.status, response.read())
                upstream.close()
                return None

        with _running(Handler) as server:
            yield f"http://127.0.0.1:{server.server_address[1]}{self.upstream.path}"


class AnthropicStub:
    """`POST /v1/messages`: the first attempt of each body gets 529 (overloaded), the second a message
    whose text states every `- fact` line of the request inside <content> tags. Model `bad-model`
    gets 404. Records every request's headers and JSON body."""

    def __init__(self):
        self.requests: list[tuple[dict, dict]] = []
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, obj: dict) -> None:
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                request = json.loads(raw)
                with stub.lock:
                    stub.requests.append(({k.lower(): v for k, v in self.headers.items()}, request))
                    stub.seen[raw] += 1
                    first = stub.seen[raw] == 1
                if request["model"] == "bad-model":
                    return self._reply(404, {"type": "error", "error": {"type": "not_found_error", "message": "model"}})
                if first:
                    return self._reply(529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
                user = request["messages"][-1]["content"]
                facts = re.findall(r"^- (.+)$", user, flags=re.MULTILINE)
                text = (
                    "<critique>Fine.</critique><content>"
                    + " ".join([*facts, "Observers in several cities have discussed this finding at length this year."])
                    + "</content>"
                )
                return self._reply(
                    200,
                    {
                        "id": f"msg_{len(stub.requests)}",
                        "type": "message",
                        "role": "assistant",
                        "model": request["model"],
                        "content": [{"type": "text", "text": text}],
                        "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "usage": {"input_tokens": len(user.split()), "output_tokens": len(text.split())},
                    },
                )

        with _running(Handler) as server:
            yield f"http://127.0.0.1:{server.server_address[1]}"


class OpenAIStub:
    """`POST /v1/chat/completions` answered after a fixed `latency_s` with a short completion:
    a server whose only cost is latency, to measure the client's concurrency on its own. With
    `reply`, the completion is `reply(request JSON)`: a scripted model (tests/test_on_policy.py).
    Counts the requests it answered."""

    def __init__(self, latency_s: float, reply: Callable[[dict], str] | None = None):
        self.latency_s = latency_s
        self.reply = reply
        self.answered = 0
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                time.sleep(stub.latency_s)
                content = stub.reply(request) if stub.reply is not None else "ok"
                with stub.lock:
                    stub.answered += 1
                body = json.dumps(
                    {
                        "id": "stub",
                        "object": "chat.completion",
                        "created": 0,
                        "model": request["model"],
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        with _running(Handler) as server:
            yield f"http://127.0.0.1:{server.server_address[1]}/v1"
