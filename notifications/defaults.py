"""The built-in text of every notification, per kind and language: what the migration seeds into
NotificationTemplate and what "reset to default" restores. The operator edits the rows, not this file."""
from __future__ import annotations

# (kind, language) -> {"subject", "body_text", "body_html", "sms_body"}; templates use Django's syntax,
# restricted to notifications.rendering's tags and filters and the kind's variables (notifications.kinds).
DEFAULTS: dict[tuple[str, str], dict[str, str]] = {
    ("merchant_welcome", "en"): {
        "subject": "Welcome to Mallard, {{ name }}",
        "body_text": (
            "Welcome to Mallard, {{ name }}!\n\n"
            "Your store dashboard is ready at http://{{ host }}/\n"
            "Sign in with the owner account you were given, add your warehouses and products, and you are open for business.\n\n"
            "— The Mallard team\n"),
    },
    ("merchant_welcome", "zh-hans"): {
        "subject": "欢迎入驻 Mallard，{{ name }}",
        "body_text": (
            "欢迎入驻 Mallard，{{ name }}！\n\n"
            "您的店铺后台已开通：http://{{ host }}/\n"
            "请用收到的店主账号登录，添加仓库和商品后即可开始营业。\n\n"
            "— Mallard 团队\n"),
    },
    ("order_placed", "en"): {
        "subject": "Mallard order {{ number }}",
        "body_text": (
            "Thank you for your order {{ number }}.\n\n"
            "Total: {{ total }}, from {{ stores }} store{{ stores|pluralize }}. Each store ships its part separately;\n"
            "follow them on {{ order_link }}\n\n"
            "Please complete the payment within 30 minutes, or the order is cancelled and its items go back on the shelf.\n\n"
            "订单 {{ number }} 已提交。请在 30 分钟内完成付款。\n"),
        "sms_body": "Mallard: order {{ number }} placed, total {{ total }}. Please pay within 30 minutes.",
    },
    ("order_placed", "zh-hans"): {
        "subject": "Mallard 订单 {{ number }}",
        "body_text": (
            "感谢您的订单 {{ number }}。\n\n"
            "合计：{{ total }}，来自 {{ stores }} 家店铺，各店铺分别发货；\n"
            "查看进度：{{ order_link }}\n\n"
            "请在 30 分钟内完成付款，否则订单将被取消，商品放回货架。\n"),
        "sms_body": "【Mallard】订单 {{ number }} 已提交，合计 {{ total }}，请在 30 分钟内付款。",
    },
    ("order_expired", "en"): {
        "subject": "Mallard order {{ number }} was cancelled",
        "body_text": (
            "Your order {{ number }} was cancelled because the payment did not arrive in time.\n"
            "Nothing was charged. The items are back in stock if you still want them: http://{{ mall_host }}/\n\n"
            "订单 {{ number }} 因未在规定时间内付款已取消，未产生任何费用。\n"),
        "sms_body": "Mallard: order {{ number }} was cancelled (not paid in time). Nothing was charged.",
    },
    ("order_expired", "zh-hans"): {
        "subject": "Mallard 订单 {{ number }} 已取消",
        "body_text": (
            "订单 {{ number }} 因未在规定时间内付款已取消，未产生任何费用。\n"
            "商品已放回货架，如仍需要可再次下单：http://{{ mall_host }}/\n"),
        "sms_body": "【Mallard】订单 {{ number }} 因未按时付款已取消，未产生任何费用。",
    },
    ("ticket_replied", "en"): {
        "subject": "{{ store }} answered your ticket {{ ticket }}",
        "body_text": (
            "{{ store }} answered your ticket {{ ticket }} \"{{ subject }}\" (order {{ number }}):\n\n"
            "{{ message }}\n\n"
            "Reply or follow the thread on {{ link }}\n"),
    },
    ("ticket_replied", "zh-hans"): {
        "subject": "{{ store }} 回复了您的工单 {{ ticket }}",
        "body_text": (
            "{{ store }} 回复了您的工单 {{ ticket }}“{{ subject }}”（订单 {{ number }}）：\n\n"
            "{{ message }}\n\n"
            "回复或查看对话：{{ link }}\n"),
    },
    ("dispute_decided", "en"): {
        "subject": "The mall decided your dispute about {{ ticket }}",
        "body_text": (
            "The mall's customer service decided your dispute with {{ store }} about \"{{ subject }}\" ({{ ticket }}):\n\n"
            "{{ outcome }}{% if amount %}: {{ amount }}{% endif %}.\n{{ reason }}\n\n"
            "{% if amount %}The refund goes back to the way you paid.\n{% endif %}"
            "The thread: {{ link }}\n"),
    },
    ("dispute_decided", "zh-hans"): {
        "subject": "商城已处理您关于 {{ ticket }} 的投诉",
        "body_text": (
            "商城客服已处理您与 {{ store }} 关于“{{ subject }}”（{{ ticket }}）的投诉：\n\n"
            "{{ outcome }}{% if amount %}：{{ amount }}{% endif %}。\n{{ reason }}\n\n"
            "{% if amount %}退款将原路退回。\n{% endif %}"
            "查看对话：{{ link }}\n"),
    },
    ("merchant_ticket_opened", "en"): {
        "subject": "New ticket {{ ticket }}: {{ subject }}",
        "body_text": (
            "A shopper opened ticket {{ ticket }} ({{ priority }}) about order {{ number }}:\n"
            "\"{{ subject }}\"\n\n"
            "The first-response clock is running. Answer on {{ link }}\n"),
    },
    ("merchant_ticket_opened", "zh-hans"): {
        "subject": "新工单 {{ ticket }}：{{ subject }}",
        "body_text": (
            "顾客就订单 {{ number }} 提交了工单 {{ ticket }}（优先级 {{ priority }}）：\n"
            "“{{ subject }}”\n\n"
            "首次响应计时已开始，请尽快回复：{{ link }}\n"),
    },
    ("merchant_ticket_sla", "en"): {
        "subject": "{% if breached %}Missed{% else %}Due soon{% endif %}: {{ clock }} for ticket {{ ticket }}",
        "body_text": (
            "{% if breached %}The {{ clock }} target of ticket {{ ticket }} \"{{ subject }}\" was missed"
            "{% if due %} ({{ due|date:\"Y-m-d H:i\" }} UTC){% endif %}; the ticket is escalated to the mall's operator."
            "{% else %}The {{ clock }} target of ticket {{ ticket }} \"{{ subject }}\" is due"
            "{% if due %} at {{ due|date:\"Y-m-d H:i\" }} UTC{% endif %}.{% endif %}\n\n"
            "{{ link }}\n"),
    },
    ("merchant_ticket_sla", "zh-hans"): {
        "subject": "{% if breached %}已超时{% else %}即将超时{% endif %}：工单 {{ ticket }} 的{{ clock }}",
        "body_text": (
            "{% if breached %}工单 {{ ticket }}“{{ subject }}”的{{ clock }}已超过时限"
            "{% if due %}（{{ due|date:\"Y-m-d H:i\" }} UTC）{% endif %}，已升级至商城客服。"
            "{% else %}工单 {{ ticket }}“{{ subject }}”的{{ clock }}将于"
            "{% if due %} {{ due|date:\"Y-m-d H:i\" }} UTC {% endif %}到期。{% endif %}\n\n"
            "{{ link }}\n"),
    },
    ("export_ready", "en"): {
        "subject": "Your export of {{ what }} ({{ format }}) is ready",
        "body_text": (
            "Your export of {{ what }} is ready: {{ rows }} rows in {{ format }}.\n\n"
            "Download it on {{ link }}{% if expires %} before {{ expires|date:\"Y-m-d H:i\" }}{% endif %}.\n"),
    },
    ("export_ready", "zh-hans"): {
        "subject": "您导出的{{ what }}（{{ format }}）已就绪",
        "body_text": (
            "您导出的{{ what }}已完成：共 {{ rows }} 行，格式 {{ format }}。\n\n"
            "请在{% if expires %} {{ expires|date:\"Y-m-d H:i\" }} 之前{% endif %}下载：{{ link }}\n"),
    },
    ("suborder_accepted", "en"): {
        "subject": "{{ store }} accepted your order {{ number }}",
        "body_text": (
            "{{ store }} accepted your order {{ number }} and is preparing it.\n\n"
            "Follow it at {{ order_link }}\n"),
        "sms_body": "{{ store }} accepted your order {{ number }}.",
    },
    ("suborder_accepted", "zh-hans"): {
        "subject": "{{ store }} 已接单：您的订单 {{ number }}",
        "body_text": (
            "{{ store }} 已接单，正在为您的订单 {{ number }} 备货。\n\n"
            "查看订单进度： {{ order_link }}\n"),
        "sms_body": "【{{ store }}】已接单：您的订单 {{ number }}。",
    },
    ("suborder_refused", "en"): {
        "subject": "{{ store }} could not fulfil part of order {{ number }}",
        "body_text": (
            "{{ store }} could not fulfil these items of your order {{ number }}:\n"
            "{% for l in lines %}- {{ l.quantity }} × {{ l.sku }}\n{% endfor %}"
            "{% if reason %}Reason: {{ reason }}\n{% endif %}\n"
            "What you paid for them is refunded to your original payment method.\n\n"
            "{{ order_link }}\n"),
        "sms_body": "{{ store }} could not fulfil part of order {{ number }}; it is refunded.",
    },
    ("suborder_refused", "zh-hans"): {
        "subject": "{{ store }} 无法发出订单 {{ number }} 中的部分商品",
        "body_text": (
            "{{ store }} 无法发出您订单 {{ number }} 中的以下商品：\n"
            "{% for l in lines %}- {{ l.quantity }} × {{ l.sku }}\n{% endfor %}"
            "{% if reason %}原因: {{ reason }}\n{% endif %}\n"
            "这些商品的货款将原路退回。\n\n"
            "{{ order_link }}\n"),
        "sms_body": "【{{ store }}】无法发出订单 {{ number }} 中的部分商品，货款将原路退回。",
    },
    ("suborder_cancelled", "en"): {
        "subject": "Part of order {{ number }} was cancelled",
        "body_text": (
            "{{ store }} could not fulfil these items of your order {{ number }}:\n"
            "{% for l in lines %}- {{ l.quantity }} × {{ l.sku }}\n{% endfor %}"
            "{% if reason %}Reason: {{ reason }}\n{% endif %}\n"
            "What you paid for them is refunded to your original payment method.\n\n"
            "{{ order_link }}\n"),
        "sms_body": "Part of order {{ number }} was cancelled; it is refunded.",
    },
    ("suborder_cancelled", "zh-hans"): {
        "subject": "订单 {{ number }} 中的部分商品已取消",
        "body_text": (
            "{{ store }} 无法发出您订单 {{ number }} 中的以下商品：\n"
            "{% for l in lines %}- {{ l.quantity }} × {{ l.sku }}\n{% endfor %}"
            "{% if reason %}原因: {{ reason }}\n{% endif %}\n"
            "这些商品的货款将原路退回。\n\n"
            "{{ order_link }}\n"),
        "sms_body": "【Mallard】订单 {{ number }} 中的部分商品已取消，货款将原路退回。",
    },
    ("suborder_shipped", "en"): {
        "subject": "{{ store }} shipped your order {{ number }}",
        "body_text": (
            "{{ store }} shipped your order {{ number }}.\n"
            "{% for s in shipments %}Carrier: {{ s.carrier }} · Tracking number: {{ s.number }}"
            "{% if s.link %}\n{{ s.link }}{% endif %}{% if s.eta %}\nExpected: {{ s.eta|date:\"Y-m-d\" }}{% endif %}\n"
            "{% endfor %}\n{{ order_link }}\n"),
        "sms_body": "{{ store }} shipped your order {{ number }}{% for s in shipments %}: {{ s.carrier }} {{ s.number }}{% endfor %}.",
    },
    ("suborder_shipped", "zh-hans"): {
        "subject": "{{ store }} 已发货：您的订单 {{ number }}",
        "body_text": (
            "{{ store }} 已发出您的订单 {{ number }}。\n"
            "{% for s in shipments %}快递公司: {{ s.carrier }} · 运单号: {{ s.number }}"
            "{% if s.link %}\n{{ s.link }}{% endif %}{% if s.eta %}\n预计送达: {{ s.eta|date:\"Y-m-d\" }}{% endif %}\n"
            "{% endfor %}\n{{ order_link }}\n"),
        "sms_body": "【{{ store }}】已发货：订单 {{ number }}{% for s in shipments %}，{{ s.carrier }} 运单号 {{ s.number }}{% endfor %}。",
    },
    ("suborder_delivered", "en"): {
        "subject": "Your order {{ number }} from {{ store }} was delivered",
        "body_text": (
            "Your order {{ number }} from {{ store }} was delivered.\n\n"
            "Something wrong? Open the order to ask for help. {{ order_link }}\n"),
        "sms_body": "Your order {{ number }} from {{ store }} was delivered.",
    },
    ("suborder_delivered", "zh-hans"): {
        "subject": "您在 {{ store }} 的订单 {{ number }} 已签收",
        "body_text": (
            "您在 {{ store }} 的订单 {{ number }} 已签收。\n\n"
            "有问题？请打开订单联系我们： {{ order_link }}\n"),
        "sms_body": "【{{ store }}】您的订单 {{ number }} 已签收。",
    },
    ("merchant_suborder_paid", "en"): {
        "subject": "New suborder {{ number }} to accept",
        "body_text": (
            "A new paid suborder {{ number }} is waiting for you to accept or refuse it"
            "{% if deadline %} by {{ deadline|date:\"Y-m-d H:i\" }} UTC{% endif %}.\n\n"
            "http://{{ host }}/suborders/\n"),
    },
    ("merchant_suborder_paid", "zh-hans"): {
        "subject": "新的子订单 {{ number }} 待接单",
        "body_text": (
            "已付款的子订单 {{ number }} 等待您接单或拒单"
            "{% if deadline %}（截止 {{ deadline|date:\"Y-m-d H:i\" }} UTC）{% endif %}。\n\n"
            "http://{{ host }}/suborders/\n"),
    },
    ("merchant_suborder_late", "en"): {
        "subject": "Suborder {{ number }} is late to ship",
        "body_text": (
            "Suborder {{ number }} has passed its shipping deadline"
            "{% if deadline %} ({{ deadline|date:\"Y-m-d H:i\" }} UTC){% endif %}.\n\n"
            "http://{{ host }}/suborders/\n"),
    },
    ("merchant_suborder_late", "zh-hans"): {
        "subject": "子订单 {{ number }} 已超过发货期限",
        "body_text": (
            "子订单 {{ number }} 已超过发货期限"
            "{% if deadline %}（{{ deadline|date:\"Y-m-d H:i\" }} UTC）{% endif %}。\n\n"
            "http://{{ host }}/suborders/\n"),
    },
    ("merchant_cancellation_requested", "en"): {
        "subject": "Cancellation requested for suborder {{ number }}",
        "body_text": (
            "The shopper asks to cancel these accepted items of suborder {{ number }}:\n"
            "{% for l in lines %}- {{ l.quantity }} × {{ l.sku }}\n{% endfor %}"
            "{% if reason %}Their reason: {{ reason }}\n{% endif %}\n"
            "Approve (the items are cancelled and refunded) or refuse with a reason"
            "{% if deadline %} by {{ deadline|date:\"Y-m-d H:i\" }} UTC; after that it is approved automatically{% endif %}.\n\n"
            "http://{{ host }}/suborders/cancellations/\n"),
    },
    ("merchant_cancellation_requested", "zh-hans"): {
        "subject": "子订单 {{ number }} 的买家申请取消",
        "body_text": (
            "买家申请取消子订单 {{ number }} 中已接单的以下商品：\n"
            "{% for l in lines %}- {{ l.quantity }} × {{ l.sku }}\n{% endfor %}"
            "{% if reason %}原因：{{ reason }}\n{% endif %}\n"
            "请同意（商品取消并退款）或填写理由拒绝"
            "{% if deadline %}，截止 {{ deadline|date:\"Y-m-d H:i\" }} UTC，逾期将自动同意{% endif %}。\n\n"
            "http://{{ host }}/suborders/cancellations/\n"),
    },
    ("cancellation_refused", "en"): {
        "subject": "{{ store }} could not cancel items of your order {{ number }}",
        "body_text": (
            "{{ store }} refused your request to cancel these items of order {{ number }}:\n"
            "{% for l in lines %}- {{ l.quantity }} × {{ l.sku }}\n{% endfor %}"
            "{% if reason %}The store's reason: {{ reason }}\n{% endif %}\n"
            "They will be shipped as ordered; once they arrive you can return them within the store's return window.\n\n"
            "{{ order_link }}\n"),
        "sms_body": "{{ store }} could not cancel items of order {{ number }}; they will be shipped.",
    },
    ("cancellation_refused", "zh-hans"): {
        "subject": "{{ store }} 未同意取消订单 {{ number }} 中的商品",
        "body_text": (
            "{{ store }} 拒绝了您取消订单 {{ number }} 中以下商品的申请：\n"
            "{% for l in lines %}- {{ l.quantity }} × {{ l.sku }}\n{% endfor %}"
            "{% if reason %}店铺理由：{{ reason }}\n{% endif %}\n"
            "商品将照常发货；收货后可在退货期内申请退货。\n\n"
            "{{ order_link }}\n"),
        "sms_body": "【{{ store }}】未同意取消订单 {{ number }} 中的商品，商品将照常发货。",
    },
    ("return_updated", "en"): {
        "subject": "Your return {{ return_number }} at {{ store }}: {{ status }}",
        "body_text": (
            "Your return {{ return_number }} (order {{ number }}) at {{ store }} is now: {{ status }}.\n"
            "{% if reason %}{{ reason }}\n{% endif %}"
            "{% if refund %}Refunded: {{ refund }}.\n{% endif %}\n"
            "Follow it on http://{{ mall_host }}/orders/{{ number }}/\n"),
    },
    ("return_updated", "zh-hans"): {
        "subject": "您在 {{ store }} 的售后单 {{ return_number }}：{{ status }}",
        "body_text": (
            "您在 {{ store }} 的售后单 {{ return_number }}（订单 {{ number }}）当前状态：{{ status }}。\n"
            "{% if reason %}{{ reason }}\n{% endif %}"
            "{% if refund %}已退款：{{ refund }}。\n{% endif %}\n"
            "查看进度：http://{{ mall_host }}/orders/{{ number }}/\n"),
    },
}


def default_for(kind: str, language: str) -> dict[str, str]:
    """The built-in fields of (kind, language), every field present ('' where there is none)."""
    row = DEFAULTS.get((kind, language)) or DEFAULTS[(kind, "en")]
    return {f: row.get(f, "") for f in ("subject", "body_text", "body_html", "sms_body")}
