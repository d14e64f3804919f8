"""The words of roster's enumerated fields: each value's Chinese label (cadrekit/vocabulary.py).

The labels the spreadsheet columns already use (domain/columns.py: the export's words, the
import's first word for a unit kind) are reused, so the API, its docs and the sheets say the
same thing. docs/vocabulary.md is generated from these terms (``python -m deploy.vocabulary``);
tests/docs/test_vocabulary.py fails when a value of the API has no label here, or a label
here names no value of the API.
"""

from __future__ import annotations

from cadrekit.vocabulary import Term
from services.roster.domain.columns import GENDER_OUT, HEALTH_OUT, LEADERSHIP_OUT, UNIT_KIND_OUT
from services.roster.domain.retirement import DECISION_ZH, LABELS_ZH

VOCABULARY: tuple[Term, ...] = (
    Term(
        "unit_kind",
        "单位类型",
        UNIT_KIND_OUT,
        ("kind",),
        {
            "city": "the city level (the city's leading bodies)",
            "district": "a district or county",
            "city_organ": "an organ directly under the city (市直部门)",
            "district_organ": "an organ directly under a district or county",
            "town": "a town or subdistrict (乡镇、街道): grassroots",
            "village": "a village or residents' community: grassroots",
            "enterprise": "a state-owned enterprise",
            "institution": "a public institution",
        },
    ),
    Term(
        "body",
        "所属班子",
        {"party_committee": "党委", "people_congress": "人大", "government": "政府", "cppcc": "政协"},
        ("body",),
        {
            "party_committee": "the Party committee (市委、县委、区委)",
            "people_congress": "the people's congress and its standing committee",
            "government": "the people's government",
            "cppcc": "the CPPCC committee (政治协商会议)",
        },
    ),
    Term("gender", "性别", GENDER_OUT, ("gender",)),
    Term(
        "leadership_status",
        "领导状态",
        LEADERSHIP_OUT,
        ("leadership_status",),
        {
            "in_post": "holds a leading post",
            "second_line": "has stepped back from a leading post (退居二线)",
            "non_leading": "holds no leading post",
        },
    ),
    Term(
        "health",
        "健康状况",
        HEALTH_OUT,
        ("health",),
        {
            "healthy": "fit for any post",
            "limited": "fit for work, with limits",
            "exempt": "exempt on health grounds: not available for placements or secondments",
        },
    ),
    Term(
        "exit_kind",
        "离开方式",
        {"retired": "退休", "transferred_out": "调出", "deceased": "去世"},
        ("CadreExit.kind", "ExitPublic.kind"),
        {"retired": "retired", "transferred_out": "transferred to an employer outside the roster", "deceased": "died"},
    ),
    Term(
        "cadre_status",
        "在册状态",
        {"active": "在册", "left": "已离开", "all": "全部"},
        ("status",),
        {"active": "on the roster", "left": "retired, transferred out or deceased", "all": "both"},
    ),
    Term(
        "import_mode",
        "导入方式",
        {"insert": "仅新增", "upsert": "新增或更新"},
        ("mode",),
        {
            "insert": "every row is a new cadre; a known ID number is an error",
            "upsert": "a row with a known ID number updates that cadre",
        },
    ),
    Term(
        "retirement_category",
        "退休类别",
        {c.value: zh for c, zh in LABELS_ZH.items()},
        ("retirement_category", "RetirementPublic.category"),
        {
            "men": "men: original statutory age 60, rising to 63 (NPCSC decision of 13 September 2024)",
            "women_cadres": "women cadres: original age 55, rising to 58",
            "women_workers": "women workers: original age 50, rising to 55 (recorded per person)",
            "senior_women": "female cadres at 处级 and above, senior professional women: 60 (组通字〔2015〕14号)",
        },
    ),
    Term(
        "retirement_decision",
        "退休决定",
        {b.value: zh for b, zh in DECISION_ZH.items()},
        ("RetirementDecisionIn.kind", "RetirementDecisionPublic.kind"),
        {
            "early": "voluntary earlier retirement: at most three years early, never before the original age",
            "later": "agreed later retirement: at most three years after the statutory date",
        },
    ),
    Term(
        "retirement_basis",
        "退休日期依据",
        {"set": "名册录入", "early": "弹性提前退休", "later": "弹性延迟退休", "statutory": "法定退休年龄"},
        ("RetirementPublic.basis",),
        {
            "set": "a date typed in on the roster (it wins)",
            "early": "a recorded earlier retirement",
            "later": "a recorded later retirement",
            "statutory": "the statutory age for the cadre's category",
        },
    ),
)
