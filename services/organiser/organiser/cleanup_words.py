"""Texts of the clean-up rotation page and command, in Chinese (the default) and English."""

from __future__ import annotations

CLEANUP_TEXTS: dict[str, tuple[str, str]] = {
    "nav_cleanups": ("清洁护绿", "Clean-ups"),
    "cleanups": ("清洁护绿轮值", "Clean-up rotation"),
    "cleanups_intro": (
        "清洁卫生护绿队轮流打扫院落、商住楼和公共绿地；每位队员的次数相差不超过一次（在各自有空的前提下），并优先安排在自己居住的网格。",
        "The sanitation and green protection team takes turns at the courtyards, the commercial-residential "
        "buildings and the public green spaces; each member's count stays within one of the others' where their "
        "free times allow, and near home where possible.",
    ),
    "cleanup_place": ("地点", "Place"),
    "cleanup_week_of": ("{day} 起一周", "Week of {day}"),
    "cleanup_short": ("缺 {missing} 人", "{missing} short"),
    "cleanup_none": ("这段时间还没有清洁轮值。", "No clean-ups planned in this period yet."),
    "cleanup_counts": ("每位队员的次数", "Clean-ups per volunteer"),
    "cleanup_count": ("次数", "Clean-ups"),
    "cleanup_spread": ("最多 {most} 次，最少 {least} 次", "most {most}, fewest {least}"),
    "cleanup_own_rota": ("自管院落（自行轮值，不在此表中）", "Self-managed courtyards (own rota, not in this table)"),
    "cleanup_own": ("自行轮值", "own rota"),
    "cleanup_plan": ("安排轮值", "Plan the rotation"),
    "cleanup_plan_note": (
        "再次安排只补上缺少的清洁和人员，已有的安排保持不变。",
        "Planning again only adds what is missing; what is planned stays as it is.",
    ),
    "cleanup_weeks": ("周数", "Weeks"),
    "cleanup_show": ("查看", "Show"),
    "cleanup_planned": (
        "已安排：新增 {created} 次清洁、{signed_up} 人次。",
        "Planned: {created} new clean-ups, {signed_up} sign-ups.",
    ),
    "place_kind_courtyard": ("院落", "courtyard"),
    "place_kind_commercial_residential": ("商住楼", "building"),
    "place_kind_green_space": ("绿地", "green space"),
}
