"""Show a small Markdown file (the benchmark results) in a reStructuredText page.

``docs/performance.md`` is rewritten by ``benchmarks/run.py --markdown``; the
``markdown-include`` directive reads it at build time, so the page always
shows the file as it is, with no Markdown parser to install::

    .. markdown-include:: performance.md
       :skip-title:

Only what that file uses is understood: ``#`` headings (shown as rubrics),
paragraphs, ``- `` bullet lists, pipe tables, and inline ```code```,
``**bold**``, ``*emphasis*`` and ``[text](url)`` links.
"""

from __future__ import annotations

import os
import re
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\*\*(?P<strong>.+?)\*\*"
    r"|(?<![\w*])\*(?P<em>[^*\s][^*]*?)\*(?![\w*])"
    r"|\[(?P<text>[^\]]+)\]\((?P<url>[^)\s]+)\)"
)


def inline(text: str) -> list[nodes.Node]:
    """Docutils nodes for one line of Markdown inline markup."""
    out: list[nodes.Node] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            out.append(nodes.Text(text[pos : m.start()]))
        if m.group("code") is not None:
            out.append(nodes.literal(m.group("code"), m.group("code")))
        elif m.group("strong") is not None:
            out.append(nodes.strong("", "", *inline(m.group("strong"))))
        elif m.group("em") is not None:
            out.append(nodes.emphasis("", "", *inline(m.group("em"))))
        else:
            out.append(nodes.reference("", m.group("text"), refuri=m.group("url")))
        pos = m.end()
    if pos < len(text):
        out.append(nodes.Text(text[pos:]))
    return out


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return [c.strip().replace("\\|", "|") for c in cells]


def _table(lines: list[str]) -> nodes.table:
    header = _cells(lines[0])
    body = [_cells(line) for line in lines[2:]]
    table = nodes.table(classes=["markdown-table"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)

    def row(cells: list[str]) -> nodes.row:
        r = nodes.row()
        for i in range(len(header)):
            text = cells[i] if i < len(cells) else ""
            r += nodes.entry("", nodes.paragraph("", "", *inline(text)))
        return r

    thead = nodes.thead()
    thead += row(header)
    tbody = nodes.tbody()
    for cells in body:
        tbody += row(cells)
    group += thead
    group += tbody
    return table


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        # A heading, a table or a list starts a block of its own.
        starts = line.startswith("#") or (
            line.startswith("|") and current and not current[-1].startswith("|")
        )
        if starts and current:
            blocks.append(current)
            current = []
        current.append(line)
        if line.startswith("#"):
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _bullets(lines: list[str]) -> nodes.bullet_list:
    items: list[str] = []
    for line in lines:
        if line.startswith(("- ", "* ")):
            items.append(line[2:].strip())
        else:
            items[-1] += " " + line.strip()
    bl = nodes.bullet_list(bullet="-")
    for item in items:
        bl += nodes.list_item("", nodes.paragraph("", "", *inline(item)))
    return bl


def convert(text: str, skip_title: bool = False) -> list[nodes.Node]:
    """Docutils nodes for a Markdown document."""
    out: list[nodes.Node] = []
    for block in _blocks(text):
        first = block[0]
        if first.startswith("#"):
            level = len(first) - len(first.lstrip("#"))
            if level == 1 and skip_title:
                continue
            title = first.lstrip("#").strip()
            out.append(nodes.rubric("", "", *inline(title)))
        elif first.startswith("|") and len(block) >= 3:
            out.append(_table(block))
        elif first.startswith("|"):
            out.append(nodes.paragraph("", "(no results in the table)"))
        elif first.startswith(("- ", "* ")):
            out.append(_bullets(block))
        else:
            out.append(nodes.paragraph("", "", *inline(" ".join(s.strip() for s in block))))
    return out


class MarkdownInclude(SphinxDirective):
    """``.. markdown-include:: path`` (relative to the page)."""

    required_arguments = 1
    option_spec = {"skip-title": directives.flag}

    def run(self) -> list[nodes.Node]:
        rel, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        self.env.note_dependency(rel)
        if not os.path.exists(path):
            raise self.error(f"markdown-include: {rel} does not exist")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return convert(text, skip_title="skip-title" in self.options)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("markdown-include", MarkdownInclude)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
