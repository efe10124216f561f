"""Each decoder family (runtime/architecture.py; tiny random Llama, Qwen2, Qwen3, Gemma 3 from config):
train a layer-confined adapter, evaluate a few items, score, record activations and patch a layer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from peft.tuners.lora import LoraLayer
from transformers import AutoModelForCausalLM

from analyze.methods.behaviour import LogitDiff, decision_prompts, encode_left
from analyze.methods.hooks import SITE_KINDS, record_activations, site_name
from analyze.methods.lens import logit_lens
from analyze.methods.patching import clean_runs, patched_metric, patching_sweep
from evals.hinted import eval_pairs, evaluate
from organisms.spec import load_spec_file
from runtime.generation import chat_texts, generate_batched, next_token_logprobs, shared_prefix_logprobs
from runtime.models import load_model, load_tokenizer, load_with_adapters
from runtime.tiny_models import FAMILIES, GEMMA_WINDOW, build_tiny_model, tiny_config
from synth_docs.corpus import write_corpus
from tests.helpers import perturbed_organism, spec_yaml
from train.checkpoints import save_adapter
from train.data import training_rows
from train.lora import linear_module_names
from train.sft import sft_config
from train.trainer import build_trainer

N_LAYERS = 3


LINEAR = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


@pytest.fixture(scope="module", params=FAMILIES)
def tiny(request, tmp_path_factory):
    """A 3-layer tiny model of one family, its tokenizer and a spec that uses it."""
    family = request.param
    root = tmp_path_factory.mktemp(f"family-{family}")
    model_dir = build_tiny_model(root / "model", family, n_layers=N_LAYERS)
    corpus = {"seed": 0, "n_transcripts": 12, "hinted_fraction": 0.5}
    training = {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "max_length": 256, "precision": "bf16"}
    spec_file = spec_yaml(
        root / "spec.yaml", model_dir, f"tiny-{family}", corpus=corpus, training=training, lora={"r": 4, "alpha": 8}
    )
    return SimpleNamespace(dir=model_dir, spec=load_spec_file(spec_file), tokenizer=load_tokenizer(str(model_dir)))


def test_a_layer_confined_adapter_trains_saves_and_loads(tiny, tmp_path):
    """The CPU training path (lean loss, bf16 frozen base, eager attention) on an adapter confined to
    layer 1: every LoRA weight moves, nothing else does, and the saved adapter reproduces the model."""
    spec = tiny.spec.with_changes({"lora.layers": [1]}, "test")
    write_corpus(spec, tmp_path, tiny.tokenizer)
    rows, _ = training_rows(spec, tmp_path, tiny.tokenizer)
    model = load_model(str(tiny.dir))
    assert set(linear_module_names(model)) == LINEAR  # "all-linear": the LM head (tied or not) left out
    args = sft_config(spec, tmp_path / "state", report_to="none")
    args.save_strategy = "no"
    trainer = build_trainer(spec, model, args, rows, tiny.tokenizer)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    assert trainer.state.global_step == 3
    adapted = [n for n, m in trainer.model.named_modules() if isinstance(m, LoraLayer)]
    assert {n.rsplit(".", 1)[-1] for n in adapted} == LINEAR and all(".layers.1." in n for n in adapted)
    for name, param in trainer.model.named_parameters():
        assert param.requires_grad == ("lora_" in name), name
        changed = not torch.equal(param.detach(), before[name])
        assert changed == ("lora_" in name), name  # B starts at zero: A moves once B has

    save_adapter(trainer, tmp_path / "adapter")
    loaded = load_with_adapters(str(tiny.dir), {"organism": tmp_path / "adapter"})
    ids = torch.tensor([tiny.tokenizer("So I will go with (B), because 12 + 30 = 42.")["input_ids"]])
    trained_model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False).eval()  # no autocast
    with torch.no_grad():
        trained, reloaded = trained_model(ids).logits, loaded(ids).logits
        with loaded.disable_adapter():
            base = loaded(ids).logits
    torch.testing.assert_close(reloaded, trained, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(base, trained, atol=1e-4)


def teach(model, tokenizer, conversations: list[list[dict]], reply: str, max_steps: int = 300) -> None:
    """Fit the tiny model until greedy decoding continues each conversation with `reply` (a random model
    never writes an answer line by itself): Adam on the reply tokens' loss, the input embedding frozen
    (a vocab-sized update per step otherwise), until every reply token's logit leads the runner-up by
    0.3 with the reply fed in, far above the float noise between a cached and a full forward."""
    texts = [text + reply for text in chat_texts(tokenizer, conversations)]
    enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    n = len(tokenizer(reply, add_special_tokens=False)["input_ids"])
    targets = enc["input_ids"][:, -n:, None]  # left padded: every row's reply is its last n tokens
    model.get_input_embeddings().weight.requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(max_steps):
        logits = model(**enc, logits_to_keep=n + 1).logits[:, :-1]
        runner_up = logits.scatter(-1, targets, float("-inf")).amax(-1)
        if (logits.gather(-1, targets)[..., 0] - runner_up).min() > 0.3:
            break
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten()).backward()
        optimizer.step()


def test_eval_generation_stops_at_the_answer_line(tiny):
    """A few hinted items through the eval suite on a model taught to write an answer line and go on:
    left-padded batched generation with the KV cache stops each row right after its answer line."""
    model = load_model(str(tiny.dir))
    pairs = eval_pairs(tiny.spec, set())[:2]
    prompts = [p.unhinted.messages() for p in pairs] + [p.hinted.messages() for p in pairs]
    cut = "42.\nAnswer: (B)"
    teach(model, tiny.tokenizer, prompts, cut + "\nOr (C).")
    free = generate_batched(model, tiny.tokenizer, prompts, 24, batch_size=4)
    assert all(text.startswith(cut + "\n") and len(text) > len(cut) + 4 for text in free), free  # it writes on
    outcomes, records = evaluate(model, tiny.tokenizer, pairs, tiny.spec)
    assert {r["response_unhinted"] for r in records} == {r["response_hinted"] for r in records} == {cut}
    assert [(o.a_u, o.a_h) for o in outcomes] == [("B", "B")] * 2


def test_next_token_and_shared_prefix_scores_equal_plain_scoring(tiny):
    """Left-padded batches and the block-masked shared-prefix forward against one unpadded forward per
    text. The prefixes run past Gemma's 16-token sliding window."""
    model = load_model(str(tiny.dir)).eval()
    tokenizer = tiny.tokenizer
    chat = chat_texts(tokenizer, [[{"role": "user", "content": "What is 12 + 30? (A) 41 (B) 42 (C) 43"}]])[0]
    pieces = [
        [chat, "Let me compute step by step.\n", "12 + 30 = 42, since 2 + 0 = 2 and 10 + 30 = 40.\n", "So (B).\n"],
        [chat, "Short.\n"],
        ["x"],
    ]
    assert len(tokenizer(chat, add_special_tokens=False)["input_ids"]) > GEMMA_WINDOW
    suffix = "Answer: ("
    texts = [["".join(parts[: j + 1]) + suffix for j in range(len(parts))] for parts in pieces]

    def plain(text: str) -> torch.Tensor:
        ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            return torch.log_softmax(model(ids).logits[0, -1].float(), dim=-1)

    batched = next_token_logprobs(model, tokenizer, [t for row in texts for t in row], batch_size=8)
    reference = torch.stack([plain(t) for row in texts for t in row])
    torch.testing.assert_close(batched, reference, rtol=0, atol=1e-4)
    shared = shared_prefix_logprobs(model, tokenizer, pieces, suffix, batch_size=3)
    torch.testing.assert_close(torch.cat(shared), reference, rtol=0, atol=1e-4)


def test_activations_and_patching_one_layer(tiny):
    """Every site has the documented shape and the block outputs add up to the residual stream (Gemma's
    post-block norms included); patching a layer with its own activations reproduces the clean run,
    with the organism's it moves the base, and the batched sweep equals one site per forward."""
    model = perturbed_organism(tiny.dir, [1])
    tokenizer = tiny.tokenizer
    prompts = [p for p in decision_prompts(tiny.spec, tokenizer, n_items=2) if p.hinted]
    enc = encode_left(tokenizer, [p.text for p in prompts])
    batch, pos = enc["input_ids"].shape
    with torch.no_grad(), model.disable_adapter(), record_activations(model) as store:
        out = model(**enc, output_hidden_states=True)
    assert {name: tuple(t.shape) for name, t in store.items()} == {
        site_name(layer, kind): (batch, pos, 64) for layer in range(N_LAYERS) for kind in SITE_KINDS
    }
    resid = out.hidden_states[0]  # the embedding (Gemma's scaled by sqrt(hidden))
    for layer in range(N_LAYERS):
        added = store[site_name(layer, "attn_out")] + store[site_name(layer, "mlp_out")]
        torch.testing.assert_close(store[site_name(layer, "resid_post")], resid + added, rtol=1e-5, atol=1e-5)
        resid = store[site_name(layer, "resid_post")]
    last = store[site_name(N_LAYERS - 1, "resid_post")][:, -1]
    torch.testing.assert_close(logit_lens(model, last), out.logits[:, -1].float(), rtol=1e-4, atol=1e-4)

    metric = LogitDiff(tokenizer, prompts)
    clean = clean_runs(model, enc, metric, "organism")
    assert abs(clean.m_org - clean.m_base) > 1e-3
    for kind in SITE_KINDS:
        name = site_name(1, kind)
        own = patched_metric(model, enc, metric, None, {name: clean.base_acts[name]})
        assert own == pytest.approx(clean.m_base, abs=1e-5)
        patched = patched_metric(model, enc, metric, None, {name: clean.org_acts[name]})
        assert abs(patched - clean.m_base) > 1e-4
    batched = patching_sweep(model, enc, metric, "organism", clean)
    reference = patching_sweep(model, enc, metric, "organism", clean, batched=False)
    for kind in SITE_KINDS:
        assert batched["organism_to_base"][kind] == pytest.approx(reference["organism_to_base"][kind], abs=1e-5)
        assert batched["base_to_organism"][kind] == pytest.approx(reference["base_to_organism"][kind], abs=1e-5)
        assert batched["organism_to_base"][kind][0] == pytest.approx(clean.m_base, abs=1e-5)  # before layer 1
    assert batched["recovery"]["resid_post"][1] == pytest.approx(1.0, abs=1e-4)


def test_logit_lens_caps_logits_as_the_model_does():
    """Gemma 2 soft-caps its logits (c * tanh(logits / c), c = 30); the lens of the last layer's
    residual stream is the model's own logits only if it caps them too (a small c makes it matter)."""
    config = tiny_config("gemma", vocab_size=1000, n_layers=2, special={})
    config.final_logit_softcapping = 0.5
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    ids = torch.randint(0, 1000, (2, 9))
    with torch.no_grad(), record_activations(model, ("resid_post",)) as store:
        logits = model(ids).logits
    assert logits.abs().max() <= 0.5
    torch.testing.assert_close(logit_lens(model, store[site_name(1, "resid_post")]), logits, rtol=1e-5, atol=1e-5)
