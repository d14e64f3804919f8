"""The words of the gateway's enumerated fields: each value's Chinese label
(cadrekit/vocabulary.py). The roles are the kit's (``cadrekit.auth.Role``), as docs/access.md
describes them. docs/vocabulary.md is generated from these terms
(``python -m deploy.vocabulary``).
"""

from __future__ import annotations

from cadrekit.auth import Role
from cadrekit.vocabulary import Term

ROLE_ZH = {
    Role.admin.value: "系统管理员",
    Role.officer.value: "组织部干部科",
    Role.unit_hr.value: "单位人事干部",
    Role.portal.value: "政务门户",
    Role.auditor.value: "纪检审计",
}

VOCABULARY: tuple[Term, ...] = (
    Term(
        "role",
        "角色",
        ROLE_ZH,
        ("role",),
        {
            Role.admin.value: "the platform's administrators",
            Role.officer.value: "the organization department's cadre office",
            Role.unit_hr.value: "a unit's personnel staff, held to its own units",
            Role.portal.value: "the government portal, acting for its users",
            Role.auditor.value: "the discipline or audit office: the audit logs only",
        },
    ),
    Term(
        "token_type",
        "令牌类型",
        {"Bearer": "持有者令牌（Bearer）"},
        ("token_type",),
        {"Bearer": "sent as `Authorization: Bearer <token>` (RFC 6750)"},
    ),
    Term(
        "subscription_status",
        "订阅状态",
        {"active": "启用", "disabled": "停用"},
        ("status",),
        {
            "active": "events are delivered",
            "disabled": "after repeated failed deliveries, or by its owner: nothing is delivered",
        },
    ),
    Term(
        "delivery_status",
        "推送状态",
        {"pending": "待推送", "delivered": "已送达", "failed": "推送失败"},
        ("status",),
        {
            "pending": "waiting for its first attempt or a retry",
            "delivered": "the subscriber answered 2xx",
            "failed": "every retry failed (it may be replayed)",
        },
    ),
    Term(
        "attempt_trigger",
        "推送触发",
        {"first": "首次推送", "retry": "自动重试", "replay": "人工重放"},
        ("trigger",),
        {"first": "the first attempt", "retry": "after a failed attempt", "replay": "a delivery sent again on request"},
    ),
)
