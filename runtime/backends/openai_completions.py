"""`openai` completions: raw prompt text to an OpenAI-compatible `/v1/completions` endpoint
(vLLM, `transformers serve`), for `eval.engine: openai` (runtime/engine.py).

A job's "messages" is the prompt text itself, rendered here by the model's chat template, so the
server sees exactly the tokens the hf engine would, assistant-turn prefixes included.
"""

from __future__ import annotations

import json

import openai

from runtime.backends.http import MalformedResponse
from runtime.backends.openai_chat import OpenAIBackend


class OpenAICompletionsBackend(OpenAIBackend):
    name = "openai-completions"
    field = "eval.served"

    async def _request(self, client: openai.AsyncOpenAI, prompt: str, params: dict) -> tuple[str, int, int]:
        try:
            response = await client.completions.create(
                model=self.model,
                prompt=prompt,
                temperature=params["temperature"],
                top_p=1.0,
                max_tokens=params["max_tokens"],
                seed=params["seed"],
            )
        except json.JSONDecodeError:  # a 2xx whose body is not JSON
            raise MalformedResponse("response body is not JSON") from None
        try:
            text = response.choices[0].text
            usage = response.usage
        except (AttributeError, IndexError, TypeError) as exc:
            raise MalformedResponse(f"unexpected response body ({type(exc).__name__})") from None
        if not isinstance(text, str):
            raise MalformedResponse("response has no text")
        return text, getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0
