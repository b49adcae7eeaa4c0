"""Message texts from Jinja2 templates (templates/<language>/<kind>.txt): the first line is the
subject, the rest the body. Chinese is the default language, English the other one. Text messages
(SMS) have short texts of their own (``short``, ``SMS_TEXTS``)."""

from __future__ import annotations

import re
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


# The words of the appeals service's categories and time-limit stages (appeals.time_limits).
APPEAL_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "errand": "代办跑腿",
        "agent": "代理服务",
        "government_affairs_at_home": "政务上门",
        "repair": "维修",
        "safety_hazard": "安全隐患",
        "environment": "环境卫生",
        "elevator": "电梯故障",
        "neighbours": "邻里纠纷",
        "other": "其他",
        "acknowledge": "接单",
        "visit": "上门",
        "close": "办结",
    },
    "en": {
        "errand": "errand",
        "agent": "agent service",
        "government_affairs_at_home": "government affairs at home",
        "repair": "repair",
        "safety_hazard": "safety hazard",
        "environment": "environment",
        "elevator": "elevator fault",
        "neighbours": "neighbours",
        "other": "other",
        "acknowledge": "accepted",
        "visit": "visited",
        "close": "closed",
    },
}


def appeal_word(language: str, key: str) -> str:
    """A category or stage of an appeal in words; an unknown one as it is."""
    return APPEAL_WORDS[language].get(key, key)


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
    env.filters["appeal_word"] = lambda key: appeal_word(language, key)
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


# --- text messages (SMS) -----------------------------------------------------------------------
# One short text per message kind and language, written as an SMS provider's template with
# numbered variables ({1}, {2} ...), the way templates are registered with Tencent Cloud SMS: the
# texts registered there must be these (README, "SMS"). A variable holds at most SMS_PARAM_MAX
# characters (Tencent's limit for accounts not certified as an organisation); longer titles are cut.

SMS_PARAM_MAX = 12

SMS_TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "sign_in_code": "观音里志愿者登录验证码：{1}，{2}分钟内有效。请勿告诉他人。",
        "reminder_24h": "明天提醒：{1}，{2} {3}开始。如不能参加，请尽早在平台取消。",
        "reminder_2h": "即将开始：{1}，{2} {3}。感谢您的付出！",
        "signup_confirmed": "报名成功：{1}，{2} {3}开始。开始前会再提醒您。",
        "signup_waitlisted": "已进入候补：{1}，{2} {3}。有空位时会通知您。",
        "signup_promoted": "候补转正：{1}，{2} {3}开始，请按时参加。",
        "signup_cancelled": "报名已取消：{1}，{2} {3}。相关提醒已停止。",
        "occurrence_cancelled": "活动取消：{1}，{2} {3}。您无需前往。",
        "occurrence_changed": "活动改期：{1}改为{2} {3}，详见平台。",
        "roster_published": "巡逻排班已发布（{1}至{2}），您有{3}个班次，详见平台。",
        "roster_repaired": "巡逻排班调整（{1}至{2}）：您新增{3}个、取消{4}个班次，详见平台。",
        "swap_proposed": "换班申请（编号{1}）：{2}想与您换班，请尽快在平台答复，班次开始后自动失效。",
        "swap_proposed_sent": "换班申请（编号{1}）已发出，等待{2}答复，之前请按原排班出勤。",
        "swap_accepted": "换班成功（编号{1}），请以平台上的最新排班为准。",
        "swap_declined": "换班申请（编号{1}）未成，排班不变，请按原排班出勤。",
        "swap_withdrawn": "换班申请（编号{1}）已撤回，无需答复，排班不变。",
        "digest": "观音里每周汇总：本周通知{1}条，未来7天安排{2}项，详见平台。",
        "standin_offered": "诚邀替班：{1}，{2} {3}。愿意的请在平台“需要顶班”里接受，先到先得。",
        "standin_offered_leader": "替班通知：{1}，{2} {3}有志愿者不能到岗，已请人替班。",
        "standin_taken": "已有人替班：{1}，{2} {3}。",
        "standin_taken_taker": "替班成功：{1}，{2} {3}由您负责，谢谢！",
        "standin_taken_volunteer": "已有人替您：{1}，{2} {3}，您不必到岗。",
        "standin_unfilled": "替班无人接：{1}，{2} {3}，请协调人员。",
        "standin_unfilled_volunteer": "暂无人替班：{1}，{2} {3}仍由您负责；能到岗请在平台撤回替班。",
        "appeal_assigned": "新诉求待接单：第{1}网格{2}诉求（编号{3}），请尽快在平台接单。",
        "appeal_assigned_organisers": "诉求待指派：第{1}网格{2}诉求（编号{3}）暂无人可接，请在平台指派。",
        "appeal_escalated": "诉求将超时：第{1}网格{2}诉求（编号{3}）须在{4} {5}前{6}，请抓紧处理。",
        "appeal_escalated_leader": "诉求超时：第{1}网格{2}诉求（编号{3}）应在{4} {5}前{6}，请督办。",
        "appeal_escalated_organisers": "诉求时限提醒：第{1}网格{2}诉求（编号{3}）须在{4} {5}前{6}，请社区跟进。",
        "appeal_code": "观音里社区诉求验证码：{1}，{2}分钟内有效，用于提交诉求。请勿告诉他人。",
        "appeal_closed": "您的诉求（编号{1}）已办结。请点此告诉我们是否满意：{2}（14天内有效）",
    },
    "en": {
        "sign_in_code": "Guanyinli volunteers sign-in code: {1}, valid for {2} minutes. Do not tell anyone.",
        "reminder_24h": "Tomorrow: {1}, {2} {3}. If you cannot come, cancel on the platform early.",
        "reminder_2h": "Starting soon: {1}, {2} {3}. Thank you!",
        "signup_confirmed": "Signed up: {1}, {2} {3}. We will remind you before it starts.",
        "signup_waitlisted": "Waitlisted: {1}, {2} {3}. We will tell you when a place frees up.",
        "signup_promoted": "You have a place: {1}, {2} {3}. Please come on time.",
        "signup_cancelled": "Sign-up cancelled: {1}, {2} {3}. Its reminders are off.",
        "occurrence_cancelled": "Cancelled: {1}, {2} {3}. No need to come.",
        "occurrence_changed": "Moved: {1} is now {2} {3}. Details on the platform.",
        "roster_published": "Patrol roster {1} to {2} published: you have {3} shifts. Details on the platform.",
        "roster_repaired": "Patrol roster {1} to {2} changed: {3} shifts added, {4} removed for you.",
        "swap_proposed": "Swap request {1}: {2} would like to swap shifts with you. Answer on the platform.",
        "swap_proposed_sent": "Swap request {1} sent; waiting for {2}. Until then keep your shifts.",
        "swap_accepted": "Swap {1} done. The roster on the platform is the one that counts.",
        "swap_declined": "Swap request {1} did not go ahead. Your shifts stay as they were.",
        "swap_withdrawn": "Swap request {1} was withdrawn: no answer needed, your shifts stay.",
        "digest": "Guanyinli weekly: {1} notices this week, {2} duties in the next 7 days. See the platform.",
        "standin_offered": "Stand-in wanted: {1}, {2} {3}. Take it under “Duties needing a stand-in”; first come first served.",
        "standin_offered_leader": "{1}, {2} {3}: a volunteer cannot come; stand-ins have been asked.",
        "standin_taken": "{1}, {2} {3}: a stand-in has taken it.",
        "standin_taken_taker": "Thank you! {1}, {2} {3} is yours now.",
        "standin_taken_volunteer": "Someone took your duty {1}, {2} {3}: no need to come.",
        "standin_unfilled": "Nobody has taken {1}, {2} {3} yet: please find someone.",
        "standin_unfilled_volunteer": "Nobody has taken {1}, {2} {3} yet: it is still yours. Withdraw the offer if you can come.",
        "appeal_assigned": "New appeal to accept: {2}, grid {1} (no. {3}). Please accept it on the platform soon.",
        "appeal_assigned_organisers": "Appeal with nobody to take it: {2}, grid {1} (no. {3}). Please assign it on the platform.",
        "appeal_escalated": "Appeal due soon: {2}, grid {1} (no. {3}) is to be {6} by {4} {5}. Please see to it.",
        "appeal_escalated_leader": "Appeal overdue: {2}, grid {1} (no. {3}) was to be {6} by {4} {5}. Please follow it up.",
        "appeal_escalated_organisers": "Appeal past its time: {2}, grid {1} (no. {3}) is to be {6} by {4} {5}. Please step in.",
        "appeal_code": "Guanyinli code to send an appeal: {1}, valid for {2} minutes. Do not tell anyone.",
        "appeal_closed": "Your appeal {1} is closed. Tell us if you are satisfied: {2} (valid 14 days)",
    },
}
SMS_KINDS = tuple(SMS_TEXTS["zh"])
_SMS_VARIABLE = re.compile(r"\{([1-9])\}")


@dataclass(frozen=True)
class Short:
    """A text message: its template's key, the values of the template's variables, the text."""

    template: str  # the kind; "<kind>.en" for the English text
    params: tuple[str, ...]
    text: str


def _clip(value) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= SMS_PARAM_MAX else text[: SMS_PARAM_MAX - 1] + "…"


def _sms_day(language: str, value) -> str:
    dt = _moment(value)
    return (
        f"{dt.month}月{dt.day}日"
        if language == "zh"
        else f"{EN_WEEKDAYS[dt.weekday()]} {dt.day} {EN_MONTHS[dt.month - 1]}"
    )


def _sms_params(kind: str, language: str, context: dict) -> tuple[str, tuple]:
    """(the template's kind, its variables) of one message."""

    def day(value) -> str:
        return _sms_day(language, value)

    if kind in ("sign_in_code", "appeal_code"):
        return kind, (context["code"], context["minutes"])
    if kind == "appeal_closed":  # the link whole: a cut link leads nowhere
        return kind, (context["reference"], context["link"])
    if kind.startswith(("reminder_", "signup_", "occurrence_")):
        return kind, (_clip(context["title"]), day(context["start"]), _hm(context["start"]))
    if kind == "roster_published":
        return kind, (day(context["roster_start"]), day(context["roster_end"]), len(context["added"]))
    if kind == "roster_repaired":
        counts = (len(context["added"]), len(context["removed"]))
        return kind, (day(context["roster_start"]), day(context["roster_end"]), *counts)
    if kind == "swap_proposed":
        if context.get("other_id") is not None:
            other = context.get("other_name") or (
                f"志愿者{context['other_id']}" if language == "zh" else f"volunteer {context['other_id']}"
            )
        else:
            other = "其他志愿者" if language == "zh" else "the other volunteer"
        return ("swap_proposed_sent" if context.get("proposer") else kind), (context["swap_id"], _clip(other))
    if kind.startswith("swap_"):
        return kind, (context["swap_id"],)
    if kind == "digest":
        return kind, (len(context["items"]), len(context["duties"]))
    if kind.startswith(("standin_", "appeal_")):
        audience = context.get("audience")
        template = f"{kind}_{audience}" if f"{kind}_{audience}" in SMS_TEXTS[language] else kind
        if kind.startswith("standin_"):
            return template, (_clip(context["title"]), day(context["duty_start"]), _hm(context["duty_start"]))
        what = (context["grid_id"], _clip(appeal_word(language, context["category"])), context["appeal_id"])
        if kind == "appeal_assigned":
            return template, what
        deadline = context["deadline"]
        return template, (*what, day(deadline), _hm(deadline), appeal_word(language, context["stage"]))
    raise KeyError(f"no text message for {kind!r}")


def short(kind: str, language: str, context: dict) -> Short:
    """The text message of one message (``SMS_TEXTS``); an unknown language falls back to Chinese."""
    language = language if language in LANGUAGES else "zh"
    template, values = _sms_params(kind, language, context)
    params = tuple(str(v) for v in values)
    text = _SMS_VARIABLE.sub(lambda m: params[int(m.group(1)) - 1], SMS_TEXTS[language][template])
    return Short(template if language == "zh" else f"{template}.en", params, text)
