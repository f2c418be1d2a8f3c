"""The plotly.js a report inlines: the smallest bundle that draws every trace of the report.

plotly.py ships the whole of plotly.js (4.8 MB), which made every report with a figure
about 5 MB. plotly.js also publishes partial bundles of each release on npm; a report
whose traces one of them draws inlines that one instead (1.2 MB for `basic`, 1.5 MB for
`cartesian`), and any other report (a treemap, a WebGL scatter, a trace type we do not
know) the full bundle, so every report still draws all of its figures and opens on its
own. The partial bundles are those of the release plotly.py ships (a figure's JSON follows
that release's schema): `tools/fetch-plotly-bundles.sh`, run by `make install`, fetches
them with npm into `hxb_lab/runbooks/plotlyjs/` (built, not committed, packaged in the
wheel). Where they are missing or of another release, reports inline the full bundle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLES",
    "FULL",
    "Bundle",
    "available",
    "bundles_in",
    "choose",
    "plotly_version",
    "source",
    "trace_types",
]

FULL = "full"
DIRECTORY = Path(__file__).with_name("plotlyjs")


@dataclass(frozen=True)
class Bundle:
    """A partial plotly.js bundle: its name, the npm package, the file and its traces."""

    name: str
    traces: frozenset[str]

    @property
    def package(self) -> str:
        return f"plotly.js-{self.name}-dist-min"

    @property
    def file(self) -> str:
        return f"plotly-{self.name}.min.js"


#: Smallest first; their trace modules as each package's README lists them.
_CARTESIAN = (
    "bar box contour heatmap histogram histogram2d histogram2dcontour image pie scatter "
    "scatterternary violin"
)
BUNDLES = (
    Bundle("basic", frozenset({"bar", "pie", "scatter"})),
    Bundle("cartesian", frozenset(_CARTESIAN.split())),
)
#: The first line of a bundle's banner: "* plotly.js v4.1.1", "* plotly.js (basic - minified) v4.1.1".
_BANNER = re.compile(r"^\* plotly\.js (?:\((\w+) - minified\) )?v(\d[\w.\-]*)\s*$", re.M)


def plotly_version() -> str:
    """The plotly.js release plotly.py ships (and draws its figures with)."""
    from plotly.offline import get_plotlyjs_version

    return str(get_plotlyjs_version())


def trace_types(figures: Iterable[Mapping[str, Any]]) -> set[str]:
    """The trace types of plotly figures as JSON (a trace without ``type`` is a scatter)."""
    found: set[str] = set()
    for figure in figures:
        for trace in figure.get("data") or []:
            kind = trace.get("type") if isinstance(trace, Mapping) else None
            found.add(kind if isinstance(kind, str) else "scatter")
    return found


@cache
def _partial(name: str, version: str) -> str | None:
    """The text of a partial bundle of `version`; None when it is not there or of another
    release."""
    path = DIRECTORY / f"plotly-{name}.min.js"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    banner = _BANNER.search(text[:400])
    return text if banner and banner.groups() == (name, version) else None


def available() -> tuple[str, ...]:
    """The bundles a report may inline here: the partial ones installed for plotly.py's
    release, then the full one."""
    version = plotly_version()
    return (*(b.name for b in BUNDLES if _partial(b.name, version) is not None), FULL)


def choose(traces: Iterable[str]) -> str:
    """The name of the smallest available bundle that draws every trace type in `traces`."""
    wanted = set(traces)
    names = available()
    for bundle in BUNDLES:
        if bundle.name in names and wanted <= bundle.traces:
            return bundle.name
    return FULL


def source(name: str) -> str:
    """The JavaScript of bundle `name` (one of `available()`)."""
    if name == FULL:
        from plotly.offline import get_plotlyjs

        return str(get_plotlyjs())
    text = _partial(name, plotly_version())
    if text is None:
        raise ValueError(f"no plotly.js {name} bundle of release {plotly_version()} in {DIRECTORY}")
    return text


def bundles_in(html: str) -> list[str]:
    """The names of the plotly.js bundles a page inlines, in order (by their banners)."""
    return [name or FULL for name, _version in _BANNER.findall(html)]
