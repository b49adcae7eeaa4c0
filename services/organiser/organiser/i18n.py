"""Texts of the organiser page in Chinese (the default) and English."""

from __future__ import annotations

from organiser.appeal_report_words import APPEAL_REPORT_TEXTS
from organiser.appeal_words import APPEAL_TEXTS
from organiser.calendar_words import CALENDAR_TEXTS
from organiser.cleanup_words import CLEANUP_TEXTS
from organiser.lecture_words import LECTURE_TEXTS
from organiser.partner_words import PARTNER_TEXTS
from organiser.phone_words import PHONE_TEXTS
from organiser.resident_words import RESIDENT_TEXTS
from organiser.school_words import SCHOOL_TEXTS
from organiser.visit_words import VISIT_TEXTS

LANGUAGES = ("zh", "en")
DEFAULT = "zh"

TEXTS: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "app": ("观音里志愿服务 · 组织者", "Guanyinli volunteering · organisers"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login_failed": ("用户名或密码不正确。", "Wrong username or password."),
    "locked": ("登录尝试过多", "Too many login attempts"),
    "busy": ("请稍候", "One moment"),
    "logins_busy": (
        "此刻登录的人很多，请几秒钟后再试。",
        "Many logins are being checked right now; try again in a few seconds.",
    ),
    "locked_minutes": (
        "登录失败次数过多，请{minutes}分钟后再试。",
        "Too many failed logins from here; try again in {minutes} min.",
    ),
    "login_needed": ("请先登录。", "Please log in."),
    "session_expired": ("会话已过期，请重新登录。", "Your session has expired; please log in again."),
    "csrf_failed": ("表单已失效，请刷新页面后重试。", "The form has expired; reload the page and try again."),
    "forbidden": ("您的账户只能查看，不能修改。", "Your account may look but not change anything."),
    "not_allowed": ("没有权限", "Not allowed"),
    "attendance_organisers_only": ("签到表仅组织者可见。", "The attendance sheet is for organisers only."),
    "language": ("English", "中文"),
    "nav_roster": ("巡逻排班", "Patrol roster"),
    "nav_attendance": ("签到表", "Attendance"),
    "nav_volunteers": ("志愿者", "Volunteers"),
    "rosters": ("排班表", "Rosters"),
    "build_roster": ("生成排班", "Build a roster"),
    "first_day": ("开始日期", "First day"),
    "days": ("天数", "Days"),
    "grids": ("网格", "Grids"),
    "all_grids": ("全部网格（留空）", "all grids (leave empty)"),
    "time_limit": ("求解时间（秒）", "Solver time (s)"),
    "build": ("生成", "Build"),
    "building": ("正在生成…", "Building…"),
    "building_title": ("正在生成排班", "Building the roster"),
    "building_note": (
        "求解器正在排班（{time} 开始）；完成后本页会自动打开排班表，也可以先去做别的事。",
        "The solver is at work (since {time}); this page opens the roster when it is done, meanwhile you may go on.",
    ),
    "open_roster": ("打开排班表", "Open roster"),
    "roster_no": ("排班表编号", "Roster number"),
    "open": ("打开", "Open"),
    "no_rosters": ("还没有排班表。", "No rosters yet."),
    "roster": ("排班表", "Roster"),
    "status": ("状态", "Status"),
    "status_draft": ("草稿", "draft"),
    "status_published": ("已发布", "published"),
    "status_solving": ("正在求解", "solving"),
    "status_superseded": ("已被取代", "superseded"),
    "status_failed": ("求解失败", "failed"),
    "solver_optimal": ("最优", "optimal"),
    "solver_feasible": ("可行", "feasible"),
    "solver_feasible_with_gaps": ("可行，有缺口", "feasible with gaps"),
    "solver_infeasible": ("无法排班", "infeasible"),
    "solver_unknown": ("时限内未找到", "none found in time"),
    "period": ("时段", "Period"),
    "solver": ("求解器", "Solver"),
    "objective": ("目标值", "Objective"),
    "bound": ("下界", "Bound"),
    "gap": ("差距", "Gap"),
    "covered": ("已满足", "covered"),
    "short": ("人手不足", "short"),
    "shifts_short": ("人手不足的班次", "Shifts short"),
    "repair_of": ("调整自", "repair of"),
    "changed": ("处改动", "changed"),
    "made": ("生成时间", "Made"),
    "empty": ("无人", "nobody"),
    "legend": ("图例", "Legend"),
    "leader": ("带队", "leader"),
    "patroller": ("巡逻员", "patroller"),
    "no_leader": ("缺带队", "no leader"),
    "publish": ("发布", "Publish"),
    "publish_confirm": ("发布后志愿者将收到值班安排。确定发布？", "Volunteers will get their duties. Publish?"),
    "published": ("排班表已发布。", "The roster is published."),
    "repair": ("调整（有人退出）", "Repair (someone dropped out)"),
    "repair_volunteer": ("退出的志愿者", "Volunteer who dropped out"),
    "number_or_name": ("编号或姓名", "number or name"),
    "repair_confirm": ("重新安排该志愿者的班次？", "Re-plan this volunteer's shifts?"),
    "repaired": ("排班表已调整。", "The roster is repaired."),
    "swap": ("换班", "Swap"),
    "swap_a": ("志愿者及其班次日期", "Volunteer and the day of their patrol"),
    "swap_b": ("与另一名志愿者及其班次日期互换", "swaps with a volunteer and the day of theirs"),
    "swap_time": ("班次开始时间（当天有两个班次时填写）", "start time (when they have two patrols that day)"),
    "swap_confirm": ("按规则检查后互换两人的班次？", "Swap the two patrols if the rules allow?"),
    "swapped": ("已换班。", "The patrols are swapped."),
    "gaps": ("缺口", "Gaps"),
    "gaps_unexplained": ("其他缺口", "Other gaps"),
    "no_gaps": ("所有班次都已安排。", "Every shift is covered."),
    "explanation": ("无法完全排班的原因", "Why the roster cannot be complete"),
    "suggestions": ("可以考虑", "You could"),
    "fairness": ("公平性", "Fairness"),
    "fairness_title": ("志愿者班次与个人目标之差", "Volunteers by shifts minus their own target"),
    "fairness_x": ("班次 − 目标", "shifts − target"),
    "fairness_y": ("人数", "volunteers"),
    "fairness_table": ("偏离目标最多的志愿者", "Volunteers furthest from their target"),
    "shifts": ("班次", "shifts"),
    "target": ("目标", "target"),
    "no_report": ("没有公平性报告。", "No fairness report."),
    "attendance": ("签到表", "Attendance sheet"),
    "day": ("日期", "Day"),
    "show": ("显示", "Show"),
    "time": ("时间", "Time"),
    "activity": ("活动", "Activity"),
    "role": ("岗位", "Role"),
    "volunteer": ("志愿者", "Volunteer"),
    # the roles of activities (activities.domain): a role with no text here is shown as it is
    "role_patroller": ("巡逻", "patroller"),
    "role_tutor": ("辅导老师", "tutor"),
    "role_setup": ("场地布置", "setting up"),
    "role_reception": ("接待", "reception"),
    "role_visitor": ("探访", "visitor"),
    "role_cleaner": ("清洁", "cleaner"),
    "role_helper": ("服务", "helper"),
    "role_photographer": ("摄影", "photographer"),
    # skills are free-form codes ("first_aid", "tutoring:math"): the ones the community uses, and the
    # subjects of tutoring; any other is shown as it is
    "skill_patrol_leader": ("巡逻带队", "patrol leader"),
    "skill_first_aid": ("急救", "first aid"),
    "skill_elderly_care": ("助老", "elderly care"),
    "skill_electrician": ("电工", "electrician"),
    "skill_plumbing": ("水暖维修", "plumbing"),
    "skill_driving": ("驾驶", "driving"),
    "skill_photography": ("摄影", "photography"),
    "skill_calligraphy": ("书法", "calligraphy"),
    "skill_tutoring": ("课业辅导", "tutoring"),
    "skill_math": ("数学", "maths"),
    "skill_chinese": ("语文", "Chinese"),
    "skill_english": ("英语", "English"),
    "skill_physics": ("物理", "physics"),
    "skill_chemistry": ("化学", "chemistry"),
    "mark": ("签到", "Mark"),
    "attended": ("已到", "attended"),
    "no_show": ("缺席", "no-show"),
    "excused": ("请假", "excused"),
    "no_duties": ("这一天没有值班。", "No duties on this day."),
    "marked": ("签到已记录。", "Attendance recorded."),
    "volunteers": ("志愿者", "Volunteers"),
    "name": ("姓名", "Name"),
    "phone": ("电话", "Phone"),
    "email": ("邮箱", "E-mail"),
    "teams": ("队伍", "Teams"),
    "grid": ("网格", "Grid"),
    "skills": ("技能", "Skills"),
    "active": ("在册", "Active"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "team_filter": ("队伍", "Team"),
    "any": ("全部", "any"),
    "filter": ("筛选", "Filter"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "private_hidden": ("（仅组织者可见）", "(organisers only)"),
    "subscribe": ("订阅日历", "Subscribe to the calendar"),
    "subscribe_help": (
        "用手机相机扫描二维码，或在日历应用中添加下面的订阅链接。",
        "Scan the code with the phone's camera, or add the link below as a calendar subscription.",
    ),
    "no_feed_yet": ("该志愿者还没有个人日历链接。", "This volunteer has no personal calendar link yet."),
    "issue_feed": ("生成订阅链接", "Create the subscription link"),
    "feed_unavailable": ("暂时无法获取订阅链接：", "The subscription link is not available now:"),
    "error": ("出错了", "Something went wrong"),
    "check_input": ("请检查填写的内容", "Please check what you entered"),
    "refused": ("未能办理", "Not done"),
    "unreachable": ("服务暂时无法访问", "A service cannot be reached"),
    "not_found": ("找不到", "Not found"),
    "back": ("返回", "Back"),
    "viewer_note": ("只读账户", "read-only account"),
    "roster_settings": ("排班设置", "Roster settings"),
    "own_cap": ("每周最多值班", "Duties a week at most"),
    "own_cap_n": ("{n} 次", "{n}"),
    "own_cap_none": ("按平台规定", "the platform's cap"),
    "target_month": ("每月巡逻目标", "Patrols a month (target)"),
    "target_n": ("{n} 次", "{n}"),
    "target_fair": ("公平分配", "a fair share"),
    "preferred_days": ("希望的日子", "Preferred days"),
    "preferred_times": ("希望的时段", "Preferred times of day"),
    "no_preference": ("不限", "no preference"),
    "partners": ("巡逻搭档", "Patrol partners"),
    "partner_n": ("搭档 {n}", "Partner {n}"),
    "save": ("保存", "Save"),
    "settings_saved": ("排班设置已保存。", "Roster settings saved."),
    "roster_settings_help": (
        "每周上限是硬性规定；目标、日子、时段和搭档是排班时尽量照顾的愿望。搭档从本网格的巡逻队员中选。"
        "留空的上限按平台规定，留空的目标按公平分配。",
        "The weekly cap is a hard limit; the target, days, times and partners are wishes the roster weighs."
        " Partners are chosen from the patrol team of the volunteer's grid. An empty cap means the platform's;"
        " an empty target, a fair share.",
    ),
    # the command line's report of a roster solved from a file (guanyinli roster solve)
    "solve_solving": (
        "正在排班「{name}」：{shifts} 个班次，{volunteers} 名队员，最多 {seconds} 秒",
        "Solving {name}: {shifts} shifts, {volunteers} volunteers, {seconds} s at most",
    ),
    "solve_progress": (
        "  {elapsed:6.2f} 秒  目标值 {objective}  下界 {bound}",
        "  {elapsed:6.2f} s  objective {objective}  bound {bound}",
    ),
    "solve_written": ("排班「{name}」已写入 {out}", "Roster of {name} written to {out}"),
    "solve_status": (
        "  状态      {status}，{seconds} 秒内找到 {solutions} 个逐步改进的排班",
        "  status      {status}, {solutions} improving rosters found in {seconds} s",
    ),
    "solve_bound": ("，下界 {bound}（差距 {gap}）", ", bound {bound} (gap {gap})"),
    "solve_objective": (
        "  目标值    {objective} = {fairness} ×（带队人员负荷差 {leaders} + 其他队员负荷差 {others}）"
        "+ {off_home_weight} × 非本网格 {off_home}",
        "  objective   {objective} = {fairness} × (leaders' spread {leaders} + others' spread {others})"
        " + {off_home_weight} × off home {off_home}",
    ),
    "solve_load_leaders": (
        "  带队人员  {volunteers} 人，每人 {min} 至 {max} 个班次（负荷差 {spread}）",
        "  leaders     {volunteers} volunteers, {min} to {max} shifts each (spread {spread})",
    ),
    "solve_load_others": (
        "  其他队员  {volunteers} 人，每人 {min} 至 {max} 个班次（负荷差 {spread}）",
        "  others      {volunteers} volunteers, {min} to {max} shifts each (spread {spread})",
    ),
    "solve_off_home": (
        "  非本网格  {assignments} 个安排中有 {off_home} 个不在队员的本网格",
        "  off home    {off_home} of {assignments} assignments outside the volunteer's home grid",
    ),
    "solve_covered": (
        "  覆盖      全部 {shifts} 个班次都有足够的队员和带队",
        "  coverage    all {shifts} shifts have their patrollers and leaders",
    ),
    "solve_short": (
        "  覆盖      {shifts} 个班次中有 {short} 个人手不足：",
        "  coverage    {short} of {shifts} shifts short:",
    ),
    "solve_gap": ("{shift}（{grid}，{start}）{what}", "{shift} ({grid}, {start}) {what}"),
    "solve_missing": ("缺 {missing} 人", "{missing} short"),
    "solve_no_leader": ("缺带队", "no leader"),
    "solve_problems": ("容量问题：", "Capacity problems:"),
    "solve_checker_valid": (
        "检查（{checker}）：所有硬性规则都满足；目标值 {objective} 一致",
        "Checker ({checker}): every hard rule holds; objective {objective} agrees",
    ),
    "solve_checker_gaps": (
        "检查（{checker}）：除 {gaps} 处覆盖缺口（见上）外，其他硬性规则都满足；目标值 {objective} 一致",
        "Checker ({checker}): coverage violations {gaps} (the gaps above), every other hard rule holds; "
        "objective {objective} agrees",
    ),
    "solve_checker_broken": (
        "检查（{checker}）：{broken} 处违反硬性规则：",
        "Checker ({checker}): {broken} hard rules broken:",
    ),
    "solve_objective_differs": (
        "排班文件写的目标值 {claimed} 与按安排算出的 {objective} 不符",
        "the roster claims objective {claimed}, its assignments give {objective}",
    ),
}


def _join(texts: dict[str, tuple[str, str]], *tables: dict[str, tuple[str, str]]) -> None:
    """Add each page's words to ``texts``; a key two tables define would show one page the other's
    words, so it is refused when the module loads."""
    for table in tables:
        twice = sorted(key for key in table if key in texts and texts[key] != table[key])
        if twice:
            raise ValueError(f"words defined twice with different texts: {', '.join(twice)}")
        texts.update(table)


_join(
    TEXTS,
    PHONE_TEXTS,
    CLEANUP_TEXTS,
    VISIT_TEXTS,
    SCHOOL_TEXTS,
    CALENDAR_TEXTS,
    LECTURE_TEXTS,
    RESIDENT_TEXTS,
    APPEAL_REPORT_TEXTS,
    PARTNER_TEXTS,
    APPEAL_TEXTS,
)


def skill(lang: str, code: str) -> str:
    """A skill in words: "tutoring:math" is 课业辅导（数学） or tutoring (maths)."""
    head, _, detail = code.partition(":")
    if f"skill_{head}" not in TEXTS:
        return code
    name = state(lang, "skill", head)
    if not detail:
        return name
    sub = state(lang, "skill", detail)
    return f"{name}（{sub}）" if lang == "zh" else f"{name} ({sub})"


def translate(lang: str, key: str) -> str:
    pair = TEXTS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def state(lang: str, kind: str, value: str | None) -> str:
    """A roster's status (kind "status"), its solver's ("solver"), an activity role ("role") or a skill
    ("skill") in words; a value without a text of its own is shown as it is."""
    if not value:
        return ""
    return translate(lang, f"{kind}_{value}") if f"{kind}_{value}" in TEXTS else value


def pick(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT
