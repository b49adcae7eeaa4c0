"""Sessions and subjects in plain words, Chinese beside English: organisers read the Chinese, logs the English."""

from __future__ import annotations

from .model import Session

# the subject codes of the community's tutoring skills ("tutoring:math"): (Chinese, English)
SUBJECTS: dict[str, tuple[str, str]] = {
    "math": ("数学", "maths"),
    "chinese": ("语文", "Chinese"),
    "english": ("英语", "English"),
    "physics": ("物理", "physics"),
    "chemistry": ("化学", "chemistry"),
}
WEEKDAYS_ZH = "一二三四五六日"


def order(code: str) -> tuple[int, str]:
    """Subjects sort as SUBJECTS lists them, others after them by code."""
    codes = list(SUBJECTS)
    return (codes.index(code), "") if code in SUBJECTS else (len(codes), code)


def subject(code: str) -> str:
    return SUBJECTS.get(code, (code, code))[1]


def subject_zh(code: str) -> str:
    return SUBJECTS.get(code, (code, code))[0]


def session(s: Session) -> str:
    """Saturday 6 March morning."""
    return f"{s.start:%A} {s.start.day} {s.start:%B} {'morning' if s.start.hour < 12 else 'afternoon'}"


def session_zh(s: Session) -> str:
    """3月6日（周六）上午."""
    part = "上午" if s.start.hour < 12 else "下午"
    return f"{s.start.month}月{s.start.day}日（周{WEEKDAYS_ZH[s.start.weekday()]}）{part}"
