"""The ADL token lists beside the same lists for baselines, so that noise reads as noise.

The logit lens of any residual perturbation returns some tokens: often rare sub-words with
large unembedding rows, whatever the perturbation. So each organism list is set beside the
same readout (same neutral text, first k tokens, top k) for

    random   the equal-norm random adapter (`analyze/methods/random_adapter.py`): a finetune of the
             organism's size that learned nothing
    control  the matched control, when the run has one: it shares everything with the
             organism but the one property

A token of the organism's list that is also in a baseline's lists (at any layer) is shared
with that baseline: one in the random lists is noise, one in the control's lists comes from
what organism and control share (format, task), not from the property.
"""

from __future__ import annotations

from transformers import BatchEncoding, PreTrainedTokenizerBase

from analyze.methods.lens import lens_readout


def tokens_of(top_tokens: list[list]) -> list[list[str]]:
    """`[[token, logit], ...]` per layer -> the tokens only."""
    return [[token for token, _ in row] for row in top_tokens]


def shared_tokens(organism: list[list[str]], baseline: list[list[str]]) -> list[list[str]]:
    """Per layer, the organism's tokens that appear anywhere in the baseline's lists (in list order)."""
    seen = {token for row in baseline for token in row}
    return [[token for token in row if token in seen] for row in organism]


def lens_baselines(
    model,
    tokenizer: PreTrainedTokenizerBase,
    neutral_enc: BatchEncoding,
    organism_adl: dict,
    adapters: dict[str, str],
    random_seed: int,
) -> dict:
    """Lists, relative norms and shared tokens of the organism's ADL (`adl.json`) and of each
    baseline in `adapters` (`{"random" | "control": loaded adapter name}`), read as ADL reads."""
    k = organism_adl["first_k_tokens"]
    top_k = len(organism_adl["top_tokens"][0])
    organism = tokens_of(organism_adl["top_tokens"])
    result: dict = {
        "first_k_tokens": k,
        "top_k": top_k,
        "random_seed": random_seed,
        "lists": {"organism": organism},
        "relative_norm": {"organism": organism_adl["relative_norm"]},
        "shared": {},
    }
    for label, adapter in adapters.items():
        readout, _ = lens_readout(model, tokenizer, neutral_enc, adapter, k, top_k)
        result["lists"][label] = tokens_of(readout["top_tokens"])
        result["relative_norm"][label] = readout["relative_norm"]
        result["shared"][label] = shared_tokens(organism, result["lists"][label])
    return result
