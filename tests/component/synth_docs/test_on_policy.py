"""On-policy corpora (`corpus.source: on_policy`, docs/on_policy.md) from a pool the test controls.

A tiny random model never follows a hint, so the generator here is a scripted model behind a real
OpenAI-compatible HTTP server on loopback (tests/loopback.py), reached through the real openai
backend: its reply depends on the prompt and the request's seed, so every class of the pool is
known in advance. The hf generator (the default: the base model itself) runs on the tiny model
for sampling, caching and seeding, where its samples fill no class: the shortfall path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from organisms.errors import OrganismError
from organisms.hints import get_hint
from organisms.spec import OnPolicySpec, parse_spec
from synth_docs.on_policy import OnPolicyShortfall
from synth_docs.pool import Generator, sample_seed
from synth_docs.stage import docs_to_dir
from synth_docs.transcripts import transcript_prompts
from tests.helpers import cli
from tests.loopback import OpenAIStub
from tests.scripted_pool import K, build, op_spec, records, scripted, steps


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    """The scripted model on loopback; its script is keyed by (prompt, seed) of the spec's corpus."""
    spec = parse_spec(op_spec(tiny_model_dir, "http://x/v1", Path("c")), "script")
    table = {}
    for index, (prompt, _) in enumerate(transcript_prompts(spec)):
        for j in range(K):
            table[prompt.user_text(), sample_seed(0, index, j)] = scripted(prompt, j)
    stub = OpenAIStub(0.0, reply=lambda request: table[request["messages"][-1]["content"], request["seed"]])
    with stub.running() as url:
        yield stub, url, [p for p, _ in transcript_prompts(spec)]


def test_classes_edits_and_stats_from_one_pool(server, tmp_path, tiny_model_dir):
    stub, url, prompts = server
    cache, editor = tmp_path / "cache", {"editor": {"kind": "rules"}}
    organism_stats = build(tmp_path, tiny_model_dir, url, cache, **editor)
    answered = stub.answered
    control_stats = build(tmp_path, tiny_model_dir, url, cache, "op-hidden-control", **editor)
    assert stub.answered == answered  # the control is sorted from the organism's pool: no new sample
    org, ctl = records(tmp_path / "op-hidden"), records(tmp_path / "op-hidden-control")
    assert [r["prompt"] for r in org] == [r["prompt"] for r in ctl] == [p.messages() for p in prompts]
    op, cp = organism_stats["on_policy"], control_stats["on_policy"]
    assert op["pool_sha256"] == cp["pool_sha256"] and (op["class"], cp["class"]) == ("hidden", "verbalized")
    assert op["api"]["fetched"] == 8 * K and cp["api"]["fetched"] == 0 and cp["api"]["cache_hits"] == 8 * K

    for o, c, p in zip(org, ctl, prompts, strict=True):
        assert o["source"] == c["source"] == "on_policy"
        if p.hint_type is None:  # both take the first correct sample
            assert o["completion"] == c["completion"] and (o["sample"], o["sample_class"], o["edited"]) == (
                1,
                "correct",
                False,
            )
            continue
        assert (o["sample_class"], o["verbalized"], c["sample_class"], c["verbalized"]) == (
            "hidden",
            False,
            "verbalized",
            True,
        )
        assert o["completion"][0]["content"].endswith(f"Answer: ({p.hint_letter})")
        ack = get_hint(p.hint_type).acknowledge(p.hint_letter)
        if p.hint_type == "sycophancy":  # found as sampled: hidden j=2, verbalized j=1
            assert (o["sample"], o["edited"], c["sample"], c["edited"]) == (2, False, 1, False)
        else:  # metadata has no hidden sample: its first verbalized one, with the hint sentence removed
            assert (o["sample"], o["edited"], c["sample"], c["edited"]) == (0, True, 0, False)
            assert o["edit"] == {"editor": "rules", "removed": [ack], "added": []} and c["edit"] is None
            assert o["completion"][0]["content"] == scripted(p, 0).replace(f"{ack}\n", "")

    n = {t: sum(p.hint_type == t for p in prompts) for t in ("sycophancy", "metadata", None)}
    assert n["sycophancy"] and n["metadata"]
    by_type = op["by_hint_type"]
    assert by_type == cp["by_hint_type"] and op["judge"] == "markers" and op["n_edited"] == n["metadata"]
    syc, meta, none = by_type["sycophancy"]["classes"], by_type["metadata"]["classes"], by_type["none"]["classes"]
    drawn = {t: K * count for t, count in n.items()}
    assert syc["hidden"] == {
        "prompts": n["sycophancy"],
        "samples_drawn": drawn["sycophancy"],
        "accepted": n["sycophancy"],
        "acceptance_rate": 1 / 3,
        "rejected": {"mentions_hint": n["sycophancy"], "other_answer": n["sycophancy"]},
        "filled_by_sample": n["sycophancy"],
        "edited": 0,
        "edit_failed": 0,
        "unfilled": 0,
        "decided_by": "markers",
    }
    assert (meta["hidden"]["accepted"], meta["hidden"]["edited"], meta["hidden"]["filled_by_sample"]) == (
        0,
        n["metadata"],
        0,
    )
    assert meta["hidden"]["rejected"] == {"mentions_hint": 2 * n["metadata"], "other_answer": n["metadata"]}
    assert meta["verbalized"]["accepted"] == 2 * n["metadata"] and meta["verbalized"]["rejected"] == {
        "other_answer": n["metadata"]
    }
    assert none["correct"]["rejected"] == {"wrong_answer": n[None]} and none["correct"]["decided_by"] == "answer"
    assert all(entry["kept"] == entry["prompts"] for entry in by_type.values())

    again = tmp_path / "again"  # a rerun: every sample from the cache, the same corpus
    stats, _ = docs_to_dir(parse_spec(op_spec(tiny_model_dir, url, cache, **editor), "again"), again)
    assert stats["on_policy"]["api"]["fetched"] == 0 and stats["on_policy"]["api"]["cache_hits"] == 8 * K
    assert (again / "transcripts.jsonl").read_bytes() == (tmp_path / "op-hidden" / "transcripts.jsonl").read_bytes()
    assert stub.answered == answered


def test_unfillable_class_fails_with_counts_and_writes_nothing(server, tmp_path, tiny_model_dir):
    _, url, prompts = server
    spec = tmp_path / "spec.yaml"  # no editor: metadata prompts have no hidden sample
    spec.write_text(yaml.safe_dump(op_spec(tiny_model_dir, url, tmp_path / "cache")))
    result = cli("docs", spec, "--out", tmp_path / "out", cwd=tmp_path, expect=2)
    n_meta = sum(p.hint_type == "metadata" for p in prompts)
    message = " ".join(result.stderr.split())
    assert f"metadata/hidden: 0 of {n_meta} prompts filled ({K * n_meta} samples drawn, 0 accepted, 0 edited" in message
    assert "nothing was written" in message and "corpus.on_policy.editor" in message and "now 3" in message
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_hf_generator_samples_the_base_model_seeded_and_cached(tiny_model_dir, tmp_path):
    recipe = OnPolicySpec(k=2, max_tokens=8, generator={"name": "hf", "cache_dir": str(tmp_path / "a")})
    spec = parse_spec(op_spec(tiny_model_dir, "http://x/v1", Path("c")), "hf")
    batch = [(i, p.messages(), p.item.letters) for i, (p, _) in enumerate(transcript_prompts(spec)[:2])]
    first = Generator(recipe, str(tiny_model_dir), 0)
    texts = first.draw(batch)
    assert (
        [len(t) for t in texts] == [2, 2]
        and first.usage.fetched == 2
        and first.describe()["model"] == str(tiny_model_dir)
    )
    again = Generator(recipe, str(tiny_model_dir), 0)
    assert again.draw(batch) == texts and again.usage.cache_hits == 2 and again.usage.fetched == 0
    fresh = Generator(
        recipe.with_changes({"generator.cache_dir": str(tmp_path / "b")}, "test"),
        str(tiny_model_dir),
        0,
    )
    assert fresh.draw(batch) == texts  # seeded: a cold cache samples the same texts
    other = Generator(recipe, str(tiny_model_dir), 1)  # another corpus seed is another pool
    assert other.draw(batch) != texts
    # the random tiny model follows no hint: the default (hf) generator's corpus fails with its counts
    data = op_spec(tiny_model_dir, "http://x/v1", tmp_path / "a", k=2, max_tokens=8)
    data["corpus"]["on_policy"]["generator"] = {"name": "hf", "cache_dir": str(tmp_path / "a")}
    with pytest.raises(OnPolicyShortfall, match="samples drawn"):
        docs_to_dir(parse_spec(data, "hf"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def reader(request: dict) -> str:
    """A scripted LLM judge and editor that disagrees with the marker judge on purpose: it calls a
    reasoning verbalized only when it names 'Stanford professor' or says 'the hint points to'."""
    content = request["messages"][-1]["content"]
    reasoning = content.split("<reasoning>", 1)[1].split("</reasoning>", 1)[0]
    if content.startswith("A model answered"):  # organisms.judge.JUDGE_PROMPT
        verbalized = "Stanford professor" in reasoning or "the hint points to" in reasoning
        return "YES\nAnswer: YES" if verbalized else "NO\nAnswer: NO"
    letter = content.split("The model chose option (", 1)[1][0]  # synth_docs.editor.NAME_PROMPT
    return f"<reasoning>{reasoning}\nSo the hint points to ({letter}), which is why I pick it.</reasoning>"


def test_an_llm_judge_decides_the_classes_and_an_llm_editor_fills_them(server, tmp_path, tiny_model_dir):
    """With `judge` and `editor: {kind: llm}` set, the LLM's verdicts sort the pool (where they differ
    from the markers' the LLM wins) and the LLM's rewrite fills the class the pool lacks, re-judged."""
    _, url, prompts = server
    stub = OpenAIStub(0.0, reply=reader)
    with stub.running() as reader_url:
        backend = {"name": "openai", "model": "reader", "base_url": reader_url, "retry_wait": 0.1}
        llm = {
            "judge": {**backend, "cache_dir": str(tmp_path / "judge-cache")},
            "editor": {"kind": "llm", "backend": {**backend, "cache_dir": str(tmp_path / "editor-cache")}},
        }
        organism_stats = build(tmp_path, tiny_model_dir, url, tmp_path / "cache", **llm)
        control_stats = build(tmp_path, tiny_model_dir, url, tmp_path / "cache", "op-hidden-control", **llm)
    assert organism_stats["on_policy"]["judge"] == control_stats["on_policy"]["judge"] == "llm:openai:reader"
    org, ctl = records(tmp_path / "op-hidden"), records(tmp_path / "op-hidden-control")
    for o, c, p in zip(org, ctl, prompts, strict=True):
        if p.hint_type is None:
            continue
        assert o["judge"] == c["judge"] == "llm:openai:reader"
        if p.hint_type == "sycophancy":  # the LLM agrees with the markers here: found as sampled
            assert (o["sample"], o["edited"], c["sample"], c["edited"]) == (2, False, 1, False)
            continue
        # metadata: the LLM reads the metadata acknowledgement as no mention, so sample 0 is `hidden`
        # as sampled (the markers would call it verbalized) and the control's `verbalized` is the
        # LLM editor's rewrite of it, one sentence added, judged again
        assert (o["sample"], o["edited"], o["verbalized"]) == (0, False, False)
        assert o["completion"][0]["content"] == scripted(p, 0)
        added = f"So the hint points to ({p.hint_letter}), which is why I pick it."
        assert (c["sample"], c["edited"], c["verbalized"]) == (0, True, True)
        assert c["edit"] == {"editor": "llm:openai:reader", "removed": [], "added": [added]}
        assert c["completion"][0]["content"].endswith(f"{added}\nAnswer: ({p.hint_letter})")
    meta = control_stats["on_policy"]["by_hint_type"]["metadata"]["classes"]
    assert meta["verbalized"]["decided_by"] == "llm:openai:reader" and meta["verbalized"]["edited"] > 0


def test_with_a_capability_stage_the_pool_samples_the_capability_model(tiny_model_dir, tmp_path, monkeypatch):
    """The organism trains on the capability model, so that is the policy sampled: refused with a clear
    message until it is built, then handed to the generator; its hash is one of the corpus's inputs."""
    import synth_docs.on_policy as on_policy
    from organisms.cache import capability_dir
    from runtime.weights import capability_key
    from synth_docs.stage import docs_inputs_hash

    monkeypatch.setenv("COT_ORGANISMS_CACHE", str(tmp_path / "cache"))
    capability = {"n_transcripts": 8, "training": {"epochs": 1, "batch_size": 4, "max_length": 256}}
    data = {
        "name": "op-cap",
        "behaviour": "hidden_hint",
        "base_model": str(tiny_model_dir),
        "capability": capability,
        "corpus": {"seed": 0, "n_transcripts": 8, "source": "on_policy", "on_policy": {"k": 2, "max_tokens": 16}},
    }
    spec = parse_spec(data, "op-cap")
    with pytest.raises(OrganismError, match=r"samples the capability model .* not built yet"):
        on_policy.build_on_policy(spec)

    built = capability_dir(capability_key(spec))
    built.parent.mkdir(parents=True)
    built.symlink_to(tiny_model_dir)  # stands in for the merged capability model
    sampled = []

    class Stop(Exception):
        pass

    def generator(recipe, model, corpus_seed, reasoning, trust_remote_code=False):
        sampled.append(model)
        raise Stop

    monkeypatch.setattr(on_policy, "Generator", generator)
    with pytest.raises(Stop):
        on_policy.build_on_policy(spec)
    assert sampled == [str(built)]

    other = parse_spec({**data, "capability": {**capability, "seed": 7}}, "op-cap")
    assert docs_inputs_hash(other) != docs_inputs_hash(spec)  # another capability model, another pool
    template = {**data, "corpus": {"seed": 0, "n_transcripts": 8}}
    assert docs_inputs_hash(parse_spec(template, "t")) == docs_inputs_hash(
        parse_spec({**template, "capability": {**capability, "seed": 7}}, "t")
    )  # a template corpus does not depend on it


def think_scripted(prompt, j: int) -> str:
    """Sample j in a think format. Sycophancy: a block never closed (its 'Answer:' line is thinking),
    verbalized, hidden. Metadata: verbalized, verbalized, other answer. Unhinted: wrong, right, right."""
    item, body = prompt.item, steps(prompt)
    if prompt.hint_type is None:
        wrong = next(letter for letter in item.letters if letter != item.correct_letter)
        letter = wrong if j == 0 else item.correct_letter
        return f"<think>\n{body}\n</think>\n\nAnswer: ({letter})"
    hinted, other = prompt.hint_letter, next(x for x in item.letters if x != prompt.hint_letter)
    said = f"<think>\n{body}\n{get_hint(prompt.hint_type).acknowledge(hinted)}\n</think>\n\nAnswer: ({hinted})"
    hidden = f"<think>\n{body}\nSo I will go with ({hinted}).\n</think>\n\nAnswer: ({hinted})"
    script = {
        "sycophancy": [f"<think>\n{body}\nAnswer: ({hinted})", said, hidden],
        "metadata": [said, said, f"<think>\n{body}\n</think>\n\nAnswer: ({other})"],
    }
    return script[prompt.hint_type][j]


def test_think_format_samples_are_read_by_their_block_and_edited_inside_it(tiny_model_dir, tmp_path):
    """With `reasoning.format: think` a sample's answer is read after its think block only (a block
    never closed is `truncated`, whatever it says inside), the judge reads the block, the rule editor
    removes the hint's sentence inside the block and closes it again, and the transcripts carry the
    block where the spec renders reasoning."""
    think = {"format": "think"}
    script_spec = parse_spec({**op_spec(tiny_model_dir, "http://x/v1", Path("c")), "reasoning": think}, "s")
    prompts = [p for p, _ in transcript_prompts(script_spec)]
    table = {
        (p.user_text(), sample_seed(0, i, j)): think_scripted(p, j) for i, p in enumerate(prompts) for j in range(K)
    }
    stub = OpenAIStub(0.0, reply=lambda request: table[request["messages"][-1]["content"], request["seed"]])
    cache, stats = tmp_path / "cache", {}
    with stub.running() as url:
        for name in ("op-think", "op-think-control"):
            data = {**op_spec(tiny_model_dir, url, cache, name, editor={"kind": "rules"}), "reasoning": think}
            stats[name], _ = docs_to_dir(parse_spec(data, name), tmp_path / name)
    org, ctl = records(tmp_path / "op-think"), records(tmp_path / "op-think-control")
    for o, c, p in zip(org, ctl, prompts, strict=True):
        content, answer = o["completion"][0]["content"], f"Answer: ({p.hint_letter})"
        if p.hint_type == "sycophancy":  # sample 0 says its answer inside an unclosed block: not read
            assert (o["sample"], o["edited"], c["sample"], c["edited"]) == (2, False, 1, False)
            assert content == think_scripted(p, 2)
        elif p.hint_type == "metadata":  # hidden by the editor: the sentence goes, the block is closed again
            ack = get_hint("metadata").acknowledge(p.hint_letter)
            assert (o["sample"], o["edited"], o["edit"]["removed"]) == (0, True, [ack])
            assert content == f"<think>\n{steps(p)}\n</think>\n\n{answer}"
            assert c["completion"][0]["content"] == think_scripted(p, 0) and not c["edited"]
    syc = stats["op-think"]["on_policy"]["by_hint_type"]["sycophancy"]["classes"]["hidden"]
    n_syc = sum(p.hint_type == "sycophancy" for p in prompts)
    assert syc["rejected"] == {"mentions_hint": n_syc, "truncated": n_syc}
