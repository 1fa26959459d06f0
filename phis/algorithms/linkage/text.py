"""Normalisation of Chinese identity data: names (characters, pinyin, variants), dates,
phone numbers and addresses. Everything here works per value and is cached per character
or per distinct value, so a million records normalise in seconds."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import cache, lru_cache

# Surnames: the most frequent single-character surnames (roughly in frequency order) and the
# common compound surnames. Used to tell surname from given name in names written in pinyin.
SURNAME_CHARS = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关"
    "兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻"
    "祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿"
    "桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠"
    "惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉"
    "禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修"
    "邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴"
    "昝智幸奉植衡富尧闭由"
)
COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "令狐", "端木", "轩辕", "申屠", "闻人", "赫连", "澹台", "南宫", "万俟", "独孤", "西门",
)
# Readings of surname characters that differ from their most common reading.
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "朴": "piao", "查": "zha", "区": "ou",
    "盖": "ge", "乐": "yue", "覃": "qin", "员": "yun", "缪": "miao", "翟": "zhai", "召": "shao",
    "尉迟": "yuchi", "万俟": "moqi", "长孙": "zhangsun", "宿": "su", "燕": "yan", "种": "chong",
    "繁": "po", "阚": "kan", "祭": "zhai", "纪": "ji", "折": "she", "句": "gou", "秘": "bi",
}

_HAN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NOT_LETTER_RE = re.compile(r"[^a-z ]+")
_HAN_NAME_RE = re.compile(r"[\u4e00-\u9fff]{1,8}")


@cache
def _t2s_char(ch: str) -> str:
    return _converter().convert(ch)


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


@cache
def char_pinyin(ch: str) -> str:
    """Toneless pinyin of one (simplified) character, ``ü`` written ``v``."""
    if not _HAN_RE.match(ch):
        return ch.lower() if ch.isascii() and ch.isalpha() else ""
    from pypinyin import lazy_pinyin

    return lazy_pinyin(ch)[0]


@cache
def simplify(text: str) -> str:
    """Traditional → simplified, character by character (names need no phrase conversion)."""
    return "".join(_t2s_char(ch) for ch in text)


@cache
def _surname_pinyins() -> frozenset[str]:
    out = {SURNAME_READINGS.get(ch) or char_pinyin(ch) for ch in SURNAME_CHARS}
    out.update(SURNAME_READINGS.get(s) or "".join(char_pinyin(c) for c in s)
               for s in COMPOUND_SURNAMES)
    out.update({"lu", "lyu", "lv"})
    return frozenset(out)


def split_han_name(name: str) -> tuple[str, str]:
    """(surname, given name) of a name in Chinese characters."""
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


def fuzzy_pinyin(py: str) -> str:
    """Merge the sounds most often confused in speech and typing (zh/z, ch/c, sh/s, n/l,
    -ng/-n, ü/u): a key for near-homophones."""
    s = py.replace("zh", "z").replace("ch", "c").replace("sh", "s")
    s = s.replace("ng", "n").replace("l", "n").replace("v", "u").replace("yu", "u")
    return s


class NameKey:
    """Normalised name: ``han`` simplified characters ('' for names written in pinyin),
    ``py`` pinyin surname-first without spaces, ``alt`` the other order for pinyin-written names
    whose order is unclear (else equal to ``py``), ``surname`` pinyin of the surname."""

    __slots__ = ("alt", "han", "py", "surname")

    def __init__(self, han: str, py: str, alt: str, surname: str) -> None:
        self.han, self.py, self.alt, self.surname = han, py, alt, surname

    def __repr__(self) -> str:
        return f"NameKey({self.han!r}, {self.py!r}, {self.alt!r}, {self.surname!r})"


_EMPTY_NAME = NameKey("", "", "", "")


@lru_cache(maxsize=1 << 20)
def name_key(raw: str) -> NameKey:
    """Normalise a person's name written in Chinese characters or in pinyin.

    ``"張偉"``, ``"张伟"``, ``"章伟"`` (homophone) all give pinyin ``zhangwei``; ``"Zhang Wei"``,
    ``"ZHANG WEI"``, ``"Wei ZHANG"`` and ``"Wei Zhang"`` give ``zhangwei`` too (the surname is
    recognised from a list, or from upper case)."""
    if not raw:
        return _EMPTY_NAME
    if _HAN_NAME_RE.fullmatch(raw):  # fast path: a plain name in characters
        han = "".join(map(_t2s_char, raw))
        sur, given = split_han_name(han)
        sur_py = SURNAME_READINGS.get(sur) or "".join(map(char_pinyin, sur))
        py = sur_py + "".join(map(char_pinyin, given))
        return NameKey(han, py, py, sur_py)
    s = unicodedata.normalize("NFKC", raw).strip()
    s = s.replace("·", "").replace("•", "").replace("・", "").replace(".", " ")
    han_chars = [ch for ch in s if _HAN_RE.match(ch)]
    if han_chars and len(han_chars) >= sum(ch.isalpha() for ch in s) / 2:
        han = simplify("".join(han_chars))
        sur, given = split_han_name(han)
        sur_py = SURNAME_READINGS.get(sur) or "".join(char_pinyin(c) for c in sur)
        py = sur_py + "".join(char_pinyin(c) for c in given)
        return NameKey(han, py, py, sur_py)
    # written in pinyin (or another Latin script)
    upper_tokens = [t for t in re.split(r"[\s,]+", s) if t]
    deaccent = "".join(ch for ch in unicodedata.normalize("NFKD", s.lower())
                       if not unicodedata.combining(ch)).replace("ü", "v")
    comma = "," in deaccent
    tokens = [t for t in _NOT_LETTER_RE.sub(" ", deaccent.replace("-", "")).split() if t]
    if not tokens:
        return _EMPTY_NAME
    if len(tokens) == 1:
        return NameKey("", tokens[0], tokens[0], "")
    first, last = tokens[0], tokens[-1]
    surnames = _surname_pinyins()
    fwd = first + "".join(tokens[1:])
    rev = last + "".join(tokens[:-1])
    if comma:
        order = "fwd"
    elif len(upper_tokens) == len(tokens) and upper_tokens[-1].isupper() and not (
            upper_tokens[0].isupper()):
        order = "rev"          # "Wei ZHANG"
    elif len(upper_tokens) == len(tokens) and upper_tokens[0].isupper() and not (
            upper_tokens[-1].isupper()):
        order = "fwd"          # "ZHANG Wei"
    elif first in surnames and last not in surnames:
        order = "fwd"
    elif last in surnames and first not in surnames:
        order = "rev"
    else:
        return NameKey("", fwd, rev, first)
    return NameKey("", fwd, fwd, first) if order == "fwd" else NameKey("", rev, rev, last)


# ---- dates ---------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^\s*(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?\s*$")


def parse_date(raw: str | None) -> date | None:
    """``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY/M/D``, ``YYYY年M月D日``; None when empty.

    Raises ValueError for a non-empty value that is not a real date."""
    if raw is None or not raw.strip():
        return None
    m = _DATE_RE.match(raw)
    if not m:
        raise ValueError(f"not a date: {raw!r}")
    y, mo, d = (int(g) for g in m.groups())
    return date(y, mo, d)


# ---- phones --------------------------------------------------------------------------------

def normalize_phone(raw: str | None) -> str:
    """Digits only; country code 86 removed from mobiles; '' when fewer than 7 digits."""
    if not raw:
        return ""
    if len(raw) == 11 and raw.isdigit() and raw.isascii():
        return raw
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", raw) if ch.isdigit())
    if digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    return digits if len(digits) >= 7 else ""


# ---- addresses -----------------------------------------------------------------------------

_ADDR_RE = re.compile(
    r"^(?:[^省]{2,7}?(?:省|自治区))?(?:[^市]{2,7}?市(?!辖))?"
    r"(?P<county>[^省市区县]{1,7}?(?:区|县|市|旗))?"
    r"(?P<town>[^区县镇乡]{1,8}?(?:街道办事处|街道|镇|乡))?(?P<rest>.*)$"
)


@lru_cache(maxsize=1 << 20)
def parse_address(raw: str) -> tuple[str, str, str]:
    """(county, township, normalised full address). County and township are '' when they
    cannot be recognised; the full address loses spaces, punctuation and the province/city
    prefix so that "山东省东营市东营区文汇街道…" and "东营区文汇街道…" compare equal."""
    if not raw:
        return "", "", ""
    s = unicodedata.normalize("NFKC", raw)
    s = re.sub(r"[\s,，。.、#\-()（）]+", "", s)
    m = _ADDR_RE.match(s)
    if not m:
        return "", "", s
    county = m.group("county") or ""
    town = (m.group("town") or "").replace("街道办事处", "街道")
    rest = m.group("rest") or ""
    return county, town, county + town + rest
