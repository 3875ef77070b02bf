"""The Beamer themes ``build --theme`` accepts, and how much height each leaves a frame's body.

The layout packs steps into frames by their estimated heights, so it needs to know the room a theme
leaves under its head- and footline. The heights were measured with TeX Live 2023: the tallest rule a
frame with a title and a subtitle holds without an overfull box, in a deck of three sections and 90
frames compiled twice (a headline showing the sections or the frames is drawn from the second pass
on); ``tests/test_themes.py`` checks three of them the same way. ``default`` is Beamer's own theme
(no footline); "" is symderiv's plain look, with its page-number footline. Themes with a sidebar (Berkeley,
PaloAlto, ...) are not offered: they narrow the text, which the widths of the steps do not allow for.
"""

from __future__ import annotations

from symderiv.render import layout

#: theme -> usable body height under a title and subtitle, in mm ("" is symderiv's own plain look).
BODY_HEIGHT = {
    "": 70.7,
    "AnnArbor": 65.5,
    "Antibes": 62.2,
    "Bergen": 75.1,
    "Berlin": 56.5,
    "Boadilla": 71.8,
    "CambridgeUS": 65.5,
    "Copenhagen": 60.3,
    "Darmstadt": 65.5,
    "Dresden": 59.2,
    "Frankfurt": 68.2,
    "Ilmenau": 56.5,
    "JuanLesPins": 65.5,
    "Luebeck": 60.3,
    "Madrid": 69.3,
    "Malmoe": 63.0,
    "Montpellier": 62.8,
    "Pittsburgh": 71.5,
    "Rochester": 69.3,
    "Singapore": 69.3,
    "Szeged": 57.3,
    "Warsaw": 64.1,
    "default": 75.1,
}


def names() -> list[str]:
    """The themes ``--theme`` accepts, sorted."""
    return sorted(name for name in BODY_HEIGHT if name)


def frame_height(theme: str) -> float:
    """The height the layout plans a frame's body with under ``theme``."""
    return layout.FRAME_HEIGHT - (BODY_HEIGHT[""] - BODY_HEIGHT[theme])
