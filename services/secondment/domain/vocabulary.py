"""The words of secondment's enumerated fields: each value's Chinese label
(cadrekit/vocabulary.py).

Directions as Foshan's 工作意见 puts them (seed 004: 下派 city cadres to the grassroots, 上挂
grassroots cadres in city organs), worded as the batch export writes them; review ratings are
the four grades of the civil-service annual review (优秀、称职、基本称职、不称职).
docs/vocabulary.md is generated from these terms (``python -m deploy.vocabulary``).
"""

from __future__ import annotations

from cadrekit.vocabulary import Term
from services.secondment.domain.eligibility import Direction
from services.secondment.domain.lifecycle import State

DIRECTION_ZH = {Direction.down.value: "市直→基层", Direction.up.value: "基层→市直"}
STATE_ZH = {
    State.nominated.value: "已提名",
    State.vetted.value: "已审核",
    State.approved.value: "已批准",
    State.active.value: "挂职中",
    State.completed.value: "期满结束",
    State.ended_early.value: "提前结束",
    State.withdrawn.value: "已撤回",
}
VETTING_FIELDS = ("political_quality", "moral_quality", "results", "diligence", "integrity")

VOCABULARY: tuple[Term, ...] = (
    Term(
        "direction",
        "挂职方向",
        DIRECTION_ZH,
        ("direction",),
        {
            "city_to_grassroots": "a city cadre seconded down to a grassroots unit (下派)",
            "grassroots_to_city": "a grassroots cadre seconded up to a city organ (上挂)",
        },
    ),
    Term(
        "secondment_state",
        "挂职状态",
        STATE_ZH,
        ("state",),
        {
            "nominated": "nominated in a batch",
            "vetted": "the vetting is recorded",
            "approved": "approved, not yet started",
            "active": "serving",
            "completed": "served the whole term",
            "ended_early": "ended before the term's end, with a reason",
            "withdrawn": "withdrawn before it started",
        },
    ),
    Term(
        "batch_state",
        "批次状态",
        {"open": "编制中", "approved": "已批准"},
        ("BatchPublic.state", "BatchApproved.state"),
        {"open": "taking nominations", "approved": "approved as a whole"},
    ),
    Term(
        "end_kind",
        "结束方式",
        {"completed": "期满结束", "early": "提前结束"},
        ("EndIn.kind",),
    ),
    Term(
        "review_kind",
        "考核类型",
        {"routine": "日常考核", "annual": "年度考核", "end_of_term": "期满考核"},
        ("ReviewIn.kind",),
    ),
    Term(
        "review_rating",
        "考核等次",
        {"excellent": "优秀", "competent": "称职", "basically_competent": "基本称职", "not_competent": "不称职"},
        ("rating",),
    ),
    Term(
        "performance_judgement",
        "实绩评价",
        {"strong": "表现突出", "not_strong": "表现一般"},
        ("performance_judgement",),
        {
            "strong": "an officer judges the grassroots cadre capable, with potential (the up direction's test)",
            "not_strong": "an officer judges otherwise",
        },
    ),
    Term(
        "verdict",
        "审核结论",
        {"sound": "符合要求", "concerns": "存在问题"},
        VETTING_FIELDS,
        {"sound": "no concerns on this count", "concerns": "concerns recorded on this count"},
    ),
)
