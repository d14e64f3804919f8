"""The Foshan first batch of two-way secondments (seed 004, April 2017), as test data.

15 city organs each paired with a town; 7 of the towns in Sanshui and 4 in Gaoming (the
"two thirds to Sanshui and Gaoming"). 30 cadres whose whole-year ages on 2017-04-01 add up
to 1014 (average 33.8), 7 not Party members, 3 women. Names are made up; units are real.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

START = dt.date(2017, 4, 1)
ORGANS = [
    "佛山市国土规划局",
    "佛山市人力资源和社会保障局",
    "佛山市科技局",
    "佛山市财政局",
    "佛山市农业局",
    "佛山市工商局",
    "佛山市发展和改革局",
    "佛山市人民政府办公室",
    "佛山市司法局",
    "佛山市住房和城乡建设管理局",
    "佛山市交通运输局",
    "佛山市环境保护局",
    "佛山市商务局",
    "佛山市教育局",
    "佛山市卫生和计划生育局",
]
TOWNS = [
    ("白坭镇", "三水"),
    ("芦苞镇", "三水"),
    ("乐平镇", "三水"),
    ("大塘镇", "三水"),
    ("南山镇", "三水"),
    ("西南街道", "三水"),
    ("云东海街道", "三水"),
    ("杨和镇", "高明"),
    ("更合镇", "高明"),
    ("明城镇", "高明"),
    ("荷城街道", "高明"),
    ("狮山镇", "南海"),
    ("北滘镇", "顺德"),
    ("南庄镇", "禅城"),
    ("龙江镇", "顺德"),
]
CITY_AGES = [30, 31, 33, 34, 35, 36, 32, 33, 38, 34, 35, 31, 37, 33, 34]  # 506
TOWN_AGES = [29, 32, 35, 36, 31, 33, 34, 37, 30, 35, 36, 32, 34, 33, 41]  # 508
NON_PARTY = {("city", 2), ("city", 6), ("city", 11), ("city", 13), ("town", 1), ("town", 8), ("town", 12)}
WOMEN = {("city", 4), ("town", 0), ("town", 9)}
SPECIALTIES = ["城市规划", "社会保障", "科技创新", "财政", "农业"]


@dataclass(frozen=True)
class Person:
    side: str  # city | town
    index: int
    name: str
    gender: str
    birth_date: dt.date
    party_member: bool
    strength: str


def birth_for(age: int, index: int) -> dt.date:
    """A birth date giving ``age`` whole years on 2017-04-01; half of them born after 1 April."""
    if index % 2:
        return dt.date(START.year - age - 1, 9, 1 + index)
    return dt.date(START.year - age, 1, 1 + index)


def people() -> list[Person]:
    out = []
    for side, ages in (("city", CITY_AGES), ("town", TOWN_AGES)):
        for i, age in enumerate(ages):
            out.append(
                Person(
                    side=side,
                    index=i,
                    name=f"{'市直' if side == 'city' else '镇街'}干部{i + 1:02d}",
                    gender="female" if (side, i) in WOMEN else "male",
                    birth_date=birth_for(age, i),
                    party_member=(side, i) not in NON_PARTY,
                    strength=SPECIALTIES[i % len(SPECIALTIES)],
                )
            )
    return out


assert sum(CITY_AGES) + sum(TOWN_AGES) == 1014
