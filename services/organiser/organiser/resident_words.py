"""Words of the residents' public appeal pages (``organiser.resident_pages``): Chinese first, plain,
for people who may never have used the platform, and every refusal with what to do next."""

from __future__ import annotations

# The appeals service's categories (appeals.domain.CATEGORIES), in the order a resident reads them.
CATEGORIES = (
    "repair",
    "elevator",
    "safety_hazard",
    "environment",
    "errand",
    "agent",
    "government_affairs_at_home",
    "neighbours",
    "other",
)
URGENCIES = ("normal", "urgent")

RESIDENT_TEXTS: dict[str, tuple[str, str]] = {
    "pa_app": ("观音里社区 · 居民诉求", "Guanyinli community · Residents' appeals"),
    "pa_title": ("提交诉求", "Send an appeal"),
    "pa_intro": (
        "有事请社区帮忙？留下手机号码，我们发验证码给您，验证后填写诉求，网格员会与您联系。",
        "Need the community's help? Enter your mobile number, we text you a code, then you tell us what you need"
        " and a grid worker contacts you.",
    ),
    "pa_phone_label": ("手机号码", "Mobile number"),
    "pa_send_code": ("获取验证码", "Send me a code"),
    "pa_other_ways": (
        "不方便上网？请拨打社区电话或到社区服务站，工作人员帮您登记。",
        "Not online? Call the community office or come to the service station: staff will take it down for you.",
    ),
    "pa_enter_code": ("输入验证码", "Enter the code"),
    "pa_code_sent": (
        "验证码已发送到 {masked}，5 分钟内有效。",
        "A code is on its way to {masked}; it is valid for 5 minutes.",
    ),
    "pa_code_label": ("6 位验证码", "6-digit code"),
    "pa_verify": ("下一步", "Next"),
    "pa_new_code": ("没收到？重新获取", "Nothing came? Ask again"),
    "pa_phone_invalid": (
        "请输入 11 位手机号码，例如 139 1234 5678。",
        "Enter an 11-digit mobile number, for example 139 1234 5678.",
    ),
    "pa_code_wait": (
        "验证码请求过于频繁，请 {minutes} 分钟后再试。",
        "Too many codes asked for; try again in {minutes} min.",
    ),
    "pa_sms_down": (
        "短信暂时发不出去，请稍后再试，或拨打社区电话登记诉求。",
        "Text messages cannot be sent right now; try again later, or call the community office.",
    ),
    "pa_code_wrong": ("验证码不对，请再输一次。", "That code is not right; please try again."),
    "pa_code_expired": ("验证码已过期，请重新获取。", "The code has expired; ask for a new one."),
    "pa_code_used_up": ("输错次数太多，请重新获取验证码。", "Too many wrong tries; ask for a new code."),
    "pa_form_expired": ("表单已失效，请重新开始。", "This form had expired; please start again."),
    "pa_pass_expired": (
        "验证已超过 30 分钟，请重新获取验证码。",
        "Your number was checked more than 30 minutes ago; ask for a new code.",
    ),
    "pa_form": ("您的诉求", "Your appeal"),
    "pa_verified": ("已验证手机号码 {masked}。", "Mobile number {masked} checked."),
    "pa_category": ("什么事", "What is it about"),
    "pa_cat_repair": ("维修（水电、门窗等）", "Repairs (water, power, doors, windows)"),
    "pa_cat_elevator": ("电梯故障", "Lift out of order"),
    "pa_cat_safety_hazard": ("安全隐患（楼道充电、堆物等）", "Safety hazard (charging in corridors, clutter)"),
    "pa_cat_environment": ("环境卫生、绿化", "Cleanliness, greenery"),
    "pa_cat_errand": ("代办跑腿（买药、买菜等）", "Errands (medicine, groceries)"),
    "pa_cat_agent": ("代理代办", "Acting on your behalf"),
    "pa_cat_government_affairs_at_home": ("政务上门办理", "Government services at home"),
    "pa_cat_neighbours": ("邻里纠纷", "Neighbours"),
    "pa_cat_other": ("其他", "Something else"),
    "pa_place": ("您住在哪个院落或楼栋", "Your courtyard or building"),
    "pa_place_choose": ("请选择", "Choose one"),
    "pa_building": ("楼号（可不填）", "Building number (optional)"),
    "pa_building_hint": ("例如 3号楼", "e.g. building 3"),
    "pa_urgency": ("紧急吗", "How urgent"),
    "pa_urgency_normal": ("一般", "Normal"),
    "pa_urgency_urgent": ("紧急（影响安全或生活）", "Urgent (safety or daily life at risk)"),
    "pa_description": ("请说说情况", "Tell us what is wrong"),
    "pa_name": ("您的称呼", "Your name"),
    "pa_address": ("详细地址（可不填）", "Address (optional)"),
    "pa_address_hint": ("例如 1号院3号楼302", "e.g. courtyard 1, building 3, flat 302"),
    "pa_privacy": (
        "您的姓名、电话和地址只给处理的网格员和社区工作人员看。",
        "Your name, number and address are seen only by the grid worker who handles it and the community staff.",
    ),
    "pa_submit": ("提交诉求", "Send my appeal"),
    "pa_missing": ("请填写：{fields}", "Please fill in: {fields}"),
    "pa_code_spent": (
        "这个验证码已经提交过一条诉求。如还有别的事，请重新获取验证码。",
        "An appeal was sent with this code already. For something else, ask for a new code.",
    ),
    "pa_refused": ("提交没有成功", "The appeal was not sent"),
    "pa_unreachable": ("系统暂时无法受理", "We cannot take appeals right now"),
    "pa_unreachable_next": (
        "请稍后再试，急事请拨打社区电话。",
        "Please try again later; for anything urgent, call the community office.",
    ),
    "pa_done": ("诉求已收到", "Your appeal is in"),
    "pa_reference": ("诉求编号", "Reference"),
    "pa_reference_hint": ("查询时请报这个编号。", "Quote this number when you ask about it."),
    "pa_routed": (
        "已交给您所在网格的工作人员，最迟 {when} 前会联系您。",
        "A worker of your grid has it and will contact you by {when} at the latest.",
    ),
    "pa_unrouted": (
        "社区工作人员正在安排人手，最迟 {when} 前会联系您。",
        "The community office is finding someone; you will be contacted by {when} at the latest.",
    ),
    "pa_text_later": (
        "办结后我们会发短信给您，请您评价是否满意。",
        "When it is done we will text you a link to tell us whether you are satisfied.",
    ),
    "pa_another": ("再提交一条", "Send another appeal"),
    "pa_reply_title": ("您对处理结果满意吗", "Are you satisfied with how it was handled?"),
    "pa_satisfaction": ("满意程度", "How satisfied"),
    "pa_sat_5": ("5 非常满意", "5 very satisfied"),
    "pa_sat_4": ("4 满意", "4 satisfied"),
    "pa_sat_3": ("3 一般", "3 so-so"),
    "pa_sat_2": ("2 不太满意", "2 not really"),
    "pa_sat_1": ("1 不满意", "1 not satisfied"),
    "pa_reply": ("想说的话（可不填）", "Anything to add (optional)"),
    "pa_reply_send": ("提交评价", "Send"),
    "pa_reply_choose": ("请选择满意程度。", "Choose how satisfied you are."),
    "pa_reply_thanks": ("谢谢您的评价", "Thank you"),
    "pa_reply_thanks_text": (
        "诉求 {reference} 的评价已记录。社区会根据您的意见改进工作。",
        "Your answer on appeal {reference} is recorded. The community learns from it.",
    ),
    "pa_link_unknown": ("这个链接无效", "This link does not work"),
    "pa_link_unknown_next": (
        "请核对短信中的链接是否完整；如有疑问请拨打社区电话。",
        "Check that the link from the text message is complete; if in doubt, call the community office.",
    ),
    "pa_link_used": ("您已经评价过了", "You have answered already"),
    "pa_link_used_next": (
        "每条诉求只评价一次，谢谢。如还有问题，可以再提交一条诉求。",
        "Each appeal takes one answer, thank you. If something is still wrong, send a new appeal.",
    ),
    "pa_link_expired": ("这个链接已过期", "This link has expired"),
    "pa_link_expired_next": (
        "评价链接 14 天内有效。如还有问题，可以再提交一条诉求或拨打社区电话。",
        "Answer links last 14 days. If something is still wrong, send a new appeal or call the community office.",
    ),
    "pa_start_again": ("提交诉求", "Send an appeal"),
}
