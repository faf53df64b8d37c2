"""The box every chapter opens with: the world, the model and the parameters it ran with."""

from __future__ import annotations

from IPython.display import Markdown

__all__ = ["BANNER_METADATA", "banner"]

#: Key of the banner output's metadata that records what a chapter ran on (read by the runner).
BANNER_METADATA = "humanclap_world"


def banner(world: str, model: str, params: dict, note: str = "") -> Markdown:
    """The box every chapter opens with: the world it ran on, the model and the parameters.

    Parameters
    ----------
    world : str
        What the numbers come from, for example ``"RELATE (real ratings)"`` or
        ``"embedded simulation (not RELATE)"``.
    model : str
        The model whose scores the chapter shows, or ``"none"``.
    params : dict
        The notebook's parameters as it ran.
    note : str
        One more sentence, for example what is simulated.
    """
    shown = ", ".join(f"`{k}={v!r}`" for k, v in params.items())
    lines = [f"> **World:** {world}  ", f"> **Model:** {model}  ", f"> **Parameters:** {shown}"]
    if note:
        lines[-1] += "  "
        lines.append(f"> {note}")
    return Markdown("\n".join(lines))
