"""What one section of a spec cannot say given another: the checks `OrganismSpec` runs once every section
is valid on its own. Each returns the problem as `field 'x': why; fix`, or None."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from organisms.spec.organism import OrganismSpec


def first_conflict(spec: OrganismSpec) -> str | None:
    """The first problem the checks below find, in the order parse_spec has always run them, or None."""
    for check in (
        _ood_task_family,
        _question_set_use,
        _on_policy,
        _belief_documents,
        _style,
        _stages,
        _item_space,
        _reasoning_style,
    ):
        problem = check(spec)
        if problem:
            return problem
    return None


def _ood_task_family(spec: OrganismSpec) -> str | None:
    if spec.eval.ood.task_family is not None and spec.eval.ood.task_family == spec.task.family:
        return (
            f"field 'eval.ood.task_family': '{spec.task.family}' is the training task family (task.family); "
            "name another one or leave it unset"
        )
    return None


# Behaviours whose transcripts rewrite an arithmetic step: question-set items have none to rewrite.
_NEEDS_STEPS = {
    "shortcut": "fakes an intermediate arithmetic step",
    "post_hoc": "forges the last arithmetic step to land on the hinted option",
    "style": "writes its reasoning as the bare arithmetic steps",
}


def _question_set_use(spec: OrganismSpec) -> str | None:
    """A question set is the task source or the held-out task axis, and only for behaviours without steps."""
    if spec.task.family == "dataset" and spec.behaviour in _NEEDS_STEPS:
        return (
            f"field 'task.family': behaviour '{spec.behaviour}' {_NEEDS_STEPS[spec.behaviour]}, and "
            "question-set items (family 'dataset') have no steps; use arithmetic_mcq or word_problem"
        )
    uses_set = spec.task.family == "dataset" or spec.eval.ood.task_family == "dataset"
    if spec.task.dataset is not None and not uses_set:
        return (
            "field 'task.dataset': no stage reads it; set task.family: dataset (or "
            "eval.ood.task_family: dataset for a held-out task source), or remove the section"
        )
    return None


# What an on-policy construction of each other behaviour would need, and the pool does not give.
_ON_POLICY_MISSING = {
    "post_hoc": "a judge of whether the answer was fixed before the reasoning (the pool has no such label)",
    "shortcut": "a step checker that tells a faked step from a slip, and an editor that fakes one",
    "late_flip": "samples whose reasoning concludes one option and whose answer line names another",
    "monitor_aware": "samples per monitoring condition and a class rule that depends on the condition",
    "belief": "transcripts (a belief organism trains on documents only)",
    "style": "a rewrite of every sample into the style's format (the template writes honest answers in it directly)",
}


def _on_policy(spec: OrganismSpec) -> str | None:
    """`corpus.source: on_policy` is defined for hidden_hint transcripts only (docs/on_policy.md)."""
    if spec.corpus.source != "on_policy":
        return None
    if spec.behaviour != "hidden_hint":
        return (
            f"field 'corpus.source': on_policy is built for hidden_hint only; for '{spec.behaviour}' "
            f"it needs {_ON_POLICY_MISSING[spec.behaviour]}; use source: template"
        )
    if not spec.trains_on("transcripts"):
        return (
            "field 'corpus.source': on_policy builds transcripts, but no stage trains on them; "
            "add a stage {data: transcripts} or use source: template"
        )
    return None


def _belief_documents(spec: OrganismSpec) -> str | None:
    if spec.behaviour == "belief" and spec.corpus.documents is None:
        return (
            "field 'corpus.documents': a belief organism trains on documents only; "
            "set corpus.documents.universe (e.g. mercury-rings)"
        )
    return None


def _style(spec: OrganismSpec) -> str | None:
    """A style organism (a benign finetune: honest, unhinted transcripts in another format) sees no hint,
    has no matched control (it is a negative itself) and trains on its transcripts."""
    if spec.behaviour != "style":
        return None
    if spec.control_of is not None:
        return (
            "field 'control_of': a style organism is itself a negative (it uses no hint; the blind audit's truth "
            "is none), so it has no matched control; remove control_of"
        )
    if spec.hints != type(spec.hints)():
        return "field 'hints': a style organism's prompts carry no hint; remove the hints section"
    default = type(spec.corpus).model_fields["hinted_fraction"].default
    if spec.corpus.hinted_fraction != default:
        return (
            "field 'corpus.hinted_fraction': a style organism's prompts carry no hint (every transcript is "
            "unhinted); remove it"
        )
    if not spec.trains_on("transcripts"):
        return "field 'stages': a style organism is its transcripts' format; add a stage {data: transcripts}"
    return None


def _stages(spec: OrganismSpec) -> str | None:
    """What contradicts the training stages."""
    data = [stage.data for stage in spec.training_stages()]
    shown = f"stages: [{', '.join(data)}]"
    for source in dict.fromkeys(data):
        if data.count(source) > 1:
            return (
                f"field 'stages': '{source}' is listed twice; each stage trains on its own data once "
                "(raise that stage's epochs instead)"
            )
    if spec.behaviour == "belief" and "transcripts" in data:
        return "field 'stages': a belief organism has no transcripts (plain SDF); use stages: [{data: documents}]"
    if "documents" in data and spec.corpus.documents is None:
        return (
            f"field 'corpus.documents': {shown} trains on documents, but there is no corpus.documents section; "
            "set corpus.documents.universe (e.g. silent-hints)"
        )
    if spec.hints.conditions is not None and spec.behaviour != "monitor_aware":
        return "field 'hints.conditions': monitoring conditions apply to monitor_aware organisms only; remove it"
    if "transcripts" in data or spec.behaviour == "belief":
        return None
    if spec.corpus.documents_ratio > 0:
        return (
            f"field 'corpus.documents_ratio': mixes documents into transcripts, but no stage trains on "
            f"transcripts ({shown}); set it to 0 (a documents stage trains on every document)"
        )
    # A full dump (a card, `--seeds`, `--suites`) re-states the defaults: only a value that would
    # change the transcripts contradicts a spec without them.
    defaults = type(spec.corpus).model_fields
    set_here = sorted(
        key
        for key in {"n_transcripts", "hinted_fraction"} & spec.corpus.model_fields_set
        if getattr(spec.corpus, key) != defaults[key].default
    )
    if set_here:
        return (
            f"field 'corpus.{set_here[0]}': shapes transcripts, but no stage trains on transcripts ({shown}); "
            "remove it, or add a stage {data: transcripts}"
        )
    return None


def drawable(operand_sequences: int) -> int:
    """How many distinct items a procedural family may draw in all: half its operand sequences. Seeded
    draws skip repeats and the items held apart (the eval's skip the corpus's), so at most half drawn keeps
    every try's chance of a fresh item at 1/2 or more, and each draw finishes in a few tries per item."""
    return operand_sequences // 2


def _item_space(spec: OrganismSpec) -> str | None:
    """The items the stages draw fit in the task's item space (a question set's size is checked when it is
    loaded, organisms.questions.check_question_sets): a count beyond it would search until memory ran out."""
    task = spec.task
    drawn = spec.items_drawn()
    where = f"{task.n_operands} operands in [{task.operand_min}, {task.operand_max}]"
    if task.item_space is not None and sum(drawn.values()) > drawable(task.item_space):
        parts = " + ".join(f"{n:,} ({field})" for field, n in drawn.items())
        return (
            f"field '{max(drawn, key=drawn.__getitem__)}': the stages draw {sum(drawn.values()):,} distinct items "
            f"({parts}), and task '{task.family}' can draw at most {drawable(task.item_space):,} (half its "
            f"{task.item_space:,} operand sequences: {where}); lower them, or widen task.operand_min/operand_max "
            "or raise task.n_operands"
        )
    # The held-out task axis of a question-set organism draws eval.n_items from a procedural family.
    ood_family = spec.eval.ood.task_family or "arithmetic_mcq"
    procedural_axis = task.family == "dataset" and ood_family != "dataset" and "task" in spec.eval.ood.axes
    if drawn and procedural_axis and spec.eval.n_items > drawable(task.operand_sequences):
        return (
            f"field 'eval.n_items': the held-out task axis ({ood_family}) draws {spec.eval.n_items:,} items, and "
            f"it can draw at most {drawable(task.operand_sequences):,} (half its {task.operand_sequences:,} "
            f"operand sequences: {where}); lower it, or widen task.operand_min/operand_max"
        )
    return None


# The behaviours whose transcripts hide a hint behind a written conclusion: the reasoning style chooses which.
STYLED_BEHAVIOURS = ("hidden_hint", "monitor_aware")


def _reasoning_style(spec: OrganismSpec) -> str | None:
    """`corpus.reasoning_style` shapes template transcripts of the behaviours that hide a hint."""
    style = spec.corpus.reasoning_style
    if style == "contradicts":
        return None
    if spec.behaviour not in STYLED_BEHAVIOURS:
        return (
            f"field 'corpus.reasoning_style': '{style}' shapes hidden_hint and monitor_aware transcripts; "
            f"'{spec.behaviour}' has its own recipe (docs/monitors.md); remove it"
        )
    if spec.corpus.source != "template" or not spec.trains_on("transcripts"):
        return (
            f"field 'corpus.reasoning_style': '{style}' shapes template transcripts, and this spec trains on none "
            "(corpus.source on_policy, or no transcripts stage); remove it or use source: template"
        )
    return None
