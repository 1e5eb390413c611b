"""The report as one self-contained HTML page (Jinja2, everything a site wrote escaped): the vendored
Chart.js and Cytoscape.js, the page's own script and style, and the blurred previews (data URIs) are all
inline, and a Content-Security-Policy forbids the page any request, so it opens offline, in a mail client's
viewer or in Chromium printing it to PDF, and never calls out.

The charts draw `Pictures.to_json()` itself, embedded as JSON, so they show what the JSON report says.
``window.reportReady`` turns true once both pictures are drawn (`html_to_pdf` waits for it).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from tracker.pictures.build import Pictures
from tracker.pictures.previews import Preview
from tracker.pictures.vendor import CHART_JS, CYTOSCAPE, vendored
from tracker.report import Report
from tracker.states import Basis

# What `html_to_pdf` waits for before printing.
READY = "window.reportReady === true"
# Colours told apart with the common colour-vision deficiencies (Okabe and Ito's set, its yellow left out:
# unreadable on white), in order of first appearance. Hosts past these share grey, and the timeline then
# draws the total alone: more lines than colours would not be readable.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B")
OTHER_HOSTS = "#7F7F7F"


def render_html(report: Report, pictures: Pictures, previews: Mapping[int, Preview]) -> str:
    hosts = list(dict.fromkeys([*pictures.timeline.hosts, *(s.host for s in report.sightings)]))
    colours = {host: PALETTE[n] if n < len(PALETTE) else OTHER_HOSTS for n, host in enumerate(hosts)}
    drawn = {"case": report.case.id, "colours": colours, "per_host": len(pictures.timeline.hosts) <= len(PALETTE),
             **pictures.to_json()}  # fmt: skip
    return _environment().get_template("report.html.j2").render(
        report=report, pictures=pictures, previews=previews, colours=colours,
        data=_script_json(drawn), chart_js=Markup(vendored(CHART_JS)), cytoscape=Markup(vendored(CYTOSCAPE)),
        script=Markup(_template_text("report.js")), style=Markup(_template_text("report.css")),
    )  # fmt: skip


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("tracker.pictures", "templates"), autoescape=select_autoescape(["j2"]),
                      trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    env.filters["when"] = when
    env.filters["basis"] = basis
    env.filters["jpeg_uri"] = lambda jpeg: "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    return env


def _template_text(name: str) -> str:
    loader = PackageLoader("tracker.pictures", "templates")
    source, _, _ = loader.get_source(Environment(), name)
    return source


def _script_json(value: Any) -> Markup:
    """JSON to sit inside a ``<script type="application/json">``: ``<``, ``>`` and ``&`` escaped, so a URL
    holding ``</script>`` cannot end the element."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def when(stamp: str | None) -> str:
    """``2026-01-05T22:14:00Z`` as ``2026-01-05 22:14 UTC``."""
    if not stamp:
        return "unknown"
    try:
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return stamp


def basis(value: Basis, source: str | None = None) -> str:
    if value is Basis.CLAIMED:
        return f"claimed by the page ({source})" if source else "claimed by the page"
    return "first seen by us"
