"""The base of every spec section: strict, frozen, and changed only by validating the change again.

Validation errors become one `OrganismError` that names where the spec came from (a file, a
command-line option) and, one line per problem, the field path, what is wrong and the fix."""

from __future__ import annotations

from typing import ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, ValidationError, model_serializer
from pydantic_core import PydanticCustomError

from organisms.errors import OrganismError
from organisms.spec.run_id import leave_out

# A spec whose sections contradict each other: the message names its own field path (`field 'x': why; fix`),
# since a check across sections runs on the whole spec, where pydantic's location is the root.
CONFLICT = "spec_conflict"

ModelT = TypeVar("ModelT", bound=BaseModel)


def conflict(problem: str) -> PydanticCustomError:
    """The validation error of a check across sections; `problem` reads `field 'x': why; fix`."""
    return PydanticCustomError(CONFLICT, problem)


class Section(BaseModel):
    """Unknown keys are refused (a misspelt key is an error, not a silent default); sections are frozen, so a
    changed spec is a new, validated object with its own run id."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Where this model sits in a whole spec ('' for the spec itself), for the fields run_id.py names by path.
    spec_path: ClassVar[str | None] = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict:
        """Every dump (spec.yaml, the run id, the stage hashes) leaves out the fields of run_id.LEFT_OUT_AT."""
        dumped = handler(self)
        return dumped if self.spec_path is None else leave_out(dumped, self.spec_path)

    def with_changes(self, changes: dict[str, object], source: str) -> Self:
        """This section (or whole spec) with `changes` applied and validated again, as if written in the file:
        the one way to change a spec (a changed spec is a new run id). Keys are dotted field paths
        (`training.seed`); values are written as in YAML; errors name `source`, e.g. the command-line option
        that asked for the change."""
        data = self.model_dump(mode="json")
        for path, value in changes.items():
            *parents, key = path.split(".")
            node = data
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise OrganismError(f"{source}: {self._label()} has no section '{part}' to change '{path}' in")
                node = node[part]
            node[key] = value
        return validated(type(self), data, source)

    def _label(self) -> str:
        """How errors name this object."""
        return f"the {type(self).__name__}"


def validated(model: type[ModelT], data: dict, source: str) -> ModelT:
    """`data` validated as `model`; every problem is reported, each naming its field path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors()]
        if len(problems) == 1:
            raise OrganismError(f"{source}: {problems[0]}") from None
        listed = "\n".join(f"  {p}" for p in problems)
        raise OrganismError(f"{source}: {len(problems)} invalid fields:\n{listed}") from None


def _problem(error: dict) -> str:
    """One pydantic error as `field 'a.b': what is wrong`."""
    if error["type"] == CONFLICT:
        return error["msg"]
    msg = error["msg"]
    if error["type"] == "extra_forbidden":
        msg = "unknown key; remove it or check its spelling against `organism show hidden-hint`"
    return f"field '{_field_path(error['loc'])}': {msg}"


def _field_path(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "<root>"
