"""The built-in catalogue (`organisms/catalog/*.yaml`) and name-or-path resolution."""

from __future__ import annotations

from pathlib import Path

from organisms.errors import OrganismError
from organisms.spec import OrganismSpec, load_spec_file

CATALOG_DIR = Path(__file__).parent / "catalog"


def catalog_names() -> list[str]:
    return sorted(p.stem for p in CATALOG_DIR.glob("*.yaml"))


def resolve_spec(name_or_path: str) -> OrganismSpec:
    """A catalogue name (`hidden-hint`), a path to a YAML spec, or a run directory (its spec.yaml)."""
    path = Path(name_or_path)
    if path.is_dir():
        if not (path / "spec.yaml").is_file():
            raise OrganismError(
                f"{path}: a directory without spec.yaml; pass a catalogue name, a spec YAML or a run directory "
                "(runs/<organism>/<run-id>)"
            )
        return load_spec_file(path / "spec.yaml")
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise OrganismError(f"{path}: spec file not found; check the path")
        return load_spec_file(path)
    candidate = CATALOG_DIR / f"{name_or_path}.yaml"
    if candidate.exists():
        return load_spec_file(candidate)
    raise OrganismError(
        f"unknown organism '{name_or_path}': not a catalogue name ({', '.join(catalog_names())}) "
        "and not a YAML file; run `organism list`"
    )


def control_spec_for(spec: OrganismSpec) -> OrganismSpec | None:
    """The catalogue's matched control of `spec`, if it has one."""
    for name in catalog_names():
        other = load_spec_file(CATALOG_DIR / f"{name}.yaml")
        if other.control_of == spec.name:
            return other
    return None
