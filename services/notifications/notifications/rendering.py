"""Message texts from Jinja2 templates (templates/<language>/<kind>.txt): the first line is the
subject, the rest the body. Chinese is the default language, English the other one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from guanyinli.timeutil import local
from notifications.domain import LANGUAGES

TEMPLATES = Path(__file__).resolve().parent / "templates"

ZH_WEEKDAYS = "一二三四五六日"
EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


def _moment(value: str | datetime) -> datetime:
    return local(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _zh_day(value) -> str:
    dt = _moment(value)
    return f"{dt.month}月{dt.day}日（周{ZH_WEEKDAYS[dt.weekday()]}）"


def _en_day(value) -> str:
    dt = _moment(value)
    return f"{EN_WEEKDAYS[dt.weekday()]} {dt.day} {EN_MONTHS[dt.month - 1]}"


def _hm(value) -> str:
    return _moment(value).strftime("%H:%M")


def _span(day):
    def span(start, end) -> str:
        if _moment(start).date() == _moment(end).date():
            return f"{day(start)} {_hm(start)}–{_hm(end)}"
        return f"{day(start)} {_hm(start)} – {day(end)} {_hm(end)}"

    return span


def _environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES / language)),
        undefined=StrictUndefined,
        autoescape=False,  # plain text; the webhook carries it as a JSON string
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    day = _zh_day if language == "zh" else _en_day
    env.filters["day"] = day
    env.filters["hm"] = _hm
    env.filters["when"] = lambda value: f"{day(value)} {_hm(value)}"
    env.globals["span"] = _span(day)
    env.globals["subject_of"] = lambda kind, context: render(kind, language, context).subject
    return env


_ENVIRONMENTS: dict[str, Environment] = {}


def environment(language: str) -> Environment:
    if language not in _ENVIRONMENTS:
        _ENVIRONMENTS[language] = _environment(language)
    return _ENVIRONMENTS[language]


def render(kind: str, language: str, context: dict, name: str | None = None) -> Rendered:
    """Subject and text of one message; an unknown language falls back to Chinese."""
    language = language if language in LANGUAGES else "zh"
    text = environment(language).get_template(f"{kind}.txt").render(**context, name=name)
    subject, _, body = text.strip().partition("\n")
    return Rendered(subject=subject.strip(), text=body.strip() + "\n")


def kinds(language: str = "zh") -> list[str]:
    return sorted(p.stem for p in (TEMPLATES / language).glob("*.txt") if not p.stem.startswith("_"))
