"""The on-policy pool: k sampled responses per corpus prompt from the model the organism trains on,
seeded and cached.

Two generators. `hf` (the default) samples that model with the repo's batched generation (in a
think format the template lets it think, and a sample stops at its answer after the block): the k
samples of one prompt are one `generate` call seeded per prompt, stopped at the answer line, and
one cache entry, so a run killed midway never leaves a prompt half-sampled (a partial batch would
sample differently on resume). `openai` sends each sample as its own request with its own seed to
any OpenAI-compatible server (vLLM, `transformers serve`) through the cached, retrying backend; in a
think format the server must return the think block in the content (vLLM without a reasoning parser).
Either way the cache key is the prompt's messages plus every sampling parameter, and the seeds
come from `corpus.seed` and the prompt's position only: organism and control draw the same pool.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from organisms.cache import cache_root
from organisms.reasoning import TEXT
from organisms.spec import BackendSpec, OnPolicySpec, ReasoningSpec
from runtime.backends import make_backend
from runtime.backends.base import Messages, Usage
from runtime.backends.cache import ResponseCache, request_key


def sample_seed(corpus_seed: int, index: int, sample: int | None = None) -> int:
    """The seed of prompt `index` (hf: its k samples) or of one of its samples (openai)."""
    tag = f"on-policy:{corpus_seed}:{index}" + ("" if sample is None else f":{sample}")
    return int(hashlib.sha256(tag.encode()).hexdigest()[:8], 16)


class HFSampler:
    """k seeded samples of one prompt per `generate` call, cached as one entry (text: a JSON list)."""

    name = "hf-sampled"

    def __init__(
        self,
        model: str,
        cache_dir: Path,
        batch_size: int,
        reasoning: ReasoningSpec = TEXT,
        trust_remote_code: bool = False,
    ):
        self.model, self.batch_size, self.reasoning = model, batch_size, reasoning
        from runtime.weights import weights_key

        self.trust_remote_code = trust_remote_code
        # a local model's samples are keyed by its content too: new weights at the same path sample anew
        self.weights = weights_key(model)
        self.cache = ResponseCache(cache_dir)
        self.usage = Usage()
        self._loaded = None

    def _load(self):
        if self._loaded is None:
            from runtime.models import load_model, load_tokenizer

            model = load_model(self.model, trust_remote_code=self.trust_remote_code)
            model.eval()
            self._loaded = (model, load_tokenizer(self.model, self.trust_remote_code))
        return self._loaded

    def draw(self, messages: Messages, letters: str, params: dict) -> list[str]:
        """`params["k"]` samples of `messages` (temperature, max_tokens, seed in `params`)."""
        extra = {}
        if self.reasoning.in_block:  # text-format keys stay as they were
            extra = {"reasoning": self.reasoning.model_dump(mode="json")}
        if self.weights is not None:  # an embedded model's keys stay as they were
            extra["weights"] = self.weights
        key = request_key(self.name, self.model, messages, {**params, "stop": f"answer:{letters}", **extra})
        self.usage.requests += 1
        record = self.cache.get(key)
        if record is None:
            from organisms.parse import answer_done
            from runtime.generation import GenerationStats, chat_texts, generate_batched

            model, tokenizer = self._load()
            spent = GenerationStats()
            texts = generate_batched(
                model,
                tokenizer,
                [messages] * params["k"],
                params["max_tokens"],
                min(self.batch_size, params["k"]),
                temperature=params["temperature"],
                seed=params["seed"],
                stop=answer_done(letters, self.reasoning),
                stats=spent,
                reasoning=self.reasoning,
            )
            prompt = chat_texts(tokenizer, [messages], self.reasoning)[0]
            n_in = len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) * params["k"]
            record = {"text": json.dumps(texts), "prompt_tokens": n_in, "completion_tokens": spent.tokens}
            self.cache.put(key, record)
            self.usage.fetched += 1
            self.usage.fetched_prompt_tokens += n_in
            self.usage.fetched_completion_tokens += spent.tokens
        else:
            self.usage.cache_hits += 1
        self.usage.prompt_tokens += record["prompt_tokens"]
        self.usage.completion_tokens += record["completion_tokens"]
        return json.loads(record["text"])


class Generator:
    """Who samples the pool: `draw(prompts) -> k texts per prompt`, in input order, cached."""

    def __init__(
        self,
        recipe: OnPolicySpec,
        base_model: str,
        corpus_seed: int,
        reasoning: ReasoningSpec = TEXT,
        trust_remote_code: bool = False,
    ):
        self.recipe, self.corpus_seed = recipe, corpus_seed
        spec = recipe.generator or BackendSpec(name="hf")
        self.backend_name = spec.name
        if spec.name == "hf":
            cache_dir = Path(spec.cache_dir) if spec.cache_dir else cache_root() / "responses"
            self.model = spec.model or base_model
            trust = trust_remote_code and spec.model is None  # the spec's trust covers its own model only
            self._hf = HFSampler(self.model, cache_dir, spec.batch_size, reasoning, trust)
            self.usage = self._hf.usage
        else:
            self._backend = make_backend(spec)
            self.model = self._backend.model
            self.usage = self._backend.usage

    def describe(self) -> dict:
        r = self.recipe
        return {"backend": self.backend_name, "model": self.model, "k": r.k, "temperature": r.temperature}

    def draw(self, batch: list[tuple[int, Messages, str]]) -> list[list[str]]:
        """k samples for each (corpus index, messages, option letters)."""
        r = self.recipe
        if self.backend_name == "hf":
            return [
                self._hf.draw(
                    messages,
                    letters,
                    {
                        "k": r.k,
                        "temperature": r.temperature,
                        "max_tokens": r.max_tokens,
                        "seed": sample_seed(self.corpus_seed, index),
                    },
                )
                for index, messages, letters in batch
            ]
        conversations = [messages for _, messages, _ in batch for _ in range(r.k)]
        seeds = [sample_seed(self.corpus_seed, index, j) for index, _, _ in batch for j in range(r.k)]
        texts = self._backend.complete(
            conversations, temperature=r.temperature, max_tokens=r.max_tokens, seeds=seeds, desc="samples"
        )
        return [texts[i * r.k : (i + 1) * r.k] for i in range(len(batch))]
