"""Makes crates/report/assets/DejaVuSansAligned.ttf from DejaVuSans.ttf: every glyph's bounding box
reaches up to the font's ascender, so that plotters' bitmap text (0.3.7, ab_glyph) places every
glyph on one baseline.

Why: plotters draws each glyph at `size/2 + px_bounds.min.y`, truncated toward zero. A glyph whose
top lies below mid-height (a period, a comma, a hyphen) gets a positive shift truncated down and a
digit a negative one truncated up, so a decimal point sits a pixel or two above the baseline
(`0·2` in the PNGs; the SVGs, drawn by the viewer's fonts, were right). With every glyph's box top
at the ascender, every glyph gets the same shift. The outlines are unchanged; only the `glyf`
headers' yMax grow. The family is renamed (the Bitstream Vera licence asks modified versions not
to carry its names; DejaVu's own changes are public domain).

    python3 scripts/align_font_glyph_tops.py    # needs fontTools (pip install fonttools)
"""
from pathlib import Path

from fontTools.ttLib import TTFont

ASSETS = Path(__file__).resolve().parent.parent / "crates" / "report" / "assets"

font = TTFont(ASSETS / "DejaVuSans.ttf")
ascender = font["hhea"].ascent
glyf = font["glyf"]
for name in font.getGlyphOrder():
    glyph = glyf[name]
    if glyph.numberOfContours <= 0:
        continue  # no outline (a space), or a composite of glyphs that get the point themselves
    glyph.coordinates.append((glyph.xMin, ascender))
    glyph.flags.append(1)  # on the curve
    glyph.endPtsOfContours.append(len(glyph.coordinates) - 1)
    glyph.numberOfContours += 1
    glyph.program = type(glyph.program)()  # no hinting: its point numbers would shift
    glyph.yMax = max(glyph.yMax, ascender)
for record in font["name"].names:
    text = record.toUnicode()
    if "DejaVu" in text:
        record.string = text.replace("DejaVu Sans", "DejaVu Sans Aligned").replace(
            "DejaVuSans", "DejaVuSansAligned"
        )
font.save(ASSETS / "DejaVuSansAligned.ttf")
print(f"glyph tops raised to {ascender} font units; wrote {ASSETS / 'DejaVuSansAligned.ttf'}")
