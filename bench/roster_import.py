"""Roster spreadsheet import benchmark: the real import path against a bare COPY.

Run from the repository root::

    .venv/bin/python bench/roster_import.py [--rows 100000] [--profile]

One run generates N realistic cadre rows as an XLSX in the department's template layout
(in a child process, so its memory never shows in this process's figures), migrates a
fresh PostgreSQL database, creates the units the rows name, then imports the file
through the HTTP API in-process (upload → parse → validate → units → duplicates → COPY of
cadres, history and outbox, all in one transaction), polling the job until it is done.
It checks that exactly N cadres and N outbox rows exist, times parse and validation
alone, measures the import's tracemalloc peak in a second import (tracemalloc slows the
code it watches, so the timed run goes without it), and times the reference: the same
``cadres`` values written by a bare asyncpg ``copy_records_to_table`` into a fresh
database (plus, for context, COPY of all three tables and SQLAlchemy executemany).
Every database it creates is dropped at the end, also on failure.

The admin connection is ``BENCH_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``). Targets (informational; the
exit status is 0 unless the import itself fails): 100k rows in under 5 s, under 300 MB.
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import gc
import io
import os
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadrekit.dates import today

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/roster_import.py` puts bench/ first, not the root
    sys.path.insert(0, str(ROOT))

import asyncpg
import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from bench.results import Figures
from cadrekit.auth import Principal, Role, StaticKeySource
from cadrekit.migrate import upgrade
from cadrekit.scope import WHOLE_TREE
from services.roster.app import MIGRATIONS, create_app
from services.roster.domain.cells import is_blank
from services.roster.domain.columns import HEADERS
from services.roster.domain.id_numbers import with_check_digit
from services.roster.domain.retirement import RetirementLaw, default_category
from services.roster.domain.sheet import RowValidator
from services.roster.domain.units import child_path
from services.roster.importing import pipeline, writer
from services.roster.models import Cadre
from services.roster.service import imports
from services.roster.settings import RosterSettings

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORTS = "/api/v1/roster/imports"
TARGET_SECONDS = 5.0
TARGET_MB = 300.0
POLL_SECONDS = 0.02
MB = 1024 * 1024

# ------------------------------------------------------------------------------------------
# the unit tree the rows refer to (Pinghu, Jiaxing): city → organs, towns → villages, ...
CITY = "平湖市"
CITY_ORGANS = (
    "市委办公室",
    "市委组织部",
    "市委宣传部",
    "市委统战部",
    "市委政法委",
    "市纪委市监委",
    "市发展和改革局",
    "市经济和信息化局",
    "市教育局",
    "市科学技术局",
    "市公安局",
    "市民政局",
    "市司法局",
    "市财政局",
    "市人力资源和社会保障局",
    "市自然资源和规划局",
    "市住房和城乡建设局",
    "市交通运输局",
    "市水利局",
    "市农业农村局",
    "市商务局",
    "市文化和广电旅游体育局",
    "市卫生健康局",
    "市应急管理局",
    "市审计局",
    "市市场监督管理局",
    "市统计局",
    "市医疗保障局",
    "市综合行政执法局",
    "市信访局",
)
# Village names repeat across towns (as they do): those rows must name the unit by path.
TOWNS: dict[str, tuple[str, ...]] = {
    "当湖街道": ("东湖社区", "西门社区", "南市社区", "新华村", "城北社区"),
    "钟埭街道": ("钟埭社区", "沈家弄村", "新华村", "花园村", "吴家埭村"),
    "曹桥街道": ("曹桥社区", "马厩村", "百寿村", "联丰村", "民主村"),
    "乍浦镇": ("乍浦社区", "汤山村", "雅山村", "九龙山村", "民主村"),
    "新埭镇": ("新埭社区", "鱼圻塘村", "旧埭村", "星火村", "姚浜村"),
    "新仓镇": ("新仓社区", "杉青港村", "芦湾村", "三叉河村", "秀平桥村"),
    "广陈镇": ("广陈社区", "山塘村", "泗泾村", "港中村", "龙萌村"),
    "林埭镇": ("林埭社区", "徐家埭村", "林家埭村", "群丰村", "联丰村"),
    "独山港镇": ("独山港社区", "全塘村", "赵家桥村", "白马堰村", "黄姑村"),
}
ENTERPRISES = ("平湖市城市发展投资集团", "平湖市交通投资集团", "平湖市水务集团", "平湖市农业发展集团")
INSTITUTIONS = ("平湖市第一人民医院", "平湖中学", "平湖市中医院", "平湖市融媒体中心", "平湖市档案馆")


@dataclass(frozen=True)
class UnitSpec:
    path: tuple[str, ...]  # names from the root
    kind: str


def unit_specs() -> list[UnitSpec]:
    """Parents before children."""
    specs = [UnitSpec((CITY,), "city")]
    specs += [UnitSpec((CITY, n), "city_organ") for n in CITY_ORGANS]
    specs += [UnitSpec((CITY, n), "enterprise") for n in ENTERPRISES]
    specs += [UnitSpec((CITY, n), "institution") for n in INSTITUTIONS]
    for town, villages in TOWNS.items():
        specs.append(UnitSpec((CITY, town), "town"))
        specs += [UnitSpec((CITY, town, v), "village") for v in villages]
    return specs


def unit_refs() -> list[tuple[list[str], int]]:
    """How rows name each unit (a unique name, else a path), with a weight per unit."""
    specs = unit_specs()
    counts: dict[str, int] = {}
    for s in specs:
        counts[s.path[-1]] = counts.get(s.path[-1], 0) + 1
    out = []
    for s in specs:
        name = s.path[-1]
        if counts[name] > 1:
            forms = ["/".join(s.path[-2:]), "／".join(s.path[-2:]), "/".join(s.path)]
        elif len(s.path) > 1:
            forms = [name, name, name, "/".join(s.path[-2:])]
        else:
            forms = [name]
        weight = {"city": 1, "city_organ": 40, "town": 60, "village": 8, "enterprise": 20, "institution": 30}[s.kind]
        out.append((forms, weight))
    return out


# ------------------------------------------------------------------------------------------
# row generation (runs in a child process)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石"
    "廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
GIVEN_MALE = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国志文斌晨峰龙"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲桂丹萍红琳雪婷颖倩慧佳琴云莉洁晶瑶欣怡"
REGIONS = ("330402", "330411", "330421", "330424", "330481", "330482", "330482", "330482", "330483", "330102")
POSTS = (
    "科员",
    "副科长",
    "科长",
    "副主任",
    "主任",
    "副局长",
    "局长",
    "副镇长",
    "镇长",
    "党委委员",
    "党委副书记",
    "党委书记",
    "办公室主任",
    "村党组织书记",
    "社区党委书记",
    "副总经理",
    "副院长",
    "",
)
RANKS = ("一级科员", "四级主任科员", "三级主任科员", "二级主任科员", "一级主任科员", "副科", "正科", "副处", "")
EDUCATION = ("本科", "本科", "本科", "硕士研究生", "大专", "博士研究生", "中专", "")
STRENGTHS = (
    "招商引资",
    "文字材料",
    "信访维稳",
    "基层治理",
    "项目管理",
    "财务审计",
    "法律事务",
    "数字化改革",
    "农业农村",
    "城建交通",
    "应急管理",
    "组织人事",
    "宣传统战",
    "乡村振兴",
    "安全生产",
)
WISHES = ("经济管理", "城建交通", "党群工作", "政法综治", "社会事业", "农业农村", "基层治理", "科技创新")
FIELDS = ("经济", "法律", "工程", "农业", "管理", "教育", "医疗", "计算机", "财会", "中文", "")
WILLINGNESS = ("愿意到镇街", "愿意承担重任", "愿意带教")
TODAY = dt.date(2026, 11, 1)


def cadre_rows(n: int, seed: int) -> Iterator[list[Any]]:
    rng = random.Random(seed)
    refs = unit_refs()
    ref_forms = [forms for forms, _ in refs]
    ref_weights = [w for _, w in refs]
    towns = list(TOWNS)
    seen: set[str] = set()
    first_birth, last_birth = dt.date(1966, 1, 1), dt.date(2001, 12, 31)
    span = (last_birth - first_birth).days
    rule = RetirementLaw()
    for _ in range(n):
        male = rng.random() < 0.62
        while True:
            birth = first_birth + dt.timedelta(days=rng.randrange(span))
            seq = rng.randrange(100) * 10 + rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
            idn = with_check_digit(f"{rng.choice(REGIONS)}{birth:%Y%m%d}{seq:03d}")
            if idn not in seen:
                seen.add(idn)
                break
        if rng.random() < 0.01 and idn.endswith("X"):
            idn = idn[:-1] + "x"  # typed in lower case now and then
        surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.03 else rng.choice(SURNAMES)
        given_chars = GIVEN_MALE if male else GIVEN_FEMALE
        name = surname + "".join(rng.choice(given_chars) for _ in range(rng.choice((1, 2, 2, 2))))

        r = rng.random()
        birth_cell: Any
        if r < 0.6:
            birth_cell = birth  # a date cell
        elif r < 0.9:
            birth_cell = birth.isoformat()
        elif r < 0.95:
            birth_cell = f"{birth:%Y/%m/%d}"
        else:
            birth_cell = f"{birth:%Y}年{birth:%m}月{birth:%d}日"

        age = TODAY.year - birth.year
        first_job_age = rng.randint(21, 25)
        years = max(0, min(45, age - first_job_age))
        periods = []
        cursor = dt.date(birth.year + first_job_age, rng.randint(1, 12), 1)
        for k in range(rng.choices((0, 1, 2, 3), weights=(35, 35, 20, 10))[0]):
            start = cursor + dt.timedelta(days=rng.randrange(30, 900))
            if start >= TODAY:
                break
            end = start + dt.timedelta(days=rng.randrange(300, 2400))
            town = rng.choice(towns)
            if end >= TODAY or (k > 0 and rng.random() < 0.15):
                periods.append(f"{start.isoformat()}至@{town}")
                break
            periods.append(f"{start.isoformat()}至{end.isoformat()}@{town}")
            cursor = end

        retirement: str = ""
        if rng.random() < 0.03:
            default = rule.statutory(birth, default_category("male" if male else "female", None)).date
            retirement = default.replace(year=default.year + rng.randint(1, 3), day=min(default.day, 28)).isoformat()

        leadership = rng.choices(("非领导", "在职领导", "退二线", ""), weights=(60, 25, 5, 10))[0]
        health = rng.choices(("健康", "一般", "因病免除", ""), weights=(85, 8, 2, 5))[0]
        yield [
            name,
            "男" if male else "女",
            birth_cell,
            idn,
            rng.choice(rng.choices(ref_forms, weights=ref_weights)[0]),
            rng.choice(POSTS),
            rng.choice(RANKS),
            "是" if rng.random() < 0.8 else "否",
            rng.choice(EDUCATION),
            years if rng.random() < 0.95 else "",
            "；".join(periods),
            "、".join(rng.sample(STRENGTHS, rng.choice((0, 1, 2, 2, 3)))),
            "；".join(rng.sample(WISHES, rng.choice((0, 1, 2, 3)))),
            rng.choice(FIELDS),
            "；".join(w for w in WILLINGNESS if rng.random() < 0.45),
            leadership,
            health,
            retirement,
            "",
        ]


def generate_xlsx(path: Path, n: int, seed: int) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("干部名册")
    ws.append(list(HEADERS))
    for row in cadre_rows(n, seed):
        ws.append(row)
    wb.save(path)


# ------------------------------------------------------------------------------------------
# databases
def admin_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL)


def with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


class Databases:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.created: list[str] = []

    def url(self, name: str) -> str:
        return with_database(admin_url(), name)

    async def create(self, suffix: str, template: str | None = None) -> str:
        name = f"{self.prefix}_{suffix}"
        conn = await asyncpg.connect(asyncpg_dsn(admin_url()))
        try:
            tmpl = f' TEMPLATE "{template}"' if template else ""
            await conn.execute(f'CREATE DATABASE "{name}"{tmpl}')
        finally:
            await conn.close()
        self.created.append(name)
        return name

    async def drop_all(self) -> None:
        if not self.created:
            return
        conn = await asyncpg.connect(asyncpg_dsn(admin_url()))
        try:
            for name in reversed(self.created):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self.created.clear()


async def insert_units(url: str) -> int:
    """The unit tree, written directly (no outbox events, so the outbox holds only the import's)."""
    now = dt.datetime.now(dt.UTC)
    paths: dict[tuple[str, ...], tuple[str, str]] = {}
    rows = []
    for spec in unit_specs():
        uid = str(uuid.uuid4())
        parent = paths.get(spec.path[:-1])
        path = child_path(parent[1] if parent else None, uid)
        paths[spec.path] = (uid, path)
        rows.append((uid, spec.path[-1], spec.kind, "平湖", parent[0] if parent else None, path, 1, now, now))
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.executemany(
            "INSERT INTO units (id, name, kind, region, parent_id, path, version, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            rows,
        )
    finally:
        await conn.close()
    return len(rows)


async def table_counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return {
            "cadres": await conn.fetchval("SELECT count(*) FROM cadres"),
            "cadre_changes": await conn.fetchval("SELECT count(*) FROM cadre_changes"),
            "outbox": await conn.fetchval("SELECT count(*) FROM outbox"),
            "outbox_registered": await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE type = 'roster.cadre.registered'"
            ),
        }
    finally:
        await conn.close()


# ------------------------------------------------------------------------------------------
# the service in-process
@dataclass
class Signer:
    """Signs tokens the way cadrekit/testing/plugin.py's Signer does (EdDSA, kid header)."""

    private: Ed25519PrivateKey
    kid: str = "bench-key"

    @property
    def key_source(self) -> StaticKeySource:
        return StaticKeySource({self.kid: self.private.public_key()})

    def headers(self, settings: RosterSettings, role: str = "admin", ttl: int = 3600) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": settings.token_issuer,
            "aud": settings.token_audience,
            "sub": f"{role}-user",
            "iat": now,
            "exp": now + ttl,
            "role": role,
            "unit_scope": None,
            "client_id": f"{role}-client",
        }
        token = jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})
        return {"Authorization": f"Bearer {token}"}


@dataclass
class Service:
    app: FastAPI
    client: httpx.AsyncClient
    settings: RosterSettings
    headers: dict[str, str]


@contextlib.asynccontextmanager
async def running_service(url: str, keys_dir: Path, signer: Signer) -> AsyncIterator[Service]:
    settings = RosterSettings(database_url=url, kafka_enabled=False, keys_dir=keys_dir, mode="test")
    app = create_app(settings, key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://roster", timeout=3600) as client:
            yield Service(app, client, settings, signer.headers(settings))


class Probes:
    """Timestamps (and the traced heap, when tracemalloc runs) at the import's phase edges.

    For one import it wraps a few functions the real path calls: ``open_sheet``,
    ``create_job`` and ``run_job`` in services.roster.service.imports, the job's per-slice
    Python work (``RowChecker.check_next``: convert, validate and check rows;
    ``RowBuilder.prepare``: table rows and events) and asyncpg's ``copy_records_to_table``.
    The job streams in chunks, so those last three are summed over their calls; the COPYs
    overlap the Python work of the next chunk. The wrappers only record ``perf_counter``;
    the path and its work are unchanged, and nothing is edited on disk.
    """

    def __init__(self) -> None:
        self.marks: dict[str, tuple[float, float | None]] = {}
        self.last: dict[str, float] = {}  # the latest time of a repeated mark
        self.sums: dict[str, list[float]] = {}  # name → [calls, seconds]
        self.heap_high: dict[str, float] = {}  # name → highest traced heap at that mark
        self._undo: list[tuple[Any, str, Any]] = []
        # the cyclic GC's pauses during the import, per generation: [collections, seconds]
        self.gc: dict[int, list[float]] = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
        self._gc_start = 0.0

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            entry = self.gc[info["generation"]]
            entry[0] += 1
            entry[1] += time.perf_counter() - self._gc_start

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        heap = tracemalloc.get_traced_memory()[0] / MB if tracemalloc.is_tracing() else None
        self.marks.setdefault(name, (now, heap))
        self.last[name] = now
        if heap is not None:
            self.heap_high[name] = max(heap, self.heap_high.get(name, 0.0))

    def _add(self, name: str, seconds: float) -> None:
        entry = self.sums.setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += seconds

    def _swap(self, owner: Any, attr: str, make: Any) -> None:
        original = getattr(owner, attr, None)
        if original is None:  # renamed by someone: skip that probe rather than fail
            return
        self._undo.append((owner, attr, original))
        setattr(owner, attr, make(original))

    def _sync(self, name: str) -> Any:
        def make(original: Any) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                self.mark(f"{name}:start")
                t0 = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self._add(name, time.perf_counter() - t0)
                    self.mark(f"{name}:end")

            return wrapper

        return make

    def _async(self, name: str) -> Any:
        def make(original: Any) -> Any:
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                self.mark(f"{name}:start")
                try:
                    return await original(*args, **kwargs)
                finally:
                    self.mark(f"{name}:end")

            return wrapper

        return make

    def _copy(self, original: Any) -> Any:
        async def wrapper(conn: Any, table_name: str, **kwargs: Any) -> Any:
            self.mark("copy:start")
            self.mark(f"copy {table_name}:start")
            t0 = time.perf_counter()
            try:
                return await original(conn, table_name, **kwargs)
            finally:
                self._add(f"copy {table_name}", time.perf_counter() - t0)
                self.mark("copy:end")

        return wrapper

    def __enter__(self) -> Probes:
        self._swap(pipeline, "open_sheet", self._sync("parse"))
        self._swap(imports, "create_job", self._async("create_job"))
        self._swap(imports, "run_job", self._async("job"))
        self._swap(pipeline.RowChecker, "check_next", self._sync("check"))
        self._swap(writer.RowBuilder, "prepare", self._sync("prepare"))
        self._swap(asyncpg.connection.Connection, "copy_records_to_table", self._copy)
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)
        self._undo.clear()

    def at(self, name: str) -> float | None:
        if name.startswith("last "):
            return self.last.get(name[5:])
        got = self.marks.get(name)
        return got[0] if got else None

    def heap(self, name: str) -> float | None:
        got = self.marks.get(name)
        return got[1] if got else None

    def total(self, name: str) -> tuple[int, float] | None:
        got = self.sums.get(name)
        return (int(got[0]), got[1]) if got else None


# (label, from mark, to mark); "post" is the start of the upload, "done" the poll that saw the end
PHASES = (
    ("upload: request + multipart, until parse starts", "post", "parse:start"),
    ("parse: open_sheet (calamine, header)", "parse:start", "parse:end"),
    ("create_job, 202 answer, job task starts", "parse:end", "job:start"),
    ("job start until the first COPY", "job:start", "copy:start"),
    ("first COPY start until the last COPY ends", "copy:start", "last copy:end"),
    ("finish: job row, commit", "last copy:end", "job:end"),
    ("poll sees the job done", "job:end", "done"),
)
# summed over the job's chunks and slices (the COPYs overlap the Python work)
SUMS = (
    ("python: rows converted, validated, checked", "check"),
    ("python: table rows and events prepared", "prepare"),
    ("COPY cadres (client encoding + server)", "copy cadres"),
    ("COPY cadre_changes", "copy cadre_changes"),
    ("COPY outbox", "copy outbox"),
)
HEAP_MARKS = (
    ("after parse (sheet in calamine's native memory)", "parse:end"),
    ("at the first COPY", "copy:start"),
)


@dataclass
class ImportRun:
    job: dict[str, Any]
    accepted_s: float  # POST round trip: upload, parse_upload, create_job
    total_s: float  # POST until the poll saw the job finished
    job_s: float  # server side: job created_at → finished_at
    probes: Probes


async def import_over_http(svc: Service, filename: str, content: bytes) -> ImportRun:
    with Probes() as probes:
        probes.mark("post")
        t0 = time.perf_counter()
        resp = await svc.client.post(
            IMPORTS, headers=svc.headers, files={"file": (filename, content, XLSX)}, data={"mode": "insert"}
        )
        accepted = time.perf_counter()
        if resp.status_code != 202:
            raise RuntimeError(f"upload refused: {resp.status_code} {resp.text[:2000]}")
        job_id = resp.json()["id"]
        while True:
            got = await svc.client.get(f"{IMPORTS}/{job_id}", headers=svc.headers)
            job = got.json()
            if job["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(POLL_SECONDS)
        probes.mark("done")
        done = time.perf_counter()
    created = dt.datetime.fromisoformat(job["created_at"])
    finished = dt.datetime.fromisoformat(job["finished_at"])
    return ImportRun(job, accepted - t0, done - t0, (finished - created).total_seconds(), probes)


# ------------------------------------------------------------------------------------------
# reference: the same cadres values, written bare
@dataclass
class Reference:
    copy_cadres_s: float
    copy_all_s: float
    copy_bare_table_s: float
    executemany_s: float | None


CHANGE_COLUMNS = ("cadre_id", "at", "actor", "acting_client", "kind", "changes", "reason")
OUTBOX_COLUMNS = ("event_id", "topic", "key", "type", "payload", "created_at", "published_at")


def select_sql(table: str, columns: tuple[str, ...]) -> str:
    return "SELECT " + ", ".join(f'"{c}"' for c in columns) + f' FROM "{table}"'  # noqa: S608


async def reference(source_url: str, target_url: str, *, executemany: bool) -> Reference:
    src = await asyncpg.connect(asyncpg_dsn(source_url))
    try:
        # column names are the constants above, never input
        cadres = [tuple(r) for r in await src.fetch(select_sql("cadres", writer.CADRE_COLUMNS))]
        changes = [tuple(r) for r in await src.fetch(select_sql("cadre_changes", CHANGE_COLUMNS))]
        outbox = [tuple(r) for r in await src.fetch(select_sql("outbox", OUTBOX_COLUMNS))]
    finally:
        await src.close()

    dst = await asyncpg.connect(asyncpg_dsn(target_url))
    try:
        gc.collect()
        t0 = time.perf_counter()
        async with dst.transaction():
            await dst.copy_records_to_table("cadres", columns=list(writer.CADRE_COLUMNS), records=cadres)
        copy_cadres = time.perf_counter() - t0
        await dst.execute("TRUNCATE cadre_changes, cadres")

        gc.collect()
        t0 = time.perf_counter()
        async with dst.transaction():
            await dst.copy_records_to_table("cadres", columns=list(writer.CADRE_COLUMNS), records=cadres)
            await dst.copy_records_to_table("cadre_changes", columns=list(CHANGE_COLUMNS), records=changes)
            await dst.copy_records_to_table("outbox", columns=list(OUTBOX_COLUMNS), records=outbox)
        copy_all = time.perf_counter() - t0
        await dst.execute("TRUNCATE cadre_changes, cadres, outbox")

        # the same rows into a copy of the table without its indexes and constraints
        await dst.execute("CREATE TABLE cadres_bare (LIKE cadres INCLUDING DEFAULTS)")
        gc.collect()
        t0 = time.perf_counter()
        async with dst.transaction():
            await dst.copy_records_to_table("cadres_bare", columns=list(writer.CADRE_COLUMNS), records=cadres)
        copy_bare_table = time.perf_counter() - t0
        await dst.execute("DROP TABLE cadres_bare")
    finally:
        await dst.close()
    del changes, outbox

    executemany_s = None
    if executemany:
        json_cols = writer.JSON_COLUMNS
        dicts = [
            {c: (orjson.loads(v) if c in json_cols else v) for c, v in zip(writer.CADRE_COLUMNS, row, strict=True)}
            for row in cadres
        ]
        engine = create_async_engine(target_url)
        try:
            gc.collect()
            t0 = time.perf_counter()
            async with engine.begin() as conn:
                await conn.execute(Cadre.__table__.insert(), dicts)  # type: ignore[attr-defined]
            executemany_s = time.perf_counter() - t0
        finally:
            await engine.dispose()
    return Reference(copy_cadres, copy_all, copy_bare_table, executemany_s)


def validate_rows(upload: pipeline.Upload) -> tuple[int, int]:
    """Every row of the sheet through the row rules alone: (rows with content, invalid)."""
    validator = RowValidator(upload.columns, today(), upload.sheet.first_column)
    rows = bad = 0
    for number, row in enumerate(upload.sheet.rows(), start=2):
        if is_blank(row):
            continue
        rows += 1
        record, _ = validator.validate(number, row)
        bad += record is None
    return rows, bad


# ------------------------------------------------------------------------------------------
# profiling
def profile_text(prof: cProfile.Profile, sort: str, limit: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats(sort).print_stats(limit)
    return out.getvalue()


async def profile_import(svc: Service, filename: str, content: bytes) -> None:
    """The job body under cProfile, called directly (validation's thread is profiled apart)."""
    ctx = svc.app.state.context
    principal = Principal(sub="admin-user", role=Role.admin, unit_scope=None, client_id="admin-client")
    prof = cProfile.Profile()
    prof.enable()
    upload = pipeline.parse_upload(filename, content, svc.settings.import_max_rows)
    prof.disable()
    print("\n=== cProfile: parse_upload (tottime) ===")
    print(profile_text(prof, "tottime", 12))

    prof = cProfile.Profile()
    prof.enable()
    validate_rows(upload)
    prof.disable()
    print("=== cProfile: validation alone (tottime) ===")
    print(profile_text(prof, "tottime", 25))

    job = await imports.create_job(
        ctx,
        principal,
        filename=filename,
        mode="insert",
        dry_run=False,
        create_units=False,
        rows_total=upload.rows_total,
    )
    prof = cProfile.Profile()
    prof.enable()
    t0 = time.perf_counter()
    await imports.run_job(ctx, principal, WHOLE_TREE, job.id, upload)
    wall = time.perf_counter() - t0
    prof.disable()
    print(f"=== cProfile: run_job, event-loop thread ({wall:.2f} s wall; all of the job's Python runs there) ===")
    print(profile_text(prof, "tottime", 30))
    print("=== cProfile: run_job (cumulative) ===")
    print(profile_text(prof, "cumulative", 45))


# ------------------------------------------------------------------------------------------
def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB
    except OSError:
        return float("nan")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def generate(args: argparse.Namespace, xlsx: Path) -> float:
    """The sheet, written by a child process so its memory never counts in this one."""
    print(f"generating {args.rows} rows (child process, openpyxl write-only) ...", flush=True)
    t0 = time.perf_counter()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--generate-to", str(xlsx)]
    subprocess.run([*cmd, "--rows", str(args.rows), "--seed", str(args.seed)], check=True)
    gen_s = time.perf_counter() - t0
    print(f"generated {xlsx.stat().st_size / MB:.1f} MB in {gen_s:.1f} s (not measured)", flush=True)
    return gen_s


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def print_phases(runs: list[ImportRun], traced: ImportRun | None) -> None:
    heads = "".join(f"  run {i + 1:>2}" for i in range(len(runs)))
    print(f"per-phase seconds (probes on the timed import{'s' if len(runs) > 1 else ''}):")
    print(f"  {'phase':<52}{heads}")
    for label, a, b in PHASES:
        cells = []
        for run in runs:
            ta, tb = run.probes.at(a), run.probes.at(b)
            cells.append(f"{tb - ta:8.2f}" if ta is not None and tb is not None else "       -")
        print(f"  {label:<52}{''.join(cells)}")
    print("  summed over the job's chunks (run 1: calls), overlapping the phases above:")
    for label, name in SUMS:
        got = runs[0].probes.total(name)
        calls = f" ({got[0]} calls)" if got else ""
        sums = "".join(f"{t[1]:8.2f}" if (t := run.probes.total(name)) else "       -" for run in runs)
        print(f"  {'  ' + label + calls:<52}{sums}")
    print("  of which cyclic GC pauses (all threads, overlapping the phases above):")
    for gen in (0, 1, 2):
        gc_cells = "".join(f"{run.probes.gc[gen][1]:8.2f}" for run in runs)
        gc_label = f"  generation {gen} ({int(runs[0].probes.gc[gen][0])} collections in run 1)"
        print(f"  {gc_label:<52}{gc_cells}")
    if traced is not None:
        print("traced heap (tracemalloc current, 2nd import) at:")
        for label, name in HEAP_MARKS:
            heap = traced.probes.heap(name)
            print(f"  {label:<52}{heap:8.1f} MB" if heap is not None else f"  {label:<52}       -")
        high = traced.probes.heap_high.get("copy:start")
        if high is not None:
            print(f"  {'highest at the start of any COPY':<52}{high:8.1f} MB")


async def bench(args: argparse.Namespace, filename: str, content: bytes, gen_s: float, workdir: Path) -> int:
    n = args.rows
    dbs = Databases(f"bench_roster_{uuid.uuid4().hex[:8]}")
    signer = Signer(Ed25519PrivateKey.generate())
    keys_dir = workdir / "keys"
    failed = False
    load_start = load()
    try:
        tmpl = await dbs.create("tmpl")
        t0 = time.perf_counter()
        await asyncio.to_thread(upgrade, MIGRATIONS, dbs.url(tmpl))
        n_units = await insert_units(dbs.url(tmpl))
        print(f"migrated {tmpl} and created {n_units} units in {time.perf_counter() - t0:.1f} s", flush=True)
        run_dbs = [dbs.url(await dbs.create(f"import{i + 1}", tmpl)) for i in range(args.repeat)]
        mem_db = dbs.url(await dbs.create("mem", tmpl)) if not args.skip_tracemalloc else None
        prof_db = dbs.url(await dbs.create("prof", tmpl)) if args.profile else None
        ref_db = dbs.url(await dbs.create("ref", tmpl))

        # 1. the timed import(s), end to end over HTTP (no tracemalloc: it slows what it watches)
        runs: list[ImportRun] = []
        rss_before = maxrss_before = maxrss_after = 0.0
        for i, run_db in enumerate(run_dbs):
            async with running_service(run_db, keys_dir, signer) as svc:
                gc.collect()
                if i == 0:
                    rss_before, maxrss_before = current_rss_mb(), max_rss_mb()
                print(f"importing over HTTP (timed, run {i + 1}/{len(run_dbs)}) ...", flush=True)
                run = await import_over_http(svc, filename, content)
                if i == 0:
                    maxrss_after = max_rss_mb()
            if run.job["status"] != "succeeded":
                print(f"IMPORT FAILED: {run.job['message']}")
                for e in run.job["errors"][:20]:
                    print("   ", e)
                return 1
            runs.append(run)
            print(f"  run {i + 1}: {run.total_s:.2f} s", flush=True)
        counts = await table_counts(run_dbs[0])
        ok_counts = counts["cadres"] == n and counts["outbox"] == n and counts["outbox_registered"] == n
        failed = failed or not ok_counts
        totals = sorted(r.total_s for r in runs)
        median_s = totals[len(totals) // 2]
        job = runs[0].job

        # 2. parse and validation alone, on this thread
        gc.collect()
        t0 = time.perf_counter()
        upload = pipeline.parse_upload(filename, content, 10**9)
        parse_s = time.perf_counter() - t0
        gc.collect()
        t0 = time.perf_counter()
        _, bad = validate_rows(upload)  # walks the rows out of calamine as the job does
        validate_s = time.perf_counter() - t0
        del upload

        # 3. memory: one more import, traced
        peak_mb: float | None = None
        traced: ImportRun | None = None
        if mem_db is not None:
            async with running_service(mem_db, keys_dir, signer) as svc:
                gc.collect()
                print("importing over HTTP again under tracemalloc ...", flush=True)
                tracemalloc.start()
                try:
                    traced = await import_over_http(svc, filename, content)
                    peak_mb = tracemalloc.get_traced_memory()[1] / MB
                finally:
                    tracemalloc.stop()
            if traced.job["status"] != "succeeded":
                print(f"the traced import failed: {traced.job['message']}")
                failed = True

        # 4. the reference
        print("reference: bare COPY of the same cadres rows ...", flush=True)
        ref = await reference(run_dbs[0], ref_db, executemany=not args.skip_executemany)

        # 5. report
        print()
        print("=== roster import benchmark (PostgreSQL, HTTP API in-process) ===")
        print(f"machine                              {load_start} at start; {load()} at end")
        print(f"rows                                 {n}")
        print(f"file                                 {len(content) / MB:.1f} MB XLSX (generated in {gen_s:.1f} s)")
        print(f"import status                        {job['status']}: {job['message']}")
        print(
            f"verified                             cadres={counts['cadres']} outbox={counts['outbox']} "
            f"(registered={counts['outbox_registered']}) cadre_changes={counts['cadre_changes']} "
            f"-> {'OK' if ok_counts else 'WRONG'}"
        )
        print(f"parse seconds (parse_upload alone)   {parse_s:.2f}")
        print(f"validate seconds (row rules alone)   {validate_s:.2f}  ({bad} invalid rows)")
        print(f"upload+parse+create_job (POST 202)   {runs[0].accepted_s:.2f}")
        print(f"job run (created_at -> finished_at)  {runs[0].job_s:.2f}")
        if len(runs) > 1:
            print(f"TOTAL import seconds, each run       {', '.join(f'{t:.2f}' for t in (r.total_s for r in runs))}")
            print(f"TOTAL import seconds (median)        {median_s:.2f}  (best {totals[0]:.2f})")
        else:
            print(f"TOTAL import seconds (end to end)    {median_s:.2f}")
        print(f"rows/s                               {n / median_s:,.0f}")
        if peak_mb is not None:
            print(f"tracemalloc peak (Python heap, traced import)  {peak_mb:.1f} MB")
        print(f"max RSS (getrusage high-water, whole process, after run 1)  {maxrss_after:.1f} MB")
        print(
            f"  RSS just before the import {rss_before:.1f} MB (high-water then {maxrss_before:.1f} MB); "
            f"growth {maxrss_after - rss_before:.1f} MB"
        )
        print(f"bare COPY cadres (asyncpg copy_records_to_table, 1 txn)  {ref.copy_cadres_s:.2f} s")
        print(f"bare COPY cadres + cadre_changes + outbox (1 txn)        {ref.copy_all_s:.2f} s")
        print(f"bare COPY cadres into a table with no indexes (context)  {ref.copy_bare_table_s:.2f} s")
        if ref.executemany_s is not None:
            print(f"SQLAlchemy executemany cadres (context)                  {ref.executemany_s:.2f} s")
        print(f"ratio import / bare COPY cadres                          {median_s / ref.copy_cadres_s:.1f}x")
        print(f"ratio import / bare COPY of all three tables             {median_s / ref.copy_all_s:.1f}x")
        print_phases(runs, traced)
        print(f"target: whole import < {TARGET_SECONDS:.0f} s          {verdict(median_s < TARGET_SECONDS)}")
        if peak_mb is not None:
            print(f"target: < {TARGET_MB:.0f} MB (tracemalloc peak)        {verdict(peak_mb < TARGET_MB)}")
        print(f"target: < {TARGET_MB:.0f} MB (max RSS, whole process)  {verdict(maxrss_after < TARGET_MB)}")
        print("(targets are informational: the exit status only reflects whether the import worked)")
        figures = Figures("roster_import")
        figures.add(
            f"import {n:,} rows, end to end (HTTP upload → job done)",
            median_s,
            "s",
            reference="bare asyncpg COPY of the same cadres rows",
            reference_value=ref.copy_cadres_s,
            note=f"target < {TARGET_SECONDS:.0f} s: {verdict(median_s < TARGET_SECONDS)}; counts {'OK' if ok_counts else 'WRONG'}",
        )
        figures.add(
            f"import {n:,} rows vs COPY of all three tables",
            median_s,
            "s",
            reference="bare COPY cadres + cadre_changes + outbox",
            reference_value=ref.copy_all_s,
        )
        figures.add("import rows/s", n / median_s, "rows/s")
        figures.add(
            "import max RSS, whole process",
            maxrss_after,
            "MB",
            note=f"target < {TARGET_MB:.0f} MB: {verdict(maxrss_after < TARGET_MB)}",
        )
        if peak_mb is not None:
            figures.add("import tracemalloc peak (Python heap)", peak_mb, "MB")
        figures.extra["ok"] = not failed and ok_counts
        figures.write(args.json)

        if prof_db is not None:
            async with running_service(prof_db, keys_dir, signer) as svc:
                await profile_import(svc, filename, content)
    finally:
        await dbs.drop_all()
        print(f"dropped the benchmark databases ({dbs.prefix}_*)")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--repeat", type=int, default=1, help="timed imports (fresh database each); median reported")
    parser.add_argument("--profile", action="store_true", help="also run the import under cProfile and print it")
    parser.add_argument("--skip-tracemalloc", action="store_true", help="skip the second, traced import")
    parser.add_argument("--skip-executemany", action="store_true", help="skip the SQLAlchemy executemany reference")
    parser.add_argument("--keep-file", type=Path, help="also copy the generated XLSX here")
    parser.add_argument("--generate-to", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="10,000 rows, no traced import, no executemany")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.rows = 10_000
        args.skip_tracemalloc = args.skip_executemany = True
    if args.generate_to is not None:
        generate_xlsx(args.generate_to, args.rows, args.seed)
        return 0
    with tempfile.TemporaryDirectory(prefix="roster_bench_") as tmp:
        xlsx = Path(tmp) / f"roster_{args.rows}.xlsx"
        gen_s = generate(args, xlsx)
        if args.keep_file is not None:
            args.keep_file.write_bytes(xlsx.read_bytes())
        code = asyncio.run(bench(args, xlsx.name, xlsx.read_bytes(), gen_s, Path(tmp)))
    return code


if __name__ == "__main__":
    sys.exit(main())
