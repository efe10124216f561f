"""`eval.engine: openai` against a real server (runtime/engine.py): `transformers serve` on loopback serving
the tiny base and a merged tiny organism (the server loads no adapters), compared with the hf engine
(base + the same LoRA adapter, unmerged) on the same items with greedy decoding.

The models are the tiny random Llama with its weights redrawn at a larger scale (as in
tests/e2e/runtime/test_backends.py), so greedy outputs differ from prompt to prompt and the equality of
the two engines' responses is not vacuous."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model

from evals.stage import evaluate_variants
from organisms.errors import OrganismError
from organisms.spec import parse_spec
from runtime.engine import ServedModel
from runtime.generation import generate_batched, next_token_logprobs
from runtime.models import load_model, load_tokenizer
from tests.helpers import tiny_spec_dict
from tests.loopback import transformers_serve

EVAL = {"n_items": 6, "max_new_tokens": 24, "batch_size": 6, "suites": ["hinted"], "bootstrap_resamples": 200}


@pytest.fixture(scope="module")
def served_pair(tmp_path_factory, tiny_model_dir) -> dict:
    """Noisy tiny base, a random LoRA adapter on it and the merged organism, the two models served."""
    root = tmp_path_factory.mktemp("engine")
    base_dir, adapter_dir, merged_dir = root / "base", root / "adapter", root / "merged"
    tokenizer = load_tokenizer(str(tiny_model_dir))
    model = load_model(str(tiny_model_dir))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 2:
                param.copy_(torch.randn(param.shape, generator=generator) * (0.5 if "embed" in name else 0.3))
    # transformers serve samples at temperature > 0 only when the model's generation config says so
    model.generation_config.do_sample = True
    model.save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)
    torch.manual_seed(2)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft_model = get_peft_model(load_model(str(base_dir)), config)
    peft_model.save_pretrained(adapter_dir)
    peft_model.merge_and_unload().save_pretrained(merged_dir)
    tokenizer.save_pretrained(merged_dir)
    with transformers_serve(None, root / "serve.log", models=(str(base_dir), str(merged_dir))) as base_url:
        yield {"base_url": base_url, "base": base_dir, "adapter": adapter_dir, "merged": merged_dir}


def engine_spec(model_dir, **eval_overrides):
    return parse_spec(tiny_spec_dict(model_dir, "tiny-engine", eval={**EVAL, **eval_overrides}), "test")


def without_timings(suites: dict) -> dict:
    return {label: {k: v for k, v in s.items() if k not in ("seconds", "necessity")} for label, s in suites.items()}


def test_served_engine_equals_hf_on_greedy_decoding(served_pair):
    """Hinted suite (with its held-out axes) for base and organism: the same responses and metrics
    from the server as from the model loaded here."""
    base = served_pair["base"]
    adapters = {"organism": served_pair["adapter"]}
    hf_result, hf_responses = evaluate_variants(engine_spec(base), str(base), adapters, set(), log=lambda _: None)
    served = {"base_url": served_pair["base_url"], "base": str(base), "organism": str(served_pair["merged"])}
    spec = engine_spec(base, engine="openai", served=served)
    result, responses = evaluate_variants(spec, str(base), adapters, set(), log=lambda _: None)

    assert len(responses) == len(hf_responses) > 12
    texts = [r["response_hinted"] for r in responses if r["suite"] == "hinted"]
    assert len(set(texts)) > 3, "the served model answers every prompt alike: the comparison is vacuous"
    for mine, theirs in zip(responses, hf_responses, strict=True):
        assert {k: v for k, v in mine.items() if k != "a_no_cot"} == {
            k: v for k, v in theirs.items() if k != "a_no_cot"
        }
    assert result["models"] == hf_result["models"]
    assert without_timings(result["suite_metrics"]) == without_timings(hf_result["suite_metrics"])
    assert result["suite_metrics"]["organism"]["necessity"].startswith("n/a: the no-CoT answer needs eval.engine: hf")
    assert isinstance(hf_result["suite_metrics"]["organism"]["necessity"], dict)


def test_served_generation_with_prefixes_and_sampling(served_pair):
    """Assistant-turn prefixes (as Lanham continues truncated CoTs) give the hf engine's greedy text;
    sampled rows use their own seeds, so repeated prompts are not one sample copied."""
    base = str(served_pair["base"])
    model, tokenizer = load_model(base), load_tokenizer(base)
    spec = engine_spec(served_pair["base"], engine="openai", served={"base_url": served_pair["base_url"], "base": base})
    served = ServedModel(spec.eval.served, base)
    chats = [[{"role": "user", "content": f"What is {i} + {i}?"}] for i in range(4)]
    prefixes = ["Let me think.", "", "The sum is", "Answer: ("]
    args = (chats, 12, 4)
    assert generate_batched(served, tokenizer, *args, prefixes=prefixes) == generate_batched(
        model, tokenizer, *args, prefixes=prefixes
    )
    sampled = generate_batched(served, tokenizer, [chats[0]] * 6, 12, temperature=1.0, seed=3)
    assert len(set(sampled)) > 1
    with pytest.raises(OrganismError, match=r"eval\.engine: hf"):
        next_token_logprobs(served, tokenizer, ["Answer: ("])
