"""The English catalogue is complete and in use.

Source strings (msgids) are Chinese; ``locale/en/LC_MESSAGES/django.po`` holds the English.
These tests fail when a string has no English (untranslated or fuzzy), when a ``{% trans %}``
/ ``_("…")`` in the code is missing from the catalogue (``phis makemessages`` not re-run),
when the committed ``.mo`` is stale (``phis compilemessages`` not re-run), and when an
English page still shows Chinese. How to fix: docs/modules/ui.md "Translations".
"""

from __future__ import annotations

import ast
import gettext
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

PO_PATH = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
BASE_DIR = Path(settings.BASE_DIR)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{\w*\}")
HOW_TO_FIX = (
    "run `phis makemessages -l en --ignore=node_modules/* --ignore=.venv/* "
    "--ignore=var/*`, translate in locale/en/LC_MESSAGES/django.po, then "
    "`phis compilemessages --ignore=.venv`"
)
# Same folders makemessages is told to skip.
SKIP_DIRS = {"node_modules", ".venv", "var", ".git", "__pycache__", "locale"}


# --- a small PO reader (polib is not a dependency) ----------------------------------------


class Entry:
    def __init__(self):
        self.flags: set[str] = set()
        self.msgctxt: str | None = None
        self.msgid: str | None = None
        self.msgid_plural: str | None = None
        self.msgstr: dict[int, str] = {}
        self.obsolete = False
        self.line = 0


def _unquote(s: str) -> str:
    return ast.literal_eval(s)  # PO strings use C escapes, which Python reads the same way


def read_po(path: Path) -> list[Entry]:
    entries: list[Entry] = []
    entry, key = Entry(), None

    def flush():
        nonlocal entry, key
        if entry.msgid is not None:
            entries.append(entry)
        entry, key = Entry(), None

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            if entry.msgid is not None:
                flush()
            entry.flags |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#"):
            if entry.msgid is not None:
                flush()
            continue
        m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
        if m:
            word, index, value = m.group(1), m.group(2), _unquote(m.group(3))
            if word in ("msgctxt", "msgid") and entry.msgid is not None and entry.msgstr:
                flush()  # a new entry without a blank line before it
            if word.startswith("msgstr"):
                key = ("msgstr", int(index or 0))
                entry.msgstr[key[1]] = value
            else:
                key = (word, None)
                setattr(entry, word, value)
                if word == "msgid":
                    entry.line = lineno
        elif line.startswith('"') and key is not None:
            if key[0] == "msgstr":
                entry.msgstr[key[1]] += _unquote(line)
            else:
                setattr(entry, key[0], getattr(entry, key[0]) + _unquote(line))
    flush()
    return [e for e in entries if not e.obsolete]


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    assert PO_PATH.exists(), f"no English catalogue at {PO_PATH}: {HOW_TO_FIX}"
    return read_po(PO_PATH)


def _messages(entries):
    return [e for e in entries if e.msgid != ""]


# --- (a) the catalogue -----------------------------------------------------------------


def test_catalogue_is_complete(catalogue):
    messages = _messages(catalogue)
    assert len(messages) > 200  # the reader really read the file
    untranslated = [
        e.msgid for e in messages if not e.msgstr or any(not s.strip() for s in e.msgstr.values())
    ]
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    assert not untranslated, f"untranslated: {untranslated}; {HOW_TO_FIX}"
    assert not fuzzy, f"fuzzy (check, then remove '#, fuzzy'): {fuzzy}"
    header = next(e for e in catalogue if e.msgid == "")
    assert "fuzzy" not in header.flags, "the header is still fuzzy: Django would ignore the file"
    assert "Language: en" in header.msgstr[0]


def test_translations_are_english_and_keep_placeholders(catalogue):
    for e in _messages(catalogue):
        sources = [e.msgid] if e.msgid_plural is None else [e.msgid, e.msgid_plural]
        wanted = {p for s in sources for p in PLACEHOLDER.findall(s)}
        if e.msgid_plural is not None:
            assert len(e.msgstr) == 2, f"{e.msgid!r}: English needs two plural forms"
        for text in e.msgstr.values():
            assert not CJK.search(text), f"{e.msgid!r} → {text!r} still has Chinese"
            assert set(PLACEHOLDER.findall(text)) == wanted, (
                f"{e.msgid!r} → {text!r}: placeholders must be kept exactly"
            )


def test_compiled_catalogue_matches(catalogue):
    assert MO_PATH.exists(), f"no {MO_PATH.name}: run `phis compilemessages --ignore=.venv`"
    with MO_PATH.open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    stale = []
    for e in _messages(catalogue):
        if e.msgid_plural is None:
            key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
            if mo.gettext(key) != e.msgstr[0]:
                stale.append(e.msgid)
        elif e.msgctxt is None and (
            mo.ngettext(e.msgid, e.msgid_plural, 1) != e.msgstr[0]
            or mo.ngettext(e.msgid, e.msgid_plural, 2) != e.msgstr[1]
        ):
            stale.append(e.msgid)
    assert not stale, f"django.mo is out of date for {stale}: run `phis compilemessages`"


# --- every marked string in the code is in the catalogue -------------------------------

_TRANS_TAG = re.compile(
    r"""\{%\s*trans(?:late)?\s+("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    r"""(?P<rest>[^%]*)%\}"""
)
_BLOCK = re.compile(
    r"\{%\s*blocktrans(?:late)?\b(?P<args>[^%]*)%\}(?P<body>.*?)"
    r"\{%\s*(?:plural|endblocktrans(?:late)?)\s*%\}",
    re.S,
)
_VAR = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "gettext_noop"}


def _source_files(suffixes):
    for top in ("phis", "config"):
        for root, dirs, files in os.walk(BASE_DIR / top):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
            for name in files:
                path = Path(root) / name
                # .txt only as templates (e-mail/SMS bodies), not the code-system data files
                if path.suffix in suffixes and (path.suffix != ".txt" or "templates" in path.parts):
                    yield path


def _template_msgids(text):
    for m in _TRANS_TAG.finditer(text):
        if "context" not in m.group("rest") and "noop" not in m.group("rest"):
            yield ast.literal_eval(m.group(1)) if m.group(1)[0] == '"' else m.group(1)[1:-1]
    for m in _BLOCK.finditer(text):
        args, body = m.group("args"), m.group("body")
        if "context" in args or "{%" in body:
            continue
        body = body.replace("%", "%%")
        if "trimmed" in args.split():
            body = " ".join(line.strip() for line in body.strip().splitlines() if line.strip())
        yield _VAR.sub(lambda v: f"%({v.group(1)})s", body)


def _python_msgids(text):
    if "gettext" not in text:  # `_` is always imported as some gettext
        return
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        arg = node.args[0]
        if name in _GETTEXT_NAMES and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            yield arg.value


def test_every_marked_string_is_in_the_catalogue(catalogue):
    known = {e.msgid for e in catalogue}
    missing = set()
    for path in _source_files({".html", ".txt"}):
        missing |= {
            (str(path.relative_to(BASE_DIR)), s)
            for s in _template_msgids(path.read_text(encoding="utf-8"))
            if s and s not in known
        }
    for path in _source_files({".py"}):
        missing |= {
            (str(path.relative_to(BASE_DIR)), s)
            for s in _python_msgids(path.read_text(encoding="utf-8"))
            if s and s not in known
        }
    assert not missing, f"not in the English catalogue: {sorted(missing)}; {HOW_TO_FIX}"


# --- (b), (c) pages in English ----------------------------------------------------------


class VisibleText(HTMLParser):
    """Text a user sees or hears: text nodes, the title and labelling attributes, leaving out
    scripts, styles and the language switch (its "中文" button is meant to be Chinese)."""

    ATTRS = ("placeholder", "aria-label", "title", "alt")

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style") or (
            tag == "form" and (attrs.get("action") or "").startswith("/i18n/")
        ):
            self._skip.append(tag)
        if not self._skip:
            self.parts += [attrs[a] for a in self.ATTRS if attrs.get(a)]

    def handle_endtag(self, tag):
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.parts


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.mark.django_db
def test_login_page_in_english(english):
    response = english.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en"' in html
    parts = visible_text(html)
    for label in (
        "Log in",
        "Username",
        "Password",
        "Log in to the Dongying Public Health Information System",
    ):
        assert label in parts, f"{label!r} not on the English login page: {parts}"
    chinese = [p for p in parts if CJK.search(p)]
    assert not chinese, f"Chinese left on the English login page: {chinese}"


@pytest.mark.django_db
def test_login_page_defaults_to_chinese(client):
    parts = visible_text(client.get("/accounts/login/").content.decode())
    assert "登录" in parts and "Log in" not in parts


def test_home_page_in_english_shows_role(english, tree, make_user):
    from phis.core.accounts.permissions import Role

    user = make_user(Role.COUNTY_CDC_REVIEWER, tree.facilities["370502CDC"])
    english.force_login(user)
    response = english.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "County CDC reviewer" in html
    assert "县区疾控审核员" not in html
    parts = visible_text(html)
    assert f"Hello, {user.display_name}" in parts
    # Chinese may remain only in data (the user's and the organization's names) and in the
    # portal cards, which show each module's Chinese title under the English one on purpose.
    from phis.core.ui.portal import modules_for

    allowed = {user.display_name, user.org_unit.name} | {m["title"] for m in modules_for(user)}
    for part in parts:
        rest = part
        for value in sorted(allowed, key=len, reverse=True):
            rest = rest.replace(value, "")
        assert not CJK.search(rest), f"Chinese UI text on the English home page: {part!r}"
