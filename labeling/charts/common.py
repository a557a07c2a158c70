"""What every chart shares: fixed colours for label statuses, and saving to files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import altair as alt

# One colour per label status in every chart, so that "conflict" is the same orange on the
# Review page, the Insights page and the Home page.
STATUS_COLOURS: dict[str, str] = {
    "unlabeled": "#c7c7c7",
    "single": "#9ecae1",
    "agreed": "#2ca02c",
    "conflict": "#ff7f0e",
    "resolved": "#1f77b4",
    "reopened": "#d62728",
}


# Every tag named in full on its own row: Vega would otherwise hide labels it thinks collide,
# and cut long names.
TAG_AXIS = alt.Axis(labelOverlap=False, labelLimit=240)
ROW_HEIGHT = 22


def rows_height(rows: int, per_row: int = ROW_HEIGHT) -> int:
    """A chart's whole height for a number of rows: Streamlit fits the title and axes inside
    the height it is given (a Vega step is not honoured when the chart stretches), so they get
    room on top of the rows."""
    return 100 + per_row * max(rows, 3)


def status_colour_scale(statuses: list[str] | None = None) -> alt.Scale:
    """The fixed status colours over the statuses given (all by default), in workflow order."""
    domain = [s for s in STATUS_COLOURS if statuses is None or s in statuses]
    return alt.Scale(domain=domain, range=[STATUS_COLOURS[s] for s in domain])


def png_export_available() -> bool:
    """PNG needs vl-convert-python, an optional extra (a ~100 MB binary), so it is looked for
    rather than required."""
    return importlib.util.find_spec("vl_convert") is not None


def save_chart(chart: alt.TopLevelMixin, path_without_suffix: str | Path) -> list[Path]:
    """Write ``<path>.html`` always and ``<path>.png`` when vl-convert is installed; returns
    the files written. The suffix is appended, not substituted, so "run.v2" stays whole."""
    base = Path(path_without_suffix)
    base.parent.mkdir(parents=True, exist_ok=True)
    html = base.with_name(base.name + ".html")
    chart.save(str(html), format="html")
    written = [html]
    if png_export_available():
        png = base.with_name(base.name + ".png")
        chart.save(str(png), format="png")
        written.append(png)
    return written
