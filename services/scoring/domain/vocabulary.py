"""The words of scoring's enumerated fields: each value's Chinese label (cadrekit/vocabulary.py).

The kinds of ledger lines are ``domain/ledger.py``'s ``LINE_KINDS`` (docs/catalogues.md, the
OpenAPI's ``x-labels-zh``). docs/vocabulary.md is generated from these terms
(``python -m deploy.vocabulary``).
"""

from __future__ import annotations

from cadrekit.vocabulary import Term
from services.scoring.domain.ledger import LINE_KINDS

VOCABULARY: tuple[Term, ...] = (
    Term(
        "direction",
        "加减分方向",
        {"positive": "加分", "negative": "扣分"},
        ("direction",),
        {"positive": "a positive category or rule: adds points", "negative": "a negative one: deducts points"},
    ),
    Term(
        "line_kind",
        "记分类型",
        LINE_KINDS,
        ("kind",),
        {
            "award": "an entry under a positive rule",
            "deduction": "an entry under a negative rule that names no sanction",
            "sanction": "an entry under a negative rule naming a sanction (责令检查, 通报批评, 诫勉): opens an impact period",
            "reversal": "takes back the points of an entry",
            "restatement": "an entry re-issued under a newer catalogue version",
            "waiver": "fault tolerance: cancels the effect of a deduction, which stays",
        },
    ),
    Term(
        "ledger_line",
        "台账行",
        {"entry": "记分条目", "reversal": LINE_KINDS["reversal"], "waiver": LINE_KINDS["waiver"]},
        ("line",),
        {"entry": "an approved entry", "reversal": "a reversal of an entry", "waiver": "a waiver of a deduction"},
    ),
    Term(
        "entry_status",
        "审核状态",
        {"pending": "待审核", "approved": "已通过", "rejected": "未通过"},
        ("status",),
        {"pending": "proposed, not decided", "approved": "approved: counts", "rejected": "rejected: does not count"},
    ),
    Term(
        "rating_status",
        "评定状态",
        {"proposed": "拟定", "confirmed": "已确认"},
        ("GET /api/v1/scoring/ratings/{year}.status",),
        {"proposed": "proposed from the quota", "confirmed": "confirmed by an officer"},
    ),
)
