"""Small server-rendered SVG bar charts: no script, no asset from the network."""

from __future__ import annotations

from markupsafe import Markup, escape

# Colours chosen for contrast on white and for red-green colour blindness (blue/orange/grey).
COLOURS = {"accepted": "#1f5fbf", "duplicate": "#6b6b6b", "rejected": "#c2410c"}


def stacked_bars(
    series: dict[str, list[int]], label: str, width: int = 160, height: int = 40
) -> Markup:
    """Bars over time, oldest left, each stacked by outcome; described for screen readers."""
    names = [n for n in COLOURS if n in series]
    count = max((len(series[n]) for n in names), default=0)
    totals = [sum(series[n][i] for n in names) for i in range(count)]
    peak = max(totals, default=0) or 1
    slot = width / max(count, 1)
    parts = []
    for i in range(count):
        y = float(height)
        for name in names:
            value = series[name][i]
            if not value:
                continue
            h = max(1.0, value / peak * (height - 2))
            y -= h
            parts.append(
                f'<rect x="{i * slot + 1:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[name]}"/>'
            )
    summary = ", ".join(f"{sum(series[n])} {n}" for n in names)
    title = escape(f"{label}: {summary}")
    return Markup(  # noqa: S704 - every value put in is a number or escaped above
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{title}"><title>{title}</title>'
        f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="#999"/>'
        + "".join(parts)
        + "</svg>"
    )
