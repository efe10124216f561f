"""Every localization method on one loaded model (base + organism adapter), with shared inputs.

Used by the `analyze` stage and by the ground-truth localization benchmark. No method reads
the adapter's config or weights: each only switches the adapter on and off (`use_adapter`).
Each result carries `layer_score`, one number per decoder layer (higher: more implicated).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from transformers import BatchEncoding, PreTrainedTokenizerBase

from analyze.methods.attribution import agreement, attribution_sweep
from analyze.methods.behaviour import DecisionPrompt, LogitDiff, encode_left
from analyze.methods.hooks import decoder_layers
from analyze.methods.kl import lens_kl_per_layer
from analyze.methods.lens import activation_difference_lens
from analyze.methods.patching import clean_runs, patching_sweep
from analyze.methods.probes import probe_sweep
from analyze.methods.steering import diff_vectors, steering_sweep
from organisms.spec import AnalyzeSpec

# The methods whose layer scores are behavioural (black-box on the weights), in report order.
METHODS = ("patching", "attribution", "steering", "adl", "lens_kl", "probes")


@dataclass(frozen=True)
class SuiteInputs:
    """`prompts`: decision prompts, then any unhinted twins (`analyze/methods/behaviour.py`). Causal methods use
    the first `settings.items` prompts that are not twins; probes use all of them, and run only when
    there are twins (a shortcut organism's prompts have none: nothing in its input triggers it)."""

    prompts: list[DecisionPrompt]
    neutral_texts: list[str]
    settings: AnalyzeSpec


@contextlib.contextmanager
def autocast(model, bf16: bool) -> Iterator[None]:
    """bf16 autocast on the model's device (weights stay fp32), or nothing. On CPUs with bf16 matmuls
    (AVX512-BF16/AMX) a forward of the embedded model is several times faster. The residual stream
    stays fp32 (fp32 embedding + bf16 module outputs); the unembedding is run in fp32 so logits (and
    the logit-difference metric) are not rounded to bf16 (0.125 apart at |logit| ~ 20)."""
    if not bf16:
        yield
        return
    head = model.get_output_embeddings()
    own = vars(head).get("forward")  # an instance-level forward (e.g. an accelerate hook) to put back

    def fp32_head(hidden: torch.Tensor) -> torch.Tensor:
        with torch.autocast(model.device.type, enabled=False):
            bias = None if head.bias is None else head.bias.float()
            return torch.nn.functional.linear(hidden.float(), head.weight.float(), bias)

    head.forward = fp32_head
    try:
        with torch.autocast(model.device.type, dtype=torch.bfloat16):
            yield
    finally:
        if own is None:
            del head.forward
        else:
            head.forward = own


def encode_neutral(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> BatchEncoding:
    """Neutral texts, right-padded (ADL reads their first tokens; steering their loss)."""
    return tokenizer(texts, return_tensors="pt", padding=True, padding_side="right", add_special_tokens=False)


def run_methods(
    model, tokenizer: PreTrainedTokenizerBase, inputs: SuiteInputs, adapter: str, log=print, bf16: bool = False
) -> dict:
    """`{method: result}` for every method in METHODS (probes only with twins), plus the clean behaviour
    metric and timings."""
    with autocast(model, bf16):
        results = _run_methods(model, tokenizer, inputs, adapter, log)
    results["precision"] = "bf16 autocast" if bf16 else "fp32"
    return results


def _run_methods(model, tokenizer: PreTrainedTokenizerBase, inputs: SuiteInputs, adapter: str, log) -> dict:
    settings = inputs.settings
    hinted = [p for p in inputs.prompts if not p.twin][: settings.items]
    task_enc = encode_left(tokenizer, [p.text for p in hinted]).to(model.device)
    metric = LogitDiff(tokenizer, hinted)
    neutral_enc = encode_neutral(tokenizer, inputs.neutral_texts).to(model.device)
    n_layers = len(decoder_layers(model))
    results: dict = {"n_layers": n_layers, "n_causal_prompts": len(hinted), "seconds": {}}

    def timed(name: str, fn, *args):
        start = time.perf_counter()
        results[name] = fn(*args)
        results["seconds"][name] = round(time.perf_counter() - start, 2)
        log(f"  {name}: {results['seconds'][name]:.1f}s")

    clean = clean_runs(model, task_enc, metric, adapter)  # shared by patching, attribution and steering
    results["behaviour"] = {"metric": "mean logit[target] - logit[reference] at the decision position"}
    results["behaviour"].update({"base": clean.m_base, "organism": clean.m_org})
    task_vectors = diff_vectors(clean.base_acts, clean.org_acts, task_enc["attention_mask"], n_layers)

    timed("patching", patching_sweep, model, task_enc, metric, adapter, clean)
    timed("attribution", attribution_sweep, model, task_enc, metric, adapter, clean)
    results["attribution"]["agreement_with_patching"] = agreement(results["attribution"], results["patching"])
    steering = (settings.max_nll_increase, tuple(settings.steering_scales))
    timed("steering", steering_sweep, model, task_enc, metric, neutral_enc, clean, *steering)
    del clean  # every site's activations, twice: free them before the remaining methods
    timed("adl", activation_difference_lens, model, tokenizer, neutral_enc, adapter, task_vectors)
    timed("lens_kl", lens_kl_per_layer, model, task_enc, adapter)
    if any(p.twin for p in inputs.prompts):
        probe_enc = encode_left(tokenizer, [p.text for p in inputs.prompts]).to(model.device)
        timed("probes", probe_sweep, model, probe_enc, inputs.prompts, adapter, settings.probe_folds)
    else:
        results["behaviour"]["probes"] = "not run: no unhinted twins (nothing in the input triggers the behaviour)"
    return results
