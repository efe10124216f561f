"""On-disk response cache: one JSON file per request, named by the hash of the request.

The key covers everything that determines a response (backend kind, model, messages, sampling
parameters, seed) and nothing that does not (base URL, API key, concurrency), so a run killed
midway and started again reuses every response it already paid for. Files are written
atomically; an unreadable file counts as a miss and is rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path


def request_key(backend: str, model: str, messages: list[dict[str, str]], params: dict) -> str:
    blob = json.dumps(
        {"backend": backend, "model": model, "messages": messages, "params": params}, sort_keys=True
    ).encode()
    return hashlib.sha256(blob).hexdigest()


class ResponseCache:
    """`root/<key[:2]>/<key>.json` holding `{"text", "prompt_tokens", "completion_tokens"}`."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        path = self._path(key)
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return record if isinstance(record, dict) and isinstance(record.get("text"), str) else None

    def put(self, key: str, record: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{id(record)}")
        tmp.write_text(json.dumps(record, sort_keys=True))
        os.replace(tmp, path)

    def __len__(self) -> int:
        with contextlib.suppress(FileNotFoundError):
            return sum(1 for _ in self.root.glob("*/*.json"))
        return 0
