"""Charts drawn on the server as inline SVG (no script, prints well, readable without colour)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

ROLE_COLOURS = {"leader": "#1f5fa8", "patroller": "#3f9b5a"}


def fairness_histogram(
    rows: Sequence[Mapping], labels: Mapping[str, str], width: int = 640, height: int = 260
) -> Markup:
    """Volunteers by (shifts - own target), one bar per role side by side.

    A fair roster piles up at 0; bars left of 0 are volunteers below their target, right of 0 above.
    ``labels`` gives the texts: 'title', 'x', 'y', 'leader', 'patroller'.
    """
    roles = [r for r in ("leader", "patroller") if any(row["role"] == r for row in rows)]
    counts = {role: Counter(row["delta"] for row in rows if row["role"] == role) for role in roles}
    deltas = sorted({d for c in counts.values() for d in c} | {0})
    lo, hi = min(min(deltas), -2), max(max(deltas), 2)  # always show a few steps either side of 0
    deltas = list(range(lo, hi + 1))
    step = _step(max([n for c in counts.values() for n in c.values()] + [1]))
    top = step * -(-max([n for c in counts.values() for n in c.values()] + [1]) // step)

    left, right, top_pad, bottom = 48, 16, 34, 46
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    slot = plot_w / max(len(deltas), 1)
    bar = slot * 0.8 / max(len(roles), 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(labels["title"])}" class="chart">',
        f"<title>{escape(labels['title'])}</title>",
        f'<text x="{left}" y="18" class="chart-title">{escape(labels["title"])}</text>',
    ]
    for tick in range(0, top + 1, step):
        y = top_pad + plot_h - plot_h * tick / top
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid-line"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}</text>')
    for i, delta in enumerate(deltas):
        x0 = left + i * slot + slot * 0.1
        for j, role in enumerate(roles):
            n = counts[role].get(delta, 0)
            h = plot_h * n / top
            x = x0 + j * bar
            y = top_pad + plot_h - h
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" fill="{ROLE_COLOURS[role]}">'
                f"<title>{escape(labels[role])} {delta:+d}: {n}</title></rect>"
            )
            if n:
                out.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" class="value">{n}</text>')
        label = f"{delta:+d}" if delta else "0"
        cls = "tick zero" if delta == 0 else "tick"
        out.append(
            f'<text x="{left + (i + 0.5) * slot:.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" class="{cls}">{label}</text>'
        )
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" class="axis">{escape(labels["x"])}</text>'
    )
    out.append(
        f'<text x="12" y="{top_pad + plot_h / 2:.1f}" transform="rotate(-90 12 {top_pad + plot_h / 2:.1f})" '
        f'text-anchor="middle" class="axis">{escape(labels["y"])}</text>'
    )
    for j, role in enumerate(roles):
        lx = width - right - 120 * (len(roles) - j)
        out.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{ROLE_COLOURS[role]}"/>')
        out.append(f'<text x="{lx + 16}" y="18" class="legend">{escape(labels[role])}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _step(top: int) -> int:
    """A round tick step giving at most five lines up to ``top`` (1, 2, 5, 10, 20, 50, ...)."""
    step = 1
    while top / step > 5:
        for factor in (2, 2.5, 2):
            step = int(step * factor)
            if top / step <= 5:
                break
    return step


def qr_svg(text: str, label: str, module: int = 4, border: int = 4) -> Markup:
    """A QR code of ``text`` as one SVG path (scannable from a screen or on paper)."""
    import qrcode

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix) + 2 * border
    path = "".join(
        f"M{x + border},{y + border}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark
    )
    pixels = size * module
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{pixels}" height="{pixels}" '
        f'role="img" aria-label="{escape(label)}" class="qr" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )


def bar_chart(
    rows: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    title: str,
    percent: bool = False,
    width: int = 420,
) -> Markup:
    """Horizontal bars, one group per row label and one bar per series ``(name, colour, values)``; a
    value of None draws no bar and says "—". ``percent``: values are shares 0-1 drawn on 0-100 %.

    Horizontal, so that fifteen grids' labels fit on a phone as well as on paper."""
    bar, gap, right, top_pad = 12, 10, 44, 44
    left = min(140, 16 + 8 * max((len(label) for label in rows), default=3))  # room for the row labels
    group = bar * max(len(series), 1) + gap
    height = top_pad + group * max(len(rows), 1) + 24
    values = [v for _, _, vs in series for v in vs if v is not None]
    if percent:
        top, step = 1.0, 0.25
    else:
        highest = max(math.ceil(max(values, default=0)), 1)
        step = _step(highest)
        top = step * math.ceil(highest / step)
    plot_w = width - left - right
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="16" class="chart-title">{escape(title)}</text>',
    ]
    tick = 0.0
    while tick <= top + 1e-9:
        x = left + plot_w * tick / top
        said = f"{tick:.0%}" if percent else f"{tick:g}"
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top_pad - 6}" y2="{height - 22}" class="grid-line"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" class="tick">{said}</text>')
        tick += step
    for j, (name, colour, _) in enumerate(series):
        lx = 4 + 120 * j
        out.append(f'<rect x="{lx}" y="24" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 14}" y="33" class="legend">{escape(name)}</text>')
    for i, label in enumerate(rows):
        y0 = top_pad + i * group
        out.append(
            f'<text x="{left - 6}" y="{y0 + group / 2 - gap / 2 + 4:.1f}" text-anchor="end" class="tick">'
            f"{escape(label)}</text>"
        )
        for j, (name, colour, vs) in enumerate(series):
            value = vs[i]
            y = y0 + j * bar
            said = "—" if value is None else (f"{value:.0%}" if percent else f"{value:g}")
            w = 0 if value is None else plot_w * min(value, top) / top
            out.append(
                f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{colour}">'
                f"<title>{escape(label)} · {escape(name)}: {said}</title></rect>"
            )
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 3}" class="value">{said}</text>')
    out.append("</svg>")
    return Markup("".join(out))
