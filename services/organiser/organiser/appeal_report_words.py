"""Words of the appeals' monthly report (``/appeals/report``, its workbook and ``guanyinli appeals report``):
Chinese first, then English."""

from __future__ import annotations

# The appeals service's categories (appeals.domain.CATEGORIES), each with its words below.
CATEGORIES = (
    "errand",
    "agent",
    "government_affairs_at_home",
    "repair",
    "safety_hazard",
    "environment",
    "elevator",
    "neighbours",
    "other",
)

APPEAL_REPORT_TEXTS: dict[str, tuple[str, str]] = {
    "nav_appeal_report": ("诉求月报", "Appeals report"),
    "ar_title": ("居民诉求月报", "Residents' appeals: monthly report"),
    "ar_month": ("月份", "Month"),
    "ar_previous": ("上个月", "Previous month"),
    "ar_next": ("下个月", "Next month"),
    "ar_all_grids": ("全社区", "Whole community"),
    "ar_community": ("全社区合计", "Community total"),
    "ar_grids_total": ("所管网格合计", "Total of your grids"),
    "ar_grid_n": ("网格 {n}", "Grid {n}"),
    "ar_show": ("查看", "Show"),
    "ar_excel": ("导出 Excel", "Export to Excel"),
    "ar_print_hint": ("可直接打印本页上报。", "Print this page to report upward."),
    "ar_judged": ("统计时间 {at}", "Figures as of {at}"),
    "ar_leader_note": ("您是网格长：这里只显示您所管网格。", "As a grid leader you see the grids you lead."),
    "ar_how": (
        "按时：受理、上门、办结各阶段在时限内完成。每个阶段只计入一个月份：按时完成的计入完成当月，"
        "超时或未完成的计入到期当月。用时为从收到诉求起的小时数。夜间（20:00—次日8:00）收到的诉求从次日8:00起计时，"
        "电梯、紧急安全隐患昼夜计时。未登记上门的，以办结时间为上门时间。",
        "In time: a stage (acknowledge, visit, close) done within its limit. Each stage counts in one month: the"
        " month it was done when in time, else the month it fell due. Hours run from receipt. An appeal received"
        " at night (20:00-08:00) is timed from 08:00; lifts and urgent hazards around the clock. Without a"
        " recorded visit, the closing stands for it.",
    ),
    "ar_figure": ("指标", "Figure"),
    "ar_value": ("数值", "Value"),
    "ar_received": ("收到诉求", "Appeals received"),
    "ar_received_urgent": ("其中紧急", "of them urgent"),
    "ar_acknowledge_due": ("应受理", "To acknowledge"),
    "ar_acknowledge_met": ("按时受理", "Acknowledged in time"),
    "ar_acknowledge_share": ("按时受理率", "Acknowledged in time, share"),
    "ar_visit_due": ("应上门", "To visit"),
    "ar_visit_met": ("按时上门", "Visited in time"),
    "ar_visit_share": ("按时上门率", "Visited in time, share"),
    "ar_close_due": ("应办结", "To close"),
    "ar_close_met": ("按时办结", "Closed in time"),
    "ar_close_share": ("按时办结率", "Closed in time, share"),
    "ar_ack_median": ("受理用时中位数（小时）", "Hours to acknowledge, median"),
    "ar_ack_p90": ("受理用时90%分位（小时）", "Hours to acknowledge, 90th percentile"),
    "ar_close_median": ("办结用时中位数（小时）", "Hours to close, median"),
    "ar_close_p90": ("办结用时90%分位（小时）", "Hours to close, 90th percentile"),
    "ar_closed": ("本月办结", "Closed this month"),
    "ar_sat_answers": ("满意度回访数", "Satisfaction answers"),
    "ar_sat_mean": ("满意度平均分（1—5）", "Satisfaction, mean (1-5)"),
    "ar_sat_share": ("满意率（4—5分）", "Satisfied (4-5), share"),
    "ar_open_at_end": ("月末未办结", "Open at month end"),
    "ar_overdue_now": ("当前超时", "Overdue now"),
    "ar_by_category": ("按类别", "By category"),
    "ar_category": ("类别", "Category"),
    "ar_normal": ("一般", "normal"),
    "ar_urgent": ("紧急", "urgent"),
    "ar_total": ("合计", "total"),
    "ar_per_grid": ("各网格", "Per grid"),
    "ar_in_time": ("按时率", "in time"),
    "ar_none": ("本月没有诉求。", "No appeals this month."),
    "ar_chart_received": ("各网格收到与未办结", "Received and open per grid"),
    "ar_chart_in_time": ("各网格按时率", "In time per grid"),
    "ar_stage_acknowledge": ("受理", "acknowledged"),
    "ar_stage_visit": ("上门", "visited"),
    "ar_stage_close": ("办结", "closed"),
    "ar_cat_errand": ("代办跑腿", "Errand"),
    "ar_cat_agent": ("代理代办", "Acting as agent"),
    "ar_cat_government_affairs_at_home": ("政务上门办", "Government affairs at home"),
    "ar_cat_repair": ("维修", "Repair"),
    "ar_cat_safety_hazard": ("安全隐患", "Safety hazard"),
    "ar_cat_environment": ("环境卫生", "Environment"),
    "ar_cat_elevator": ("电梯", "Lift"),
    "ar_cat_neighbours": ("邻里纠纷", "Neighbours"),
    "ar_cat_other": ("其他", "Other"),
}
