"""CSV / Excel batch files of report cards → ``CardInput`` rows (nothing is stored here;
``services.cards_import`` stores them).

Columns (docs/modules/notifiable.md "CSV columns"): the ``CardInput`` field names, or their
Chinese headers as on the national card (``患者姓名``, ``有效证件号`` …); unknown columns are
an error, so a misspelt header is never silently dropped. Dates are ``YYYY-MM-DD`` (also
``YYYY/MM/DD`` and ``YYYYMMDD``), the diagnosis time ``YYYY-MM-DD HH:MM`` (Beijing time).
Excel date cells are read as dates. Row numbers are those of the file (header = row 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from phis.apps.notifiable.inputs import CardInput
from phis.apps.notifiable.services import FieldErrorRow
from phis.core.exceptions import FieldError, ValidationFailed

MAX_ROWS = 50_000
MAX_BYTES = 30 * 1024 * 1024

# Chinese header → field (the card's labels, surveillance.md §2.1).
HEADERS_ZH = {
    "患者姓名": "patient_name", "姓名": "patient_name", "患儿家长姓名": "parent_name",
    "证件类型": "id_type", "有效证件号": "id_number", "身份证号": "id_number",
    "性别": "sex", "出生日期": "birth_date", "年龄": "age_value", "年龄单位": "age_unit",
    "工作单位": "work_unit", "工作单位(学校)": "work_unit", "联系电话": "phone",
    "病人属于": "residence_category", "现住址代码": "address_code",
    "现住址国标": "address_code", "现住址": "address_text", "现住详细地址": "address_text",
    "人群分类": "occupation", "患者职业": "occupation", "其他人群分类": "occupation_other",
    "病种": "disease_code", "疾病名称": "disease_code", "病种分型": "subtype_code",
    "ICD-10编码": "icd10_code", "ICD10": "icd10_code", "其他传染病": "other_disease_text",
    "病例分类": "case_classification", "急性/慢性": "acute_chronic",
    "发病日期": "onset_date", "诊断时间": "diagnosis_at", "诊断日期": "diagnosis_at",
    "死亡日期": "death_date", "报告单位": "reporting_unit_code",
    "报告单位代码": "reporting_unit_code", "填卡医生": "doctor_name",
    "报告单位电话": "reporting_phone", "填卡日期": "filled_date", "备注": "remarks",
    "外部卡片编号": "external_id", "来源系统": "source_system",
}
DATE_FIELDS = ("birth_date", "onset_date", "death_date", "filled_date")
INT_FIELDS = ("sex", "age_value")
SEX_WORDS = {"男": 1, "女": 2, "male": 1, "female": 2, "M": 1, "F": 2}
COLUMNS = tuple(n for n in CardInput.field_names() if n != "extra")


@dataclass
class ParsedFile:
    rows: list[CardInput | FieldErrorRow | None]  # None: a blank line (skipped)
    first_row: int  # file row number of rows[0]
    column_of: dict[str, str]  # CardInput field -> the column header used in the file

    def label(self, errors: list[FieldError]) -> list[FieldError]:
        """Field errors named by the file's own column headers."""
        return [FieldError(self.column_of.get(e.field, e.field), e.code, e.message,
                           e.message_en) for e in errors]


def _bad(field: str, zh: str, en: str) -> FieldError:
    return FieldError(field, "invalid_format", zh, en)


def _parse_date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _parse_datetime(text: str) -> datetime:
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M",
                "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return datetime.combine(_parse_date(text), datetime.min.time())


def map_header(header: list[str]) -> tuple[list[str], list[FieldError]]:
    """Column names → CardInput fields; errors for unknown or repeated columns."""
    fields, errors = [], []
    seen: dict[str, str] = {}
    for i, raw in enumerate(header):
        name = (raw or "").strip().lstrip("\ufeff")
        target = name if name in COLUMNS else HEADERS_ZH.get(name, "")
        if not name:
            fields.append("")
            continue
        if not target:
            errors.append(FieldError(f"column {i + 1}", "unknown_column",
                                     f"未知的列“{name}”", f"Unknown column {name!r}"))
        elif target in seen:
            errors.append(FieldError(name, "duplicate_column",
                                     f"列“{name}”与“{seen[target]}”重复",
                                     f"Column {name!r} repeats {seen[target]!r}"))
        else:
            seen[target] = name
        fields.append(target)
    if not errors and "patient_name" not in seen:
        errors.append(FieldError("header", "missing_columns", "缺少表头或“患者姓名”列",
                                 "The header row or the patient_name column is missing"))
    return fields, errors


def _row_to_input(values: list, fields: list[str], header: list[str]
                  ) -> CardInput | FieldErrorRow:
    data: dict = {}
    errors: list[FieldError] = []
    for i, value in enumerate(values):
        if i >= len(fields) or not fields[i]:
            continue
        name, column = fields[i], (header[i] or "").strip()
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            if name in DATE_FIELDS:
                data[name] = value.date() if isinstance(value, datetime) else (
                    value if isinstance(value, date) else _parse_date(str(value)))
            elif name == "diagnosis_at":
                data[name] = value if isinstance(value, datetime) else (
                    datetime.combine(value, datetime.min.time()) if isinstance(value, date)
                    else _parse_datetime(str(value)))
            elif name in INT_FIELDS:
                text = str(value).strip()
                if name == "sex" and text in SEX_WORDS:
                    data[name] = SEX_WORDS[text]
                else:
                    data[name] = int(float(text)) if isinstance(value, float) else int(text)
            else:
                text = str(value).strip()
                if isinstance(value, float) and value.is_integer():
                    text = str(int(value))  # Excel numbers: ID and phone typed as numbers
                data[name] = text.replace("\x00", "")
        except (ValueError, OverflowError):
            what = "日期" if name in DATE_FIELDS or name == "diagnosis_at" else "数值"
            errors.append(_bad(column, f"{column}：{what}格式无效（{str(value)[:30]}）",
                               f"{column}: invalid {'date' if what == '日期' else 'number'} "
                               f"({str(value)[:30]})"))
    if errors:
        return FieldErrorRow(errors)
    return CardInput(**data)


def parse_csv(content: bytes) -> ParsedFile:
    """A CSV file (UTF-8 with or without BOM, or GB18030 as saved by Chinese Excel)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed([FieldError("file", "encoding", "文件编码无法识别（请用UTF-8）",
                                           "Unknown file encoding (use UTF-8)")])
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed([FieldError("file", "empty", "文件为空",
                                           "The file is empty")]) from None
    except csv.Error as exc:
        raise ValidationFailed([FieldError("file", "invalid_csv", f"CSV格式错误：{exc}",
                                           f"Invalid CSV: {exc}")]) from None
    return _parse_rows(header, reader)


def _parse_rows(header: list, rows: Iterator[list]) -> ParsedFile:
    header = [str(h) if h is not None else "" for h in header]
    fields, errors = map_header(header)
    if errors:
        raise ValidationFailed(errors, message="表头有误", message_en="The header row is invalid")
    parsed: list[CardInput | FieldErrorRow | None] = []
    try:
        for values in rows:
            if not any(v not in (None, "") and str(v).strip() for v in values):
                parsed.append(None)  # a blank line: skipped, numbering kept
                continue
            if len(parsed) >= MAX_ROWS:
                raise ValidationFailed([FieldError("file", "too_many_rows",
                                                   f"一次最多导入{MAX_ROWS}行",
                                                   f"At most {MAX_ROWS} rows per file")])
            if len(values) > len(header):
                parsed.append(FieldErrorRow([FieldError(
                    "row", "too_many_values", "本行的列数多于表头",
                    "This row has more values than the header")]))
                continue
            parsed.append(_row_to_input(list(values), fields, header))
    except csv.Error as exc:
        raise ValidationFailed([FieldError("file", "invalid_csv", f"CSV格式错误：{exc}",
                                           f"Invalid CSV: {exc}")]) from None
    column_of = {f: h.strip().lstrip("\ufeff") for f, h in zip(fields, header, strict=True)
                 if f}
    return ParsedFile(rows=parsed, first_row=2, column_of=column_of)


def parse_xlsx(content: bytes) -> ParsedFile:
    """The first worksheet of an Excel workbook (.xlsx)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ValidationFailed([FieldError("file", "invalid_xlsx",
                                           "无法读取Excel文件（须为.xlsx）",
                                           f"Cannot read the Excel file (.xlsx): {exc}")]) \
            from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        try:
            header = list(next(rows))
        except StopIteration:
            raise ValidationFailed([FieldError("file", "empty", "工作表为空",
                                               "The worksheet is empty")]) from None
        return _parse_rows(header, (list(r) for r in rows))
    finally:
        book.close()


def parse_file(name: str, content: bytes) -> ParsedFile:
    if len(content) > MAX_BYTES:
        raise ValidationFailed([FieldError("file", "too_large", "文件过大（最大30MB）",
                                           "The file is too large (30 MB at most)")])
    lower = (name or "").lower()
    if lower.endswith(".xlsx") or content[:2] == b"PK":
        return parse_xlsx(content)
    if lower.endswith((".csv", ".txt")) or not lower:
        return parse_csv(content)
    raise ValidationFailed([FieldError("file", "unsupported_type", "仅支持CSV或Excel(.xlsx)文件",
                                       "Only CSV or Excel (.xlsx) files are supported")])


def template_csv() -> bytes:
    """An empty CSV with the Chinese headers, for users to fill."""
    reverse: dict[str, str] = {}
    for zh, name in HEADERS_ZH.items():
        reverse.setdefault(name, zh)
    out = io.StringIO()
    csv.writer(out).writerow([reverse.get(n, n) for n in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
