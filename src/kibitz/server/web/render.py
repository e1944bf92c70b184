"""What pages are made of: the Jinja2 environment, Markdown made safe, highlighted code, relative times.

Everything a person wrote reaches a page one of two ways: escaped by Jinja2's autoescape (names, titles,
paths, code), or rendered from Markdown with raw HTML turned off and then cleaned by nh3 against an allowlist
of tags, attributes and URL schemes (texts of codemarks and replies). The functions here are pure: they take
text and return markup.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any, cast

import jinja2
import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

TEMPLATES = Path(__file__).parent / "templates"

# What Markdown may produce after cleaning: text structure, code, links and tables; no images (they would
# load from anywhere, and the page's policy refuses them anyway), no raw HTML, no attributes but these.
_TAGS = frozenset(
    {
        "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
        "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})


@functools.cache
def _markdown() -> MarkdownIt:
    # `html: False`: raw HTML in a text is shown as text. Linkify is off: it would need another dependency.
    return MarkdownIt("commonmark", {"html": False, "typographer": False}).enable(["table", "strikethrough"])


def markdown_html(text: str) -> Markup:
    """Render a person's Markdown text to HTML that is safe to put in a page."""
    rendered = _markdown().render(text)
    cleaned = nh3.clean(
        rendered,
        tags=set(_TAGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - cleaned by nh3 against the allowlist above


def _lexer(path: str, code: str) -> Lexer:
    try:
        lexer: Lexer = get_lexer_for_filename(path, code, stripnl=False, ensurenl=False)
        return lexer
    except ClassNotFound:
        return cast(Lexer, TextLexer(stripnl=False, ensurenl=False))


def highlighted_code(code: str, path: str, start_line: int) -> Markup:
    """Return `code` highlighted for the language its path names, numbered from `start_line`."""
    formatter = HtmlFormatter(linenos="table", linenostart=max(1, start_line), cssclass="hl", wrapcode=True)
    # Pygments escapes every piece of the code it emits.
    return Markup(highlight(code, _lexer(path, code), formatter))  # noqa: S704


@functools.cache
def code_css() -> str:
    """Return the stylesheet of highlighted code: a light palette, and a dark one when the system is dark."""
    light: str = HtmlFormatter(style="default", cssclass="hl").get_style_defs(".hl")  # type: ignore[no-untyped-call]
    dark: str = HtmlFormatter(style="github-dark", cssclass="hl").get_style_defs(".hl")  # type: ignore[no-untyped-call]
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"


def relative_time(when: dt.datetime, now: dt.datetime) -> str:
    """Say when `when` is, as a person would ("just now", "5 minutes ago", "in 3 days" for an expiry)."""
    seconds = int((now - when).total_seconds())
    if abs(seconds) < 45:
        return "just now"
    span = _span(abs(seconds))
    return f"{span} ago" if seconds > 0 else f"in {span}"


def _span(seconds: int) -> str:
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    minutes = max(1, round(seconds / 60))
    if minutes == 60:  # 59.5 minutes and more read as the hour they round to
        return "1 hour"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def exact_time(when: dt.datetime) -> str:
    """Return the exact UTC time of `when`, as shown on hover."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def time_open_tag(when: dt.datetime) -> str:
    """Return the opening `<time>` tag of `when`: ISO 8601 for machines, the exact time on hover."""
    # Every part is made here from a datetime (digits, letters, punctuation), and escaped all the same.
    iso, exact = escape(when.astimezone(dt.UTC).isoformat()), escape(exact_time(when))
    return f'<time datetime="{iso}" title="{exact}">'


def time_tag(when: dt.datetime, now: dt.datetime | None = None) -> Markup:
    """Return a `<time>` element: the relative time, the exact time on hover, ISO 8601 for machines."""
    relative = escape(relative_time(when, now or dt.datetime.now(dt.UTC)))
    return Markup(f"{time_open_tag(when)}{relative}</time>")  # noqa: S704 - parts escaped


def reaction_buttons(
    action: str, rows: list[dict[str, Any]], csrf_field: str, csrf: str, label: str
) -> Markup:
    """Return the reaction buttons of a codemark (`/c/<id>/react`) or a reply (`/r/<id>/react`).

    One form whose emoji are its submit buttons: a button's name says what pressing it does (`add`, or
    `remove` for the caller's own reaction) and its value is the emoji, so reacting works without
    JavaScript. Built here rather than in a template macro: a thread of 200 replies has 1,400 of these
    buttons. Every value is escaped.
    """
    buttons = []
    for row in rows:
        emoji = escape(row["emoji"])
        mine = bool(row["mine"])
        count = int(row["count"])
        who = f' title="{escape(row["who"])}"' if row["who"] else ""
        said = f"{emoji} {count}" + (", yours: take back" if mine else ": react")
        buttons.append(
            f'    <button type="submit" name="{"remove" if mine else "add"}" value="{emoji}"'
            f' aria-pressed="{"true" if mine else "false"}"{who}\n'
            f'      aria-label="{said}">{emoji}{f" {count}" if count else ""}</button>\n'
        )
    return Markup(  # noqa: S704 - every value escaped
        f'<div class="reactions" role="group" aria-label="{escape(label)}">\n'
        f'  <form method="post" action="{escape(action)}">\n'
        f'    <input type="hidden" name="{escape(csrf_field)}" value="{escape(csrf)}">\n'
        f"{''.join(buttons)}  </form>\n</div>\n"
    )


@functools.cache
def environment() -> jinja2.Environment:
    """Return the Jinja2 environment of the pages (autoescape everywhere, undefined names are errors)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # The templates ship with the code: checking their files for changes on every page (a stat of each
        # template and include) would cost a page more than some of its rendering.
        auto_reload=False,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown"] = markdown_html
    env.filters["time"] = time_tag
    env.globals["reaction_buttons"] = reaction_buttons
    return env


def render_page(template: str, /, **context: Any) -> str:
    """Render the template named `template` with `context`."""
    return environment().get_template(template).render(**context)
