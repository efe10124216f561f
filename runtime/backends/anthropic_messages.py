"""`anthropic` backend: the Messages API through the official SDK; key from `ANTHROPIC_API_KEY` only.

System turns become the `system` parameter. The installed SDK's `messages.create` takes neither
a seed nor a temperature (the API samples with its defaults): both are part of the cache key
only, so reruns reuse cached responses but fresh calls are not reproducible.
"""

from __future__ import annotations

import os

import anthropic

from organisms.errors import OrganismError
from runtime.backends.base import Messages
from runtime.backends.http import HttpBackend, MalformedResponse


class AnthropicBackend(HttpBackend):
    name = "anthropic"

    def _client(self) -> anthropic.AsyncAnthropic:
        key = os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise OrganismError("anthropic backend: set ANTHROPIC_API_KEY in the environment")
        return anthropic.AsyncAnthropic(
            api_key=key, base_url=self.spec.base_url, timeout=self.spec.timeout, max_retries=0
        )

    async def _request(self, client: anthropic.AsyncAnthropic, messages: Messages, params: dict):
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [m for m in messages if m["role"] != "system"]
        extra = {"system": system} if system else {}
        response = await client.messages.create(
            model=self.model, messages=turns, max_tokens=params["max_tokens"], **extra
        )
        try:
            text = "".join(block.text for block in response.content if block.type == "text")
            usage = response.usage
            return text, usage.input_tokens or 0, usage.output_tokens or 0
        except (AttributeError, TypeError) as exc:
            raise MalformedResponse(f"unexpected response body ({type(exc).__name__})") from None
