"""The words of matching's enumerated fields: each value's Chinese label (cadrekit/vocabulary.py).

A post's kind is worded as the balance-table export writes it (seeds 000 and 002: 常态化中心
工作, 阶段性重点工作, 练兵岗); the leadership status as roster's sheets write it, so a value
both services carry reads the same (tests/docs/test_vocabulary.py). docs/vocabulary.md is
generated from these terms (``python -m deploy.vocabulary``).
"""

from __future__ import annotations

from cadrekit.vocabulary import Term

POST_KIND_ZH = {"standing": "常态化中心工作", "phased": "阶段性重点工作", "training": "练兵岗"}
# The five post categories are Chinese already: the value is its own label.
CATEGORIES = ("党政群团", "经济管理", "城建交通", "社会管理", "民生事业")

VOCABULARY: tuple[Term, ...] = (
    Term(
        "campaign_kind",
        "选配类型",
        {"placement": "择岗", "training": "练兵", "general": "综合"},
        ("CampaignCreate.kind",),
        {
            "placement": "cadres choose among posts (e.g. 退二线干部二次择岗)",
            "training": "training posts with a tutor and a growth index (百岗大练兵)",
            "general": "neither in particular",
        },
    ),
    Term(
        "campaign_status",
        "选配状态",
        {"draft": "草拟", "open": "进行中", "matched": "已匹配", "confirmed": "已确认"},
        ("status",),
        {
            "draft": "being prepared",
            "open": "taking posts and preferences",
            "matched": "a run has placed the cadres",
            "confirmed": "a run is fixed; roster moves the cadres",
        },
    ),
    Term(
        "post_kind",
        "岗位性质",
        POST_KIND_ZH,
        ("PostCreate.kind",),
        {
            "standing": "a standing post of central work",
            "phased": "a post for a phase of key work, with a term",
            "training": "a training post (练兵), with a tutor",
        },
    ),
    Term(
        "category",
        "岗位类别",
        {c: c for c in CATEGORIES},
        ("category",),
        {
            "党政群团": "Party, government and mass organisations",
            "经济管理": "economic management",
            "城建交通": "urban construction and transport",
            "社会管理": "social governance",
            "民生事业": "public services",
        },
    ),
    Term(
        "leadership_status",
        "领导状态",
        {"in_post": "在职领导", "second_line": "退二线", "non_leading": "非领导"},
        ("leadership_status",),
    ),
    Term(
        "quota_dimension",
        "限额维度",
        {"category": "岗位类别", "unit_kind": "单位类型", "body": "所属班子"},
        ("dimension",),
        {
            "category": "the post's category",
            "unit_kind": "the host unit's kind",
            "body": "the host unit's leading body: 党委, 人大, 政府, 政协 (seed 001: 3/4/9/3)",
        },
    ),
    Term(
        "rater_role",
        "评价主体",
        {"tutor": "导师", "host_unit": "所在单位", "public": "群众"},
        ("role",),
        {"tutor": "the trainee's tutor", "host_unit": "the unit hosting the training post", "public": "the public"},
    ),
    Term(
        "run_method",
        "匹配方法",
        {"stable": "稳定匹配", "optimal": "最优匹配"},
        ("method",),
        {
            "stable": "deferred acceptance: no cadre and post both prefer each other to what they got",
            "optimal": "the largest total fit under the quotas",
        },
    ),
    Term(
        "proposing",
        "提出方",
        {"cadres": "干部优先", "posts": "岗位优先"},
        ("proposing",),
        {
            "cadres": "cadres propose: the cadre-optimal stable assignment",
            "posts": "posts propose: the post-optimal one",
        },
    ),
)
