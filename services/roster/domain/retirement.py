"""The statutory retirement age in force, with no I/O (domain.md "Retirement").

Decision of the NPC Standing Committee of 13 September 2024 on gradually raising the
statutory retirement age, in force from 1 January 2025 (its annexed tables):

- men, original age 60: one month later for every four months of birth from January 1965,
  at most 36 months (60 → 63);
- women whose original age is 55 (women cadres): the same steps from January 1970, at most
  36 months (55 → 58);
- women whose original age is 50 (women workers): one month later for every two months of
  birth from January 1975, at most 60 months (50 → 55).

Female cadres at 处级 (county/division level) and above, and senior professionals, retire
at 60 under 组通字〔2015〕14号 (or at 55 on request, a recorded decision). How the 2025
reform applies to that group is for the department to confirm: ``senior_women_delayed``
(default off: 60 unchanged; on: the men's table).

The law's tables give a year and a month. The day is the birth day of the month in that
month, clamped to the month's last day (born 31 May, due in a November: 30 November).
Every date comes with the rule that produced it, in words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from cadrekit.dates import add_months


class Category(StrEnum):
    """What the law keys on: a person's original statutory age."""

    men = "men"  # original age 60
    women_cadres = "women_cadres"  # original age 55
    women_workers = "women_workers"  # original age 50
    senior_women = "senior_women"  # 处级 and above, senior professionals: 60 (2015 notice)


LABELS_ZH = {
    Category.men: "男职工（原法定退休年龄60周岁）",
    Category.women_cadres: "女干部（原法定退休年龄55周岁）",
    Category.women_workers: "女职工（原法定退休年龄50周岁）",
    Category.senior_women: "处级及以上女干部、高级专业技术女性（60周岁，组通字〔2015〕14号）",
}


@dataclass(frozen=True)
class Table:
    """One of the 2025 decision's tables: who it starts with, how fast it rises, how far."""

    original_age: int
    first_birth_month: tuple[int, int]  # (year, month) of the first births delayed
    months_per_step: int  # months of birth per month of delay
    max_delay: int  # months

    def delay(self, birth: dt.date) -> int:
        """Months beyond the original age for someone born in ``birth``'s month."""
        y, m = self.first_birth_month
        since = (birth.year - y) * 12 + (birth.month - m)
        if since < 0:
            return 0
        return min(self.max_delay, since // self.months_per_step + 1)


TABLES = {
    Category.men: Table(60, (1965, 1), 4, 36),
    Category.women_cadres: Table(55, (1970, 1), 4, 36),
    Category.women_workers: Table(50, (1975, 1), 2, 60),
}

# 县处级 and above, as the roster's ranks are written (domain.md: 科员, 副科, 正科, 副处, 正处 …).
SENIOR_RANKS = frozenset(
    {
        "副处",
        "正处",
        "副处级",
        "正处级",
        "副县",
        "正县",
        "副县级",
        "正县级",
        "副厅",
        "正厅",
        "副厅级",
        "正厅级",
        "副部",
        "正部",
        "副部级",
        "正部级",
        "一级调研员",
        "二级调研员",
        "一级巡视员",
        "二级巡视员",
    }
)


# 组通字〔2015〕14号 is for Party and government organs, people's organisations and public
# institutions: a woman at 处级 in an enterprise is not under it.
NOT_UNDER_2015_NOTICE = frozenset({"enterprise"})


def default_category(gender: str, rank: str | None, unit_kind: str | None = None) -> Category:
    """The category a cadre has unless one is recorded, from gender, rank and unit kind: men;
    women at 处级 and above (by rank) outside enterprises are senior; other women on a cadre
    roster are cadres (original age 55). Women workers (50) and senior professionals are
    recorded per person: neither rank nor unit kind tells them apart (an enterprise or an
    institution employs both)."""
    if gender == "male":
        return Category.men
    if rank is not None and rank.strip() in SENIOR_RANKS and unit_kind not in NOT_UNDER_2015_NOTICE:
        return Category.senior_women
    return Category.women_cadres


class Basis(StrEnum):
    """What a cadre's retirement date rests on, strongest first: a date typed in, a recorded
    decision, the law."""

    set = "set"  # typed in (a decision the platform does not model, a correction)
    early = "early"  # voluntary earlier retirement (提前退休)
    later = "later"  # agreed later retirement (延迟退休)
    statutory = "statutory"


DECISION_ZH = {Basis.early: "弹性提前退休", Basis.later: "弹性延迟退休"}


@dataclass(frozen=True)
class Decision:
    """A recorded decision to retire earlier or later than the statutory date, with the
    retirement date it sets and the day it was decided."""

    kind: Basis  # early | later
    retires_on: dt.date
    decided_on: dt.date | None = None


def basis_of(decision: Decision | None, date_set: dt.date | None) -> Basis:
    """What a date rests on, strongest first (``RetirementLaw.retirement_of``'s order)."""
    if date_set is not None:
        return Basis.set
    return decision.kind if decision is not None else Basis.statutory


@dataclass(frozen=True)
class Retirement:
    date: dt.date
    rule: str  # how the date was reached, in words (English)
    rule_zh: str
    category: Category  # the one the date was derived for
    basis: Basis = Basis.statutory


@dataclass(frozen=True)
class RetirementLaw:
    """The rule set in force. ``senior_women_delayed`` is the department's reading of how the
    2025 reform applies to women retiring at 60 (default: it does not)."""

    senior_women_delayed: bool = False
    version: str = "2025"

    @property
    def key(self) -> str:
        """Names the rule set and its setting: a stored date derived under another key is
        derived again (``services/roster/rederiving.py``)."""
        return self.version + ("+senior_women_delayed" if self.senior_women_delayed else "")

    def statutory(self, birth: dt.date, category: Category) -> Retirement:
        if category is Category.senior_women and not self.senior_women_delayed:
            return Retirement(
                add_months(birth, 60 * 12),
                "60 years (female cadre at 处级 or above / senior professional, 组通字〔2015〕14号)",
                "60周岁（处级及以上女干部、高级专业技术女性，组通字〔2015〕14号）",
                category,
            )
        table = TABLES[Category.men if category is Category.senior_women else category]
        delay = table.delay(birth)
        years, months = divmod(table.original_age * 12 + delay, 12)
        age = f"{years} years" + (f" {months} month{'s' if months != 1 else ''}" if months else "")
        age_zh = f"{years}周岁" + (f"{months}个月" if months else "")
        basis = f"original age {table.original_age}, delayed {delay} month{'s' if delay != 1 else ''}"
        basis_zh = f"原法定退休年龄{table.original_age}周岁，延迟{delay}个月"
        return Retirement(
            add_months(birth, table.original_age * 12 + delay),
            f"{age} ({basis}; NPCSC decision of 13 September 2024)",
            f"{age_zh}（{basis_zh}；全国人大常委会2024年9月13日决定）",
            category,
        )

    def retirement_of(
        self,
        birth: dt.date,
        category: Category,
        *,
        decision: Decision | None = None,
        date_set: dt.date | None = None,
    ) -> Retirement:
        """A cadre's retirement date and the rule it comes from: a date typed in wins, then
        a recorded decision, then the law for the cadre's category."""
        due = self.statutory(birth, category)
        if date_set is not None:
            return Retirement(
                date_set,
                f"set on the roster (statutory: {due.date.isoformat()}, {due.rule})",
                f"名册录入（法定：{due.date.isoformat()}，{due.rule_zh}）",
                category,
                Basis.set,
            )
        if decision is not None:
            when = f", decided {decision.decided_on.isoformat()}" if decision.decided_on else ""
            when_zh = f"，{decision.decided_on.isoformat()}决定" if decision.decided_on else ""
            words = "voluntary earlier retirement" if decision.kind is Basis.early else "agreed later retirement"
            return Retirement(
                decision.retires_on,
                f"{words}{when} (statutory: {due.date.isoformat()}, {due.rule})",
                f"{DECISION_ZH[decision.kind]}{when_zh}（法定：{due.date.isoformat()}，{due.rule_zh}）",
                category,
                decision.kind,
            )
        return due

    def original(self, birth: dt.date, category: Category) -> dt.date:
        """The date at the original age: the earliest a voluntary early retirement may be."""
        age = 60 if category is Category.senior_women else TABLES[category].original_age
        return add_months(birth, age * 12)


class DecisionRefused(ValueError):
    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message_zh = message_zh


def check_decision(law: RetirementLaw, birth: dt.date, category: Category, decision: Decision) -> None:
    """Refuses an earlier retirement outside its window, or a later one outside its own."""
    if decision.kind is Basis.early:
        check_early(law, birth, category, decision.retires_on)
    elif decision.kind is Basis.later:
        check_later(law, birth, category, decision.retires_on)
    else:
        raise DecisionRefused(f"not a decision: {decision.kind}", f"不是退休决定：{decision.kind}")


def check_early(law: RetirementLaw, birth: dt.date, category: Category, on: dt.date) -> None:
    """A voluntary earlier retirement: at most three years before the new age, never before
    the original one (the platform records it; contribution years are not its to check)."""
    due = law.statutory(birth, category).date
    floor = max(law.original(birth, category), add_months(due, -36))
    if category is Category.senior_women:
        floor = add_months(birth, 55 * 12)  # the 2015 notice: 55 on request
    if not floor <= on < due:
        raise DecisionRefused(
            f"an earlier retirement falls on or after {floor.isoformat()} and before {due.isoformat()}",
            f"提前退休日期应不早于{floor.isoformat()}，且早于{due.isoformat()}",
        )


def check_later(law: RetirementLaw, birth: dt.date, category: Category, on: dt.date) -> None:
    """An agreed later retirement: after the statutory date, at most three years after it."""
    due = law.statutory(birth, category).date
    if not due < on <= add_months(due, 36):
        raise DecisionRefused(
            f"a later retirement falls after {due.isoformat()} and by {add_months(due, 36).isoformat()}",
            f"延迟退休日期应晚于{due.isoformat()}，且不晚于{add_months(due, 36).isoformat()}",
        )
