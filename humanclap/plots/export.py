"""A figure as the book shows it: a sharp PNG, the size of its smallest text, and an HTML
``<figure>`` with alt text and a numbered caption.

The book's figures are drawn at the width they are shown (:data:`~humanclap.plots.style.FIG_WIDTH`
inches at :data:`~humanclap.plots.style.CSS_DPI` CSS px per inch) and saved as PNG at
:data:`~humanclap.plots.style.PIXEL_RATIO` times that resolution, reduced to a 256-colour palette
(Pillow; a fifth to a third of the RGB PNG's bytes, text edges kept). The HTML embeds the PNG as a
``data:`` URI, so that a notebook output, Jupyter, Colab and the built book show the same figure
with its caption, and records on the ``<img>`` the height of the smallest text drawn, in image
pixels at its natural size (``data-min-text-px``): the browser check of the built book multiplies
it by the displayed width over the natural width to get the text size a reader sees.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass

from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from PIL import Image

from humanclap.plots.style import CSS_DPI, PIXEL_RATIO

__all__ = ["FigureImage", "check_alt_text", "figure_html", "figure_image", "smallest_text_pt"]

#: Alt text that is a file name or a path, not a description.
_PATH_LIKE = re.compile(r"^\S*[/\\]\S*$|\.(png|jpe?g|gif|svg|webp|pdf)$", re.IGNORECASE)
#: A description has at least this many words.
_MIN_ALT_WORDS = 4


@dataclass(frozen=True)
class FigureImage:
    """A saved figure.

    Attributes
    ----------
    png : bytes
        The PNG (a 256-colour palette image).
    width_px, height_px : int
        Its size in image pixels.
    pixel_ratio : float
        Image pixels per CSS pixel at the figure's natural size.
    min_text_pt : float
        The smallest font size drawn, in points (NaN when the figure has no text).
    """

    png: bytes
    width_px: int
    height_px: int
    pixel_ratio: float
    min_text_pt: float

    @property
    def css_width(self) -> int:
        """The width it is shown at when the column has room, in CSS px."""
        return round(self.width_px / self.pixel_ratio)

    @property
    def css_height(self) -> int:
        """The height at :attr:`css_width`, in CSS px."""
        return round(self.height_px / self.pixel_ratio)

    @property
    def min_text_px(self) -> float:
        """The smallest text's height in image pixels (font size; 1 pt = dpi / 72 px)."""
        return self.min_text_pt * CSS_DPI * self.pixel_ratio / 72

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def smallest_text_pt(fig: Figure) -> float:
    """The smallest font size, in points, of the non-empty text ``fig`` draws.

    The figure is drawn once with a recording renderer, so that only text that is drawn counts
    (tick labels of a hidden axis, empty labels and invisible artists do not).

    Parameters
    ----------
    fig : Figure

    Returns
    -------
    float
        The smallest size in points; NaN when the figure draws no text.
    """
    width, height = fig.get_size_inches() * fig.dpi
    renderer = RendererAgg(int(width), int(height), fig.dpi)
    sizes: list[float] = []
    draw_text = renderer.draw_text

    def recording(gc, x, y, s, prop, angle, ismath=False, mtext=None):  # noqa: ANN001, ANN202
        if str(s).strip():
            sizes.append(float(prop.get_size_in_points()))
        return draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = recording  # type: ignore[method-assign]
    fig.draw(renderer)
    return min(sizes) if sizes else float("nan")


def figure_image(fig: Figure, pixel_ratio: float = PIXEL_RATIO) -> FigureImage:
    """Save ``fig`` as the book shows it: PNG at ``pixel_ratio`` image px per CSS px, tight.

    Parameters
    ----------
    fig : Figure
        Drawn at the size it is shown (inches at :data:`~humanclap.plots.style.CSS_DPI`).
    pixel_ratio : float
        Image pixels per CSS pixel.

    Returns
    -------
    FigureImage
    """
    min_text_pt = smallest_text_pt(fig)
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format="png", dpi=CSS_DPI * pixel_ratio, bbox_inches="tight", pad_inches=0.05,
        facecolor="white", metadata={"Software": None},
    )  # fmt: skip
    rgb = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    # At most 256 colours (an octree, no dithering): flat plot colours, anti-aliased text and a
    # colour bar's gradient survive (median cut bands the gradient), and the file is a fifth to
    # a third of the RGB PNG (measured on a 2,000-point scatter, heatmaps and spectrograms).
    palette = rgb.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return FigureImage(out.getvalue(), rgb.width, rgb.height, float(pixel_ratio), min_text_pt)


def check_alt_text(alt: object, parameter: str = "alt") -> str:
    """``alt`` stripped, or a ValueError naming ``parameter`` when it is not a description.

    Alt text is one sentence saying what the figure plots (axes, groups): not empty, not a file
    name or path, at least four words.

    Parameters
    ----------
    alt : object
        The text to check.
    parameter : str
        The name the error message gives it.

    Returns
    -------
    str
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"{parameter}: a figure needs alt text (one sentence describing it)")
    text = " ".join(alt.split())
    if _PATH_LIKE.search(text):
        raise ValueError(
            f"{parameter}: {text!r} looks like a file name or path; describe what the figure "
            "plots in one sentence"
        )
    if len(text.split()) < _MIN_ALT_WORDS:
        raise ValueError(
            f"{parameter}: {text!r} is too short to describe the figure (at least "
            f"{_MIN_ALT_WORDS} words: what is plotted against what, and the groups)"
        )
    return text


def figure_html(
    image: FigureImage, *, label: str, caption: str, alt: str, anchor: str | None = None
) -> str:
    """An HTML ``<figure>``: the image with its alt text, and "``label``. ``caption``" beneath.

    Parameters
    ----------
    image : FigureImage
        The saved figure; shown at most :attr:`FigureImage.css_width` px wide, scaled down to
        the column when it is narrower.
    label : str
        The figure's number, e.g. ``"Figure 2.3"``.
    caption : str
        Plain text (escaped).
    alt : str
        Its alt text (:func:`check_alt_text`).
    anchor : str, optional
        The ``id`` of the ``<figure>``, for links.

    Returns
    -------
    str
    """
    alt = check_alt_text(alt)
    ident = f' id="{html.escape(anchor)}"' if anchor else ""
    return (
        f'<figure class="humanclap-figure"{ident} style="margin: 1em 0 0.5em 0">'
        f'<img src="{image.data_uri}" alt="{html.escape(alt)}" width="{image.css_width}" '
        f'height="{image.css_height}" data-min-text-px="{image.min_text_px:.2f}" '
        'style="max-width: 100%; height: auto">'
        f"<figcaption><strong>{html.escape(label)}.</strong> {html.escape(caption)}</figcaption>"
        "</figure>"
    )
