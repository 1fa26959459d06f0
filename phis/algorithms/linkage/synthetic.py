"""Synthetic linkage data with known truth: persons from :mod:`phis.algorithms.synthpop`,
several records per person with the errors real registers show, plus hard negatives.

Errors in duplicate records: homophone characters (章伟 for 张伟), traditional characters,
names written in pinyin (``Zhang Wei``, ``WEI ZHANG`` ...), a dropped or wrong character;
resident-ID typos and adjacent transpositions (the check character is left as it was),
legacy 15-digit IDs, missing IDs; day and month swapped or a wrong digit in the birth date;
missing or unspecified sex; changed, missing, mistyped or formatted phones; moved,
shortened or missing addresses.

Hard negatives (different people who look alike): twins (same surname, birth date,
address and often phone; consecutive ID sequence numbers) and parent/child pairs (same
surname, address and, for children, the parent's phone).

    ds = make_linkage_dataset(10_000, seed=1)
    ds.columns["name"], ds.truth["123"]    # record columns and record_id → entity_id
    ds.write("persons.csv", "truth.csv")
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from phis.algorithms.linkage.cnid import CHECK_CHARS, WEIGHTS
from phis.algorithms.linkage.text import SURNAME_READINGS, char_pinyin
from phis.algorithms.synthpop import DONGYING_TOWNSHIPS, generate_persons
from phis.algorithms.synthpop.data import COUNTIES, FEMALE_CHARS, MALE_CHARS, VILLAGE_STEMS

COLUMNS = ("record_id", "name", "sex", "birth_date", "id_number", "phone", "address")

# extra common characters so that most name characters have homophones
_EXTRA_CHARS = (
    "维玮炜薇卫尉未味位魏为唯巍微威惟韦伟苇委纬蔚慰渭力丽立利莉历励李黎理礼里俐莉荔"
    "敏民闽珉岷明名鸣铭茗冥静敬境竞镜靖婧晶京精经菁睛井景警颖莹营赢影英鹰樱瑛应婴华"
    "桦骅化画话滑花哗军君钧均俊峻骏竣浚郡菌杰洁捷婕节结劫睫涛韬滔桃陶淘萄焘斌彬滨宾"
    "冰兵秉丙炳超潮朝巢嘲晨辰臣尘陈忱沉宸琛刚纲钢岗港罡平萍苹屏评坪凭辉晖徽挥灰恢慧"
    "惠蕙会汇绘鹏朋彭棚蓬澎飞菲非妃霏啡斐翡鑫欣新心馨芯昕忻辛信波博伯柏泊勃渤宇雨羽"
    "语玉育誉郁裕浩昊皓灏豪号好郝健建剑坚鉴见件舰帆凡繁烦范泛旭序叙绪许续栩宁凝柠"
    "龙隆珑笼陇林琳霖淋麟临阳杨洋扬旸泱峰锋风枫丰封蜂亮良梁凉量粮成诚承城程呈澄东"
    "冬栋董懂洞动博文闻雯纹稳志智治芝枝致至海亥骇新学雪薛春纯淳庆清青晴情卿德得胜"
    "盛圣晟升生声兴星幸杏行红宏虹鸿洪弘泓芳方芬纷娜那纳娟鹃卷霞侠峡秀修绣袖婷庭亭"
    "廷停燕艳雁彦妍研颜岩言倩茜千谦芊佳嘉家加珈怡宜仪谊依梦孟蒙萌琪琦淇祺棋奇其涵"
    "寒含晗萱宣轩喧诗师施狮瑶遥姚谣思斯丝司美梅媚玫淑舒书蔬兰岚蓝澜凤奉枫桂贵瑰"
)


@dataclass
class ErrorRates:
    """Probabilities of each error in a duplicate record (independent draws)."""

    name_homophone: float = 0.12
    surname_homophone: float = 0.03
    name_traditional: float = 0.05
    name_pinyin: float = 0.05
    name_wrong_char: float = 0.02
    id_missing: float = 0.25
    id_typo: float = 0.06
    id_transposition: float = 0.03
    id_legacy15: float = 0.06
    date_missing: float = 0.04
    date_swap: float = 0.04
    date_typo: float = 0.03
    sex_unknown: float = 0.04
    phone_changed: float = 0.15
    phone_missing: float = 0.15
    phone_typo: float = 0.03
    phone_formatted: float = 0.10
    address_moved: float = 0.12
    address_missing: float = 0.08
    address_short: float = 0.30


@dataclass
class LinkageDataset:
    columns: dict[str, list[str]]         # COLUMNS, one list each
    truth: dict[str, str]                 # record_id → entity_id
    kinds: dict[str, str] = field(default_factory=dict)   # entity_id → person/twin/child

    def __len__(self) -> int:
        return len(self.columns["record_id"])

    def records(self) -> list[dict[str, str]]:
        cols = self.columns
        return [{c: cols[c][i] for c in COLUMNS} for i in range(len(self))]

    def write(self, persons_csv: str | os.PathLike, truth_csv: str | os.PathLike | None = None
              ) -> None:
        with open(persons_csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(COLUMNS)
            w.writerows(zip(*(self.columns[c] for c in COLUMNS), strict=True))
        if truth_csv is not None:
            with open(truth_csv, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(("record_id", "entity_id"))
                w.writerows(zip(self.columns["record_id"],
                                (self.truth[r] for r in self.columns["record_id"]), strict=True))


def _check(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


class _Corruptor:
    def __init__(self, rng: np.random.Generator, rates: ErrorRates, townships) -> None:
        self.rng = rng
        self.r = rates
        self.townships = townships
        pool = set(MALE_CHARS + FEMALE_CHARS + _EXTRA_CHARS)
        groups: dict[str, list[str]] = {}
        for ch in sorted(pool):
            groups.setdefault(char_pinyin(ch), []).append(ch)
        self.homophones = {ch: [c for c in g if c != ch] for g in groups.values() for ch in g}
        self.surname_homophones = {"张": "章", "章": "张", "李": "黎", "黎": "李", "王": "汪",
                                   "汪": "王", "杨": "阳", "刘": "柳", "吴": "武", "徐": "许",
                                   "许": "徐", "陈": "程", "林": "凌", "孙": "荪", "于": "余",
                                   "余": "于", "周": "舟", "赵": "照", "郑": "正", "马": "玛",
                                   "姜": "江", "江": "姜", "付": "傅", "傅": "付", "肖": "萧",
                                   "萧": "肖", "闫": "阎", "阎": "闫", "韩": "含", "高": "郜"}
        self.all_chars = sorted(pool)
        import opencc

        self.s2t = opencc.OpenCC("s2t")

    def p(self, x: float) -> bool:
        return bool(self.rng.random() < x)

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    # --- fields ---
    def name(self, surname: str, given: str) -> str:
        r = self.r
        if given and self.p(r.name_homophone):
            k = int(self.rng.integers(len(given)))
            alts = self.homophones.get(given[k])
            if alts:
                given = given[:k] + self.pick(alts) + given[k + 1:]
        if self.p(r.surname_homophone) and surname in self.surname_homophones:
            surname = self.surname_homophones[surname]
        if given and self.p(r.name_wrong_char):
            k = int(self.rng.integers(len(given)))
            given = given[:k] + self.pick(self.all_chars) + given[k + 1:]
        if self.p(r.name_pinyin):
            sp = SURNAME_READINGS.get(surname) or "".join(char_pinyin(c) for c in surname)
            gp = "".join(char_pinyin(c) for c in given)
            style = int(self.rng.integers(5))
            if style == 0:
                return f"{sp.title()} {gp.title()}"
            if style == 1:
                return f"{sp.upper()} {gp.upper()}"
            if style == 2:
                return f"{gp.title()} {sp.title()}"
            if style == 3:
                return f"{sp.upper()} {gp.title()}"
            return f"{gp.title()} {sp.upper()}"
        name = surname + given
        if self.p(r.name_traditional):
            name = self.s2t.convert(name)
        return name

    def id_number(self, idn: str, birth: date) -> str:
        r = self.r
        if not idn or self.p(r.id_missing):
            return ""
        if birth.year < 2000 and self.p(r.id_legacy15):
            return idn[:6] + idn[8:17]
        if self.p(r.id_typo):
            k = int(self.rng.integers(17))
            d = str((int(idn[k]) + int(self.rng.integers(1, 10))) % 10)
            idn = idn[:k] + d + idn[k + 1:]
        elif self.p(r.id_transposition):
            ks = [k for k in range(17) if idn[k] != idn[k + 1]]
            if ks:
                k = self.pick(ks)
                idn = idn[:k] + idn[k + 1] + idn[k] + idn[k + 2:]
        if idn.endswith("X") and self.p(0.3):
            idn = idn[:-1] + "x"
        return idn

    def birth_date(self, b: date) -> str:
        r = self.r
        if self.p(r.date_missing):
            return ""
        y, m, d = b.year, b.month, b.day
        if d <= 12 and d != m and self.p(r.date_swap):
            m, d = d, m
        elif self.p(r.date_typo):
            part = int(self.rng.integers(3))
            if part == 0:
                y = y + int(self.pick([-10, -1, 1, 10]))
            elif part == 1:
                m = self.pick([x for x in range(1, 13) if x != m])
            else:
                d = self.pick([x for x in range(1, 29) if x != d])
        try:
            out = date(y, m, d)
        except ValueError:
            out = b
        if self.p(0.1):
            return out.strftime("%Y%m%d")
        return out.isoformat()

    def sex(self, s: int) -> str:
        if self.p(self.r.sex_unknown):
            return self.pick(["", "0", "9"])
        return str(s)

    def new_phone(self) -> str:
        return "1" + self.pick("3578") + "".join(str(x) for x in self.rng.integers(0, 10, 9))

    def phone(self, ph: str) -> str:
        r = self.r
        if self.p(r.phone_missing):
            return ""
        if self.p(r.phone_changed):
            ph = self.new_phone()
        if not ph:
            return ""
        if self.p(r.phone_typo):
            k = int(self.rng.integers(3, 11))
            ph = ph[:k] + str((int(ph[k]) + 1 + int(self.rng.integers(9))) % 10) + ph[k + 1:]
        if self.p(r.phone_formatted):
            ph = self.pick([f"+86 {ph[:3]} {ph[3:7]} {ph[7:]}", f"{ph[:3]}-{ph[3:7]}-{ph[7:]}",
                            f"86{ph}"])
        return ph

    def new_address(self) -> str:
        t = self.pick(self.townships)
        v = self.pick(VILLAGE_STEMS)
        tail = (f"{v}社区{int(self.rng.integers(1, 40))}号楼{int(self.rng.integers(1, 6))}单元"
                f"{int(self.rng.integers(1, 7)) * 100 + int(self.rng.integers(1, 5))}室"
                if t[1].endswith("街道") else f"{v}村{int(self.rng.integers(1, 300))}号")
        return f"山东省东营市{COUNTIES.get(t[2], '')}{t[1]}{tail}"

    def address(self, a: str) -> str:
        r = self.r
        if self.p(r.address_missing):
            return ""
        if self.p(r.address_moved):
            a = self.new_address()
        if self.p(r.address_short):
            a = a.replace("山东省", "", 1).replace("东营市", "", 1)
        return a


def make_linkage_dataset(n_persons: int, *, seed: int, duplicate_share: float = 0.35,
                         max_duplicates: int = 4, twin_share: float = 0.01,
                         child_share: float = 0.03, rates: ErrorRates | None = None,
                         townships=None, reference_date: date = date(2025, 1, 1)
                         ) -> LinkageDataset:
    """Records of ``n_persons`` synthetic persons (plus generated twins and children), each
    person with one clean record and, for ``duplicate_share`` of them, 1 to
    ``max_duplicates`` corrupted duplicates. Deterministic for a given seed."""
    rng = np.random.default_rng([seed, 7])
    towns = list(townships or DONGYING_TOWNSHIPS)
    persons = generate_persons(n_persons, seed=seed, townships=towns,
                               reference_date=reference_date)
    cols = persons.to_columns()
    cor = _Corruptor(rng, rates or ErrorRates(), towns)
    ents: list[dict] = []
    used_ids = set(cols["id_number"])
    for i in range(n_persons):
        ents.append({"eid": f"P{cols['person_id'][i]}", "kind": "person",
                     "surname": cols["surname"][i],
                     "given": cols["given_name"][i],
                     "sex": cols["sex"][i], "birth": date.fromisoformat(cols["birth_date"][i]),
                     "id": cols["id_number"][i], "phone": cols["phone"][i],
                     "address": cols["address"][i]})
    base = list(ents)
    pool = MALE_CHARS + FEMALE_CHARS

    def new_id(area: str, birth: date, sex: int, near: int | None = None) -> str:
        for attempt in range(50):
            if near is not None and attempt < 10:
                seq = (near + 2 * (attempt + 1)) % 1000
            else:
                seq = int(rng.integers(0, 500)) * 2
            seq = seq - seq % 2 + (1 if sex == 1 else 0)
            first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
            idn = first17 + _check(first17)
            if idn not in used_ids:
                used_ids.add(idn)
                return idn
        return ""

    def sibling_given(given: str, sex: int) -> str:
        chars = MALE_CHARS if sex == 1 else FEMALE_CHARS
        if len(given) == 2 and rng.random() < 0.5:
            return given[0] + chars[int(rng.integers(len(chars)))]
        return "".join(pool[int(rng.integers(len(pool)))] for _ in range(len(given) or 1))

    n_twins = round(twin_share * n_persons)
    for k in rng.choice(n_persons, size=min(n_twins, n_persons), replace=False).tolist():
        p = base[k]
        sex = int(rng.integers(1, 3))
        given = sibling_given(p["given"], sex)
        if given == p["given"]:
            continue
        ents.append({"eid": f"{p['eid']}T", "kind": "twin", "surname": p["surname"],
                     "given": given, "sex": sex, "birth": p["birth"],
                     "id": new_id(p["id"][:6], p["birth"], sex, int(p["id"][14:17])),
                     "phone": p["phone"] if rng.random() < 0.5 else cor.new_phone()
                     if p["phone"] else "", "address": p["address"]})
    n_child = round(child_share * n_persons)
    for k in rng.choice(n_persons, size=min(n_child, n_persons), replace=False).tolist():
        p = base[k]
        birth = p["birth"] + timedelta(days=int(rng.integers(22 * 365, 36 * 365)))
        if birth >= reference_date:
            continue
        sex = int(rng.integers(1, 3))
        given = sibling_given(p["given"], sex)
        minor = (reference_date - birth).days < 18 * 365
        ents.append({"eid": f"{p['eid']}C", "kind": "child", "surname": p["surname"],
                     "given": given, "sex": sex, "birth": birth,
                     "id": new_id(p["id"][:6], birth, sex),
                     "phone": p["phone"] if minor else (cor.new_phone() if rng.random() < 0.9
                                                         else ""),
                     "address": p["address"]})

    rows: list[tuple[str, ...]] = []
    truth_e: list[str] = []
    for e in ents:
        # first record: mostly clean
        rows.append((e["surname"] + e["given"], str(e["sex"]), e["birth"].isoformat(),
                     e["id"] if rng.random() > 0.03 else "", e["phone"],
                     e["address"].replace("山东省", "", 1) if rng.random() < 0.2
                     else e["address"]))
        truth_e.append(e["eid"])
        if rng.random() < duplicate_share:
            extra = min(1 + int(rng.geometric(0.6)) - 1, max_duplicates)
            for _ in range(extra):
                rows.append((cor.name(e["surname"], e["given"]), cor.sex(e["sex"]),
                             cor.birth_date(e["birth"]), cor.id_number(e["id"], e["birth"]),
                             cor.phone(e["phone"]), cor.address(e["address"])))
                truth_e.append(e["eid"])
    n = len(rows)
    rid = (rng.permutation(n) + 1).astype(str).tolist()
    order = np.argsort(np.array(rid, dtype=np.int64), kind="stable").tolist()
    columns: dict[str, list[str]] = {c: [] for c in COLUMNS}
    truth: dict[str, str] = {}
    for i in order:
        columns["record_id"].append(rid[i])
        for c, v in zip(COLUMNS[1:], rows[i], strict=True):
            columns[c].append(v)
        truth[rid[i]] = truth_e[i]
    return LinkageDataset(columns, truth, {e["eid"]: e["kind"] for e in ents})
