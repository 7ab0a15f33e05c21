"""The pieces of a report page: one self-contained HTML file (inline CSS, inline SVG, no
script, nothing fetched), every user string escaped.

Every figure the page shows from the report's JSON carries its place there: `data-key`, a
JSON Pointer (RFC 6901) into the JSON the same command prints with --json, and `data-json`,
the value itself; a reader (or a test) can check that the page says what the JSON says."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from cockpit import __version__
from cockpit.errors import CockpitError
from cockpit.projects import Project
from storage.disk import disk_full, is_disk_full

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
       max-width: 1180px; margin: 24px auto; padding: 0 16px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px;
     border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.meta { color: #59636e; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #1a7f37; font-weight: 600; } .fail { color: #d1242f; font-weight: 600; }
.warning { background: #fff8c5; border: 1px solid #d4a72c; padding: 6px 10px; margin: 8px 0; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
svg.plot { border: 1px solid #d0d7de; background: #fff; font-size: 11px; fill: #1f2328; }
svg .axis { stroke: #57606a; } svg .grid { stroke: #eaeef2; }
svg .mark { stroke: #9a6700; stroke-dasharray: 3 3; } svg .mark-text { fill: #9a6700; }
svg .plot-title { font-size: 13px; font-weight: 600; }
footer { color: #59636e; margin-top: 32px; font-size: 12px; }
"""


def pointer(*parts: str | int) -> str:
    """A JSON Pointer to a value of the report's JSON: pointer("metrics", "f1") is /metrics/f1."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def text(value: Any) -> str:
    return escape("" if value is None else str(value))


def figure(value: Any, key: str, shown: str | None = None, tag: str = "span") -> str:
    """A value from the JSON at `key`, shown as `shown` (default: as it is; '-' for none)."""
    if shown is None:
        shown = "-" if value is None else str(value)
    encoded = escape(json.dumps(value), quote=True)
    return f'<{tag} data-key="{escape(key, quote=True)}" data-json="{encoded}">{escape(shown)}</{tag}>'


def number(value: float | int | None, key: str, places: int = 4) -> str:
    """A table cell with a number from the JSON, in `places` decimals as the Markdown has it."""
    shown = "-" if value is None else (f"{value:,}" if isinstance(value, int) else f"{value:.{places}f}")
    return figure(value, key, shown, tag="td").replace("<td ", '<td class="num" ', 1)


def cell(value: Any, key: str | None = None) -> str:
    if key is None:
        return f"<td>{text(value)}</td>"
    return figure(value, key, tag="td")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table from header names and rows of ready cells (from `cell`, `number`)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(r) + "</tr>\n" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>"


def section(title: str, *body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>\n" + "\n".join(b for b in body if b) + "</section>"


def paragraph(content: str, css: str = "") -> str:
    """A paragraph of ready HTML (escape user text with `text` or `figure` first)."""
    return f'<p class="{css}">{content}</p>' if css else f"<p>{content}</p>"


def header(project: Project, *facts: str) -> str:
    """The line under every page's title: the project and its task, then what the page read
    and when (ready HTML: figures or escaped text)."""
    return paragraph(" · ".join([f"Project {text(project.name)} ({text(project.task)})", *facts]), "meta")


def plots(*svgs: str) -> str:
    drawn = [s for s in svgs if s]
    return '<div class="plots">' + "\n".join(drawn) + "</div>" if drawn else ""


@dataclass(frozen=True, slots=True)
class Report:
    """A report: its page and the JSON the page's figures come from."""

    title: str
    data: dict[str, Any]
    body: str

    def html(self) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(self.title)}</title><style>{STYLE}</style></head>\n<body>\n"
            f"<h1>{escape(self.title)}</h1>\n{self.body}\n"
            f"<footer>cockpit {escape(__version__)} · every figure is from the workspace's store"
            "</footer>\n</body></html>\n"
        )

    def write(self, path: Path) -> Path:
        """The page written whole or not at all (a temporary file beside it, then renamed)."""
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise CockpitError(f"--html {path}: folder {folder} does not exist; create it or name another")
        page = self.html().encode("utf-8")
        try:
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise CockpitError(f"--html {path}: cannot write in {folder} ({exc.strerror})") from None
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(page)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException as exc:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(exc, OSError) and is_disk_full(exc):
                raise disk_full(folder, len(page), doing=f"writing {path.name}") from None
            if isinstance(exc, OSError):
                raise CockpitError(f"--html {path}: cannot write it ({exc.strerror})") from None
            raise
        return path
