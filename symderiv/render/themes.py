"""The Beamer themes ``build --theme`` accepts, and how much height each leaves a frame's body.

The layout packs steps into frames by their estimated heights, so it needs to know the room a theme
leaves under its head- and footline. The heights are measured (``tests/test_themes.py`` compiles a
frame of each theme and checks the figure): a frame with a title and a subtitle and a rule of the
given height fits, and one a millimetre taller overflows. Themes with a sidebar (Berkeley,
PaloAlto, ...) are not offered: they narrow the text, which the widths of the steps do not allow for.
"""

from __future__ import annotations

from symderiv.render import layout

#: theme -> usable body height under a title and subtitle, in mm ("" is symderiv's own plain look).
BODY_HEIGHT = {
    "": 70.8,
    "default": 70.8,
    "Boadilla": 67.6,
    "Madrid": 67.6,
    "CambridgeUS": 67.6,
    "AnnArbor": 67.6,
    "Pittsburgh": 71.6,
    "Rochester": 69.6,
    "Copenhagen": 64.6,
    "Warsaw": 64.6,
    "Singapore": 63.4,
    "Frankfurt": 63.4,
    "Darmstadt": 63.4,
    "Berlin": 58.6,
    "Malmoe": 64.6,
    "Montpellier": 66.4,
    "Antibes": 66.4,
    "JuanLesPins": 66.4,
    "Luebeck": 64.6,
    "Dresden": 58.6,
    "Ilmenau": 58.6,
    "Szeged": 66.4,
    "Bergen": 70.8,
}


def names() -> list[str]:
    """The themes ``--theme`` accepts, sorted."""
    return sorted(name for name in BODY_HEIGHT if name)


def frame_height(theme: str) -> float:
    """The height the layout plans a frame's body with under ``theme``."""
    return layout.FRAME_HEIGHT - (BODY_HEIGHT[""] - BODY_HEIGHT[theme])
