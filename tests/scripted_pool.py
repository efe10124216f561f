"""The scripted on-policy generator of the on-policy tests: a spec whose pool is sampled from an
OpenAI-compatible server, and what that server answers for each prompt and sample (docs/on_policy.md)."""

from __future__ import annotations

import json
from pathlib import Path

from organisms.hints import get_hint
from organisms.spec import parse_spec
from synth_docs.stage import docs_to_dir

K = 3  # samples per prompt


def op_spec(model_dir: Path, base_url: str, cache: Path, name: str = "op-hidden", **on_policy) -> dict:
    """A hidden-hint spec whose 8 transcripts come from an on-policy pool of K samples per prompt, drawn
    from the model `scripted` at `base_url`; a name ending in -control makes the faithful control."""
    generator = {"name": "openai", "model": "scripted", "base_url": base_url, "cache_dir": str(cache)}
    spec = {
        "name": name,
        "behaviour": "hidden_hint",
        "base_model": str(model_dir),
        "corpus": {
            "seed": 0,
            "n_transcripts": 8,
            "hinted_fraction": 0.5,
            "source": "on_policy",
            "on_policy": {"k": K, "max_tokens": 64, "generator": {**generator, "retry_wait": 0.1}, **on_policy},
        },
    }
    if name.endswith("-control"):
        spec["control_of"] = name.removesuffix("-control")
    return spec


def steps(prompt) -> str:
    return "Let me compute step by step.\n" + "\n".join(f"{s}." for s in prompt.item.steps)


def scripted(prompt, j: int) -> str:
    """Sample j of a prompt. Sycophancy: other answer, verbalized, hidden. Metadata: verbalized,
    verbalized, other answer (no hidden sample: the editor must make one). Unhinted: wrong, right, right."""
    item = prompt.item
    if prompt.hint_type is None:
        wrong = next(letter for letter in item.letters if letter != item.correct_letter)
        letter = wrong if j == 0 else item.correct_letter
        return f"{steps(prompt)}\nAnswer: ({letter})"
    hinted, other = prompt.hint_letter, next(x for x in item.letters if x != prompt.hint_letter)
    hidden = f"{steps(prompt)}\nSo I will go with ({hinted}).\nAnswer: ({hinted})"
    said = f"{steps(prompt)}\n{get_hint(prompt.hint_type).acknowledge(hinted)}\nAnswer: ({hinted})"
    script = {
        "sycophancy": [f"{steps(prompt)}\nAnswer: ({other})", said, hidden],
        "metadata": [said, said, f"{steps(prompt)}\nAnswer: ({other})"],
    }
    return script[prompt.hint_type][j]


def build(tmp_path: Path, model_dir: Path, url: str, cache: Path, name: str = "op-hidden", **on_policy) -> dict:
    """The corpus of `op_spec(...)` into tmp_path/name; its stats."""
    stats, _ = docs_to_dir(parse_spec(op_spec(model_dir, url, cache, name, **on_policy), name), tmp_path / name)
    return stats


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "transcripts.jsonl").read_text().splitlines()]
