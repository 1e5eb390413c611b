"""The vendored JavaScript builds (`dashboards/static/vendor/`, see its README), read to be inlined: the
HTML report is one file that fetches nothing, so it opens offline and prints the same anywhere."""

from __future__ import annotations

import re
from importlib.resources import files

# Relative to dashboards/static/vendor/: what the report's pictures need.
CHART_JS = "chart.js/chart.umd.min.js"
CYTOSCAPE = "cytoscape/cytoscape.min.js"
# A browser would look for the map beside the page (a request, and a 404 in the console): not inlined.
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=\S+\s*$", re.M)


def vendored(name: str) -> str:
    """The text of one vendored file, ready to sit inside a ``<script>`` element."""
    text = files("dashboards").joinpath("static", "vendor", name).read_text(encoding="utf-8")
    if "</script" in text.lower():  # it would end the element early: a new build must be looked at
        raise ValueError(f"dashboards/static/vendor/{name} contains '</script' and cannot be inlined")
    return _SOURCE_MAP.sub("", text)
