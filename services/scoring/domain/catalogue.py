"""The yearly rule catalogue: categories and rules, and the checks a draft must pass.

Seed 000 (Pinghu) names 8 positive and 5 negative categories but only a few values: +0.6
per central-work task led with good results, +0.6 per city breakthrough project finished
on time, deductions for 责令检查, 通报批评 and 诫勉 by the city or higher. Everything else
in the default catalogue is marked ``default: true``: a value for the department to set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.scoring.domain.money import as_points

DIRECTIONS = ("positive", "negative")
# Sanction kinds, lightest first; a sanction rule names one, and the kind sets its impact period.
SANCTION_KINDS = ("ordered_inspection", "circular_criticism", "admonishment", "disciplinary_sanction")
MAX_POINTS = Decimal("100")


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    direction: str
    default: bool = True


@dataclass(frozen=True)
class Rule:
    code: str
    category: str
    direction: str
    points: Decimal
    description: str
    cap_per_year: Decimal | None = None
    sanction_kind: str | None = None
    default: bool = True

    @property
    def signed_points(self) -> Decimal:
        return self.points if self.direction == "positive" else -self.points

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "category": self.category,
            "direction": self.direction,
            "points": str(self.points),
            "cap_per_year": None if self.cap_per_year is None else str(self.cap_per_year),
            "description": self.description,
            "sanction_kind": self.sanction_kind,
            "default": self.default,
        }


@dataclass(frozen=True)
class Catalogue:
    categories: tuple[Category, ...]
    rules: tuple[Rule, ...]
    impact_months: dict[str, int] = field(default_factory=dict)

    def rule(self, code: str) -> Rule | None:
        return next((r for r in self.rules if r.code == code), None)


class CatalogueError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


P = "positive"
N = "negative"

DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("central_work", "牵头负责中心工作", P, default=False),
    Category("breakthrough_project", "参与市级破难项目", P, default=False),
    Category("emergency_front_line", "急难险重任务一线", P),
    Category("grassroots_service", "驻村蹲点和基层服务", P),
    Category("mentoring", "传帮带年轻干部", P),
    Category("research_advice", "调研建言献策", P),
    Category("honours", "表彰奖励", P),
    Category("special_reward", "专项及时奖励", P),
    Category("ordered_inspection", "责令检查", N, default=False),
    Category("circular_criticism", "通报批评", N, default=False),
    Category("admonishment", "诫勉", N, default=False),
    Category("duty_failure", "履职不力", N),
    Category("discipline_breach", "违反工作纪律", N),
)


def _r(code: str, cat: str, direction: str, points: str, desc: str, **kw: Any) -> Rule:
    cap = kw.pop("cap", None)
    return Rule(code, cat, direction, as_points(points), desc, None if cap is None else as_points(cap), **kw)


DEFAULT_RULES: tuple[Rule, ...] = (
    _r("P01", "central_work", P, "0.6", "牵头负责中心工作且成效较好，每次", default=False),
    _r("P02", "breakthrough_project", P, "0.6", "参与市级破难项目且按期完成，每次", default=False),
    _r("P03", "emergency_front_line", P, "0.5", "在急难险重任务一线表现突出，每次", cap="2.0"),
    _r("P04", "grassroots_service", P, "0.3", "驻村蹲点、联系服务群众，每季度", cap="1.2"),
    _r("P05", "mentoring", P, "0.3", "结对传帮带年轻干部，每人每年", cap="0.9"),
    _r("P06", "research_advice", P, "0.4", "调研报告或建议被市级及以上采纳，每篇", cap="1.2"),
    _r("P07", "honours", P, "1.0", "获市级及以上表彰，每次", cap="2.0"),
    _r("P08", "special_reward", P, "0.5", "专项及时奖励（主题写入依据文号），每次", cap="1.5"),
    _r(
        "N01",
        "ordered_inspection",
        N,
        "0.5",
        "本人或所负责工作被市级及以上责令检查",
        sanction_kind="ordered_inspection",
    ),
    _r(
        "N02",
        "circular_criticism",
        N,
        "1.0",
        "本人或所负责工作被市级及以上通报批评",
        sanction_kind="circular_criticism",
    ),
    _r("N03", "admonishment", N, "2.0", "本人被市级及以上诫勉", sanction_kind="admonishment"),
    _r("N04", "duty_failure", N, "0.5", "履职不力、工作推进滞后被督办，每次"),
    _r("N05", "discipline_breach", N, "0.5", "违反工作纪律（考勤、会风等），每次"),
)

# Months during which a sanction blocks an excellent rating and promotion (影响期).
# Defaults for the department to set; the regulations give 6 months for 诫勉.
DEFAULT_IMPACT_MONTHS: dict[str, int] = {
    "ordered_inspection": 3,
    "circular_criticism": 6,
    "admonishment": 6,
    "disciplinary_sanction": 12,
}

DEFAULT_CATALOGUE = Catalogue(DEFAULT_CATEGORIES, DEFAULT_RULES, DEFAULT_IMPACT_MONTHS)


def parse_catalogue(
    categories: Iterable[dict[str, Any]], rules: Iterable[dict[str, Any]], impact_months: dict[str, Any]
) -> Catalogue:
    """Check a draft and build it; raises CatalogueError naming the first field at fault."""
    cats: list[Category] = []
    seen: set[str] = set()
    for i, c in enumerate(categories):
        code = str(c.get("code") or "").strip()
        if not code:
            raise CatalogueError(f"categories[{i}].code", "a category needs a code")
        if code in seen:
            raise CatalogueError(f"categories[{i}].code", f"category {code} is listed twice")
        if c.get("direction") not in DIRECTIONS:
            raise CatalogueError(f"categories[{i}].direction", "must be positive or negative")
        seen.add(code)
        cats.append(Category(code, str(c.get("name") or code), c["direction"], bool(c.get("default", False))))
    by_code = {c.code: c for c in cats}
    out: list[Rule] = []
    codes: set[str] = set()
    for i, r in enumerate(rules):
        where = f"rules[{i}]"
        code = str(r.get("code") or "").strip()
        if not code:
            raise CatalogueError(f"{where}.code", "a rule needs a code")
        if code in codes:
            raise CatalogueError(f"{where}.code", f"rule {code} is listed twice")
        codes.add(code)
        cat = by_code.get(str(r.get("category")))
        if cat is None:
            raise CatalogueError(f"{where}.category", f"unknown category {r.get('category')!r}")
        direction = r.get("direction", cat.direction)
        if direction != cat.direction:
            raise CatalogueError(f"{where}.direction", f"category {cat.code} is {cat.direction}")
        points = _points(r.get("points"), f"{where}.points")
        if points <= 0:
            raise CatalogueError(f"{where}.points", "points are a positive amount; the direction gives the sign")
        cap = None if r.get("cap_per_year") is None else _points(r["cap_per_year"], f"{where}.cap_per_year")
        if cap is not None and cap < points:
            raise CatalogueError(f"{where}.cap_per_year", "a yearly cap below one entry's points admits nothing whole")
        kind = r.get("sanction_kind")
        if kind is not None and (kind not in SANCTION_KINDS or direction != "negative"):
            raise CatalogueError(
                f"{where}.sanction_kind", f"one of {', '.join(SANCTION_KINDS)}, on negative rules only"
            )
        out.append(
            Rule(code, cat.code, direction, points, str(r.get("description") or ""), cap, kind, bool(r.get("default")))
        )
    if not out:
        raise CatalogueError("rules", "a catalogue needs at least one rule")
    months: dict[str, int] = {}
    for kind, value in (impact_months or {}).items():
        if kind not in SANCTION_KINDS:
            raise CatalogueError(f"impact_months.{kind}", f"unknown sanction kind; one of {', '.join(SANCTION_KINDS)}")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 60:
            raise CatalogueError(f"impact_months.{kind}", "whole months between 0 and 60")
        months[kind] = value
    return Catalogue(tuple(cats), tuple(out), months)


def _points(value: Any, where: str) -> Decimal:
    try:
        points = as_points(value)
    except (ValueError, ArithmeticError):
        raise CatalogueError(where, f"not an amount of points: {value!r}") from None
    if abs(points) > MAX_POINTS:
        raise CatalogueError(where, f"more than {MAX_POINTS} points is not a plausible rule")
    return points


def catalogue_dicts(c: Catalogue) -> dict[str, Any]:
    return {
        "categories": [
            {"code": x.code, "name": x.name, "direction": x.direction, "default": x.default} for x in c.categories
        ],
        "rules": [r.to_dict() for r in c.rules],
        "impact_months": dict(c.impact_months),
    }
