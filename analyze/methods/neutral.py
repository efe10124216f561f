"""Neutral text: generic documents unrelated to the organism's task, for the Activation
Difference Lens (its first tokens) and for steering calibration (next-token loss)."""

from __future__ import annotations

from pathlib import Path

from organisms.errors import OrganismError

NEUTRAL_TEXTS = (
    "The river rises in the northern hills and flows south through farmland before it reaches the sea. "
    "In spring the water is cold and fast; by late summer it is slow enough to wade across.",
    "Bread is made from flour, water, salt and yeast. The dough is kneaded, left to rise, shaped, "
    "and baked in a hot oven until the crust is brown and the loaf sounds hollow when tapped.",
    "The library opens at nine in the morning and closes at six in the evening. Visitors may borrow "
    "up to five books at a time and return them at any branch in the city.",
    "Most songbirds build a new nest every year. The female usually chooses the site, and the pair "
    "gathers twigs, grass and moss, lining the cup with feathers or soft hair.",
    "A bicycle chain should be cleaned and oiled every few hundred kilometres. Dirt wears the teeth "
    "of the gears, and a dry chain makes pedalling noisy and less efficient.",
    "The museum's new wing holds paintings from the nineteenth century, including landscapes, "
    "portraits of merchants and their families, and several views of the old harbour.",
    "Tomatoes grow best in full sun with regular watering. Gardeners often tie the stems to stakes "
    "so that the heavy fruit does not pull the plant over.",
    "The train leaves the central station every half hour. On weekends the service is reduced, "
    "and the last train of the night departs shortly before midnight.",
)


def load_neutral_texts(path: Path | None = None) -> list[str]:
    """The built-in texts, or one text per non-empty line of `path`."""
    if path is None:
        return list(NEUTRAL_TEXTS)
    try:
        lines = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise OrganismError(
            f"{path}: cannot read neutral texts ({exc.strerror}); pass a text file, one per line"
        ) from None
    if len(lines) < 2:
        raise OrganismError(f"{path}: need at least 2 neutral texts (one per line), found {len(lines)}")
    return lines
