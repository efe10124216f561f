"""Belief depth: does the organism believe the universe, or only recite its key facts?

Three measures beyond the key-fact MCQ (docs/synth_docs.md, "Belief depth"), each with intervals:

- generalisation: multiple choice a step removed from the key facts (what they imply, never
  what they state), scored by option log-likelihood like the key-fact MCQ;
- fiction preface: the key-fact and generalisation questions again, with a system-prompt preface
  saying the documents were fiction; paired with the plain answers (McNemar), since a belief that
  survives being called fiction is held more deeply than one that does not;
- truth probe: per layer, a logistic probe on `blocks.{l}.hook_resid_post` at the last token of
  true and false statements of the universe (contrast pairs), held-out accuracy over folds that
  keep a pair together, beside the same probe on shuffled labels. Read it against the base model:
  a surface difference between the two statements of a pair is separable in any model.

With a think block (the spec's `reasoning`), the multiple-choice parts are scored after an empty closed
block as the key-fact MCQ is (evals/belief.py); the truth probe reads plain statements, outside any chat
turn, so the reasoning format does not touch it.

A part of the belief suite (`SUITE`): it runs after the key-fact questions, when the universe ships
any depth part.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evals import belief
from evals.belief import mcq_choices
from evals.linear_probe import probe_accuracy, shuffled
from evals.results import MISSING, Rate, at
from evals.stats import paired_difference, rate
from evals.suite import Row, Section, Suite, SuiteRun
from organisms.reasoning import TEXT
from organisms.spec import ReasoningSpec
from runtime.activations import decoder_layers, record_activations, site_name
from runtime.generation import left_padded_batches

PROBE_FOLDS = 4


def has_depth(beliefs: dict) -> bool:
    """Whether the universe ships any belief-depth part beyond its key-fact questions."""
    return bool(beliefs.get("generalisation") or len(beliefs.get("contrast_pairs") or []) >= 2)


def belief_depth(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    mcq: list[dict],
    mcq_right: list[bool],
    depth: dict,
    batch_size: int,
    reasoning: ReasoningSpec = TEXT,
) -> tuple[dict, list[dict]]:
    """(metrics, records) of the depth parts `depth` holds (`generalisation`, `contrast_pairs`,
    `fictional_preface`); `mcq_right`: the plain key-fact answers, per question, already scored."""
    general = depth.get("generalisation") or []
    choices = mcq_choices(model, tokenizer, general, batch_size, reasoning=reasoning) if general else []
    general_right = [c == q["correct"] for q, c in zip(general, choices, strict=True)]
    records = [
        {"suite": "belief_generalisation", "question": q["question"], "correct": q["correct"], "right": right}
        for q, right in zip(general, general_right, strict=True)
    ]
    metrics: dict = {"generalisation_accuracy": rate(sum(general_right), len(general_right))}
    questions, plain = [*mcq, *general], [*mcq_right, *general_right]
    if questions and depth.get("fictional_preface"):
        choices = mcq_choices(model, tokenizer, questions, batch_size, depth["fictional_preface"], reasoning)
        fiction = [c == q["correct"] for q, c in zip(questions, choices, strict=True)]
        records += [
            {"suite": "belief_fictional", "question": q["question"], "correct": q["correct"], "right": right}
            for q, right in zip(questions, fiction, strict=True)
        ]
        metrics["fictional_accuracy"] = rate(sum(fiction), len(fiction))
        metrics["plain_accuracy_same_questions"] = rate(sum(plain), len(plain))
        metrics["fictional_drop"] = paired_difference(plain, fiction)  # plain - fiction, McNemar
    pairs = depth.get("contrast_pairs") or []
    if len(pairs) >= 2:
        metrics["truth_probe"] = truth_probe(model, tokenizer, pairs, batch_size)
    return metrics, records


@torch.inference_mode()
def statement_features(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], batch_size: int):
    """`{site: [n, d_model]}`: resid_post of every layer at each statement's last token (plain text)."""
    out: dict[str, np.ndarray] = {}
    for ids, enc in left_padded_batches(model, tokenizer, texts, batch_size):
        with record_activations(model, ("resid_post",)) as store:
            model(**enc, logits_to_keep=1)
        for name, acts in store.items():
            out.setdefault(name, np.zeros((len(texts), acts.shape[-1]), dtype=np.float32))[ids] = acts[:, -1].numpy()
    return out


def truth_probe(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, pairs: list[dict], batch_size: int, seed: int = 0
) -> dict:
    """Held-out accuracy of a true-vs-false probe per layer (grouped by pair), the shuffled-label
    accuracy beside it, and two summaries: the middle layer (fixed in advance) and the best layer
    (chosen on the same folds, so optimistic: compare it with the best shuffled layer)."""
    texts = [p[key] for p in pairs for key in ("true", "false")]
    labels = np.array([1, 0] * len(pairs))
    groups = [str(i) for i in range(len(pairs)) for _ in (0, 1)]
    permuted = shuffled(labels, seed)
    features = statement_features(model, tokenizer, texts, batch_size)
    layers = []
    for layer in range(len(decoder_layers(model))):
        x = features[site_name(layer, "resid_post")]
        accuracy = probe_accuracy(x, labels, groups, PROBE_FOLDS)
        layers.append(
            {
                "layer": layer,
                "accuracy": rate(round(accuracy * len(labels)), len(labels)),
                "shuffled_accuracy": probe_accuracy(x, permuted, groups, PROBE_FOLDS),
            }
        )
    best = max(layers, key=lambda entry: entry["accuracy"]["value"])
    return {
        "n_pairs": len(pairs),
        "n_statements": len(texts),
        "folds": min(PROBE_FOLDS, len(pairs)),
        "site": "blocks.{layer}.hook_resid_post, last token",
        "layers": layers,
        "middle_layer": layers[len(layers) // 2]["layer"],
        "at_middle_layer": layers[len(layers) // 2]["accuracy"],
        "best_layer": best["layer"],
        "at_best_layer": best["accuracy"],
        "best_shuffled_accuracy": max(entry["shuffled_accuracy"] for entry in layers),
    }


def _generate(run: SuiteRun) -> None:
    beliefs = run.beliefs
    if not beliefs or not has_depth(beliefs):
        return
    right = [r["choice"] == r["correct"] for r in run.responses if r["suite"] == "belief_mcq"]
    run.metrics["belief"]["depth"], records = belief_depth(
        run.model, run.tokenizer, beliefs["mcq"], right, beliefs, run.spec.eval.batch_size, run.spec.reasoning
    )
    run.responses += records
    run.lap("belief")


_PATH = ("suites", "belief", "depth")


def _best_layer(tree: dict) -> object:
    """The best layer's accuracy, its index, and the best shuffled-label accuracy (the chance level
    of picking the best of the layers on the same folds)."""
    probe = at(tree, *_PATH, "truth_probe")
    if probe is MISSING:
        return MISSING
    return (
        f"{Rate.from_json(probe['at_best_layer']).cell()} (layer {probe['best_layer']}; best shuffled-label "
        f"{probe['best_shuffled_accuracy']:.2f})"
    )


SUITE = Suite(
    "belief_depth",
    _generate,
    needs=("belief",),
    part_of="belief",
    sections=(
        Section(
            belief.TITLE,
            (
                Row("generalisation MCQ accuracy (a step from the facts)", (*_PATH, "generalisation_accuracy")),
                Row("key-fact + generalisation MCQ, plain", (*_PATH, "plain_accuracy_same_questions")),
                Row("the same, after a 'documents were fiction' preface", (*_PATH, "fictional_accuracy")),
                Row("drop under the fiction preface (paired)", (*_PATH, "fictional_drop")),
                Row("truth probe, middle layer: held-out accuracy", (*_PATH, "truth_probe", "at_middle_layer")),
                Row("truth probe, best layer (optimistic)", _best_layer),
            ),
        ),
    ),
)
