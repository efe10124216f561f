"""`openai` backend: any OpenAI-compatible chat completions server (vLLM, `transformers serve`, hosted).

The key comes from `OPENAI_API_KEY` only. A local server that needs no key (a `base_url` on
loopback or a LAN) gets the placeholder "unused" when the variable is unset.
"""

from __future__ import annotations

import json
import os

import openai

from organisms.errors import OrganismError
from runtime.backends.base import Messages
from runtime.backends.http import HttpBackend, MalformedResponse


class OpenAIBackend(HttpBackend):
    name = "openai"

    def _client(self) -> openai.AsyncOpenAI:
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            if not self.spec.base_url:
                raise OrganismError(
                    "openai backend: set OPENAI_API_KEY in the environment, or corpus.documents.backend.base_url "
                    "for a local server that needs no key"
                )
            key = "unused"
        return openai.AsyncOpenAI(api_key=key, base_url=self.spec.base_url, timeout=self.spec.timeout, max_retries=0)

    async def _request(self, client: openai.AsyncOpenAI, messages: Messages, params: dict) -> tuple[str, int, int]:
        try:
            response = await client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=params["temperature"],
                max_tokens=params["max_tokens"],
                seed=params["seed"],
            )
        except json.JSONDecodeError:  # a 2xx whose body is not JSON
            raise MalformedResponse("response body is not JSON") from None
        try:
            text = response.choices[0].message.content
            usage = response.usage
        except (AttributeError, IndexError, TypeError) as exc:
            raise MalformedResponse(f"unexpected response body ({type(exc).__name__})") from None
        if not isinstance(text, str):
            raise MalformedResponse("response has no message content")
        return text, getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0
