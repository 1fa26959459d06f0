"""The ``phis-nidrs/1`` layout: round trip (hypothesis), tamper detection, record problems.
No database: these run without Django."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phis.interop import nidrs
from phis.interop.nidrs.layout import DATE_FIELDS, DATETIME_FIELDS

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 1, 15, 9, 30, tzinfo=CST)

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:/-]{0,20}\Z")
codes = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,10}\Z")
aware = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.sampled_from([UTC, CST, timezone(timedelta(hours=-5))]))
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1))
json_scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | text


@st.composite
def cards(draw) -> nidrs.CardFields:
    values = {}
    for name in nidrs.CardFields.names():
        if name in DATE_FIELDS:
            values[name] = draw(st.none() | dates)
        elif name in DATETIME_FIELDS:
            values[name] = draw(st.none() | aware)
        elif name in ("sex", "age_value"):
            values[name] = draw(st.none() | st.integers(0, 200))
        elif name == "extra":
            values[name] = draw(st.dictionaries(st.text(max_size=8), json_scalars, max_size=3))
        else:
            values[name] = draw(text)
    return nidrs.CardFields(**values)


card_records = st.builds(nidrs.CardRecord, record_id=ids, version=st.integers(1, 10**6),
                         operation=st.sampled_from(nidrs.OPERATIONS), card=cards(),
                         reason=text)
problems = st.builds(nidrs.FieldProblem, field=text, code=text, message=text, message_en=text)
ack_records = st.builds(nidrs.AckRecord, record_id=ids, version=st.integers(1, 10**6),
                        result=st.sampled_from((nidrs.RESULT_ACCEPTED, nidrs.RESULT_REJECTED,
                                                nidrs.RESULT_DUPLICATE)),
                        code=text, reason=text, reason_en=text, line=st.integers(0, 10**5),
                        receiver_ref=text, errors=st.lists(problems, max_size=3).map(tuple))


@settings(max_examples=60, deadline=None)
@given(records=st.lists(card_records, max_size=5), sender=codes, receiver=codes,
       batch_id=codes, created=aware, digest=st.sampled_from([nidrs.DIGEST_SM3,
                                                              nidrs.DIGEST_SHA256]),
       key=st.none() | st.binary(min_size=1, max_size=32))
def test_card_batch_round_trip_is_identity(records, sender, receiver, batch_id, created,
                                           digest, key):
    header, data = nidrs.serialise_batch(kind=nidrs.KIND_CARDS, sender=sender,
                                         receiver=receiver, batch_id=batch_id,
                                         created_at=created, records=records,
                                         digest_algorithm=digest, mac_key=key)
    parsed = nidrs.parse_batch(data, mac_key=key)
    assert parsed.problems == ()
    assert parsed.header == header
    assert list(parsed.records) == records
    assert parsed.lines == tuple(range(2, len(records) + 2))


@settings(max_examples=40, deadline=None)
@given(records=st.lists(ack_records, max_size=5), result=st.sampled_from(["accepted",
                                                                          "rejected"]))
def test_ack_batch_round_trip_is_identity(records, result):
    header, data = nidrs.serialise_batch(kind=nidrs.KIND_ACK, sender="370000",
                                         receiver="370500", batch_id="A-1", created_at=NOW,
                                         records=records, ack_of="B-1", batch_result=result,
                                         batch_code="x" if result == "rejected" else "")
    parsed = nidrs.parse_batch(data)
    assert parsed.header == header
    assert list(parsed.records) == records


def _sample_record(record_id: str = "37050220260001", version: int = 1):
    card = nidrs.CardFields(
        card_number=record_id, patient_name="张三", id_type="01",
        id_number="370502199001011234", sex=1, birth_date=date(1990, 1, 1),
        address_code="370502001", occupation="09", disease_code="hfmd",
        case_classification="2", onset_date=date(2026, 1, 10),
        diagnosis_at=datetime(2026, 1, 11, 10, 0, tzinfo=CST), reporting_unit_code="F1",
        doctor_name="李医生", filled_date=date(2026, 1, 11), residence_category="1")
    return nidrs.CardRecord(record_id=record_id, version=version, operation=nidrs.OP_ADD,
                            card=card)


def _batch(records=None, key=None):
    return nidrs.serialise_batch(kind=nidrs.KIND_CARDS, sender="370500", receiver="370000",
                                 batch_id="B1", created_at=NOW,
                                 records=records or [_sample_record()], mac_key=key)


def test_file_is_utf8_json_lines_with_header_first():
    header, data = _batch()
    lines = data.decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 3
    head = json.loads(lines[0])
    assert head["layout"] == "phis-nidrs/1" and head["record_count"] == 1
    assert "张三" in lines[1]  # UTF-8 as is, not \u escapes
    assert nidrs.file_name(header) == "CARDS_370500_370000_B1.jsonl"
    assert head["body_digest"] == nidrs.body_digest((lines[1] + "\n").encode(),
                                                    head["digest_algorithm"])


def test_changed_body_byte_rejects_the_whole_batch():
    _, data = _batch()
    tampered = data.replace("张三".encode(), "李四".encode())
    with pytest.raises(nidrs.BatchError) as exc:
        nidrs.parse_batch(tampered)
    assert exc.value.code == "digest_mismatch"
    assert exc.value.header is not None and exc.value.header.batch_id == "B1"


def test_dropped_record_is_detected():
    _, data = _batch([_sample_record("A1"), _sample_record("A2")])
    lines = data.split(b"\n")
    with pytest.raises(nidrs.BatchError) as exc:
        nidrs.parse_batch(b"\n".join([lines[0], lines[1], b""]))
    assert exc.value.code == "digest_mismatch"


def test_forged_digest_is_caught_by_the_mac():
    key = b"shared-secret"
    _, data = _batch(key=key)
    head, _, body = data.partition(b"\n")
    body = body.replace("张三".encode(), "李四".encode())
    header = json.loads(head)
    header["body_digest"] = nidrs.body_digest(body, header["digest_algorithm"])
    forged = json.dumps(header, ensure_ascii=False).encode() + b"\n" + body
    assert nidrs.parse_batch(forged).records[0].card.patient_name == "李四"  # digest alone
    with pytest.raises(nidrs.BatchError) as exc:
        nidrs.parse_batch(forged, mac_key=key)
    assert exc.value.code == "mac_mismatch"
    with pytest.raises(nidrs.BatchError) as exc:
        nidrs.parse_batch(_batch()[1], mac_key=key)
    assert exc.value.code == "mac_missing"


@pytest.mark.parametrize("content,code", [
    (b"", "empty"),
    (b"not json\n", "header_unreadable"),
    (b'{"layout": "other/9"}\n', "layout_unsupported"),
    (b'{"layout": "phis-nidrs/1", "kind": "cards"}\n', "header_invalid"),
])
def test_unreadable_headers(content, code):
    with pytest.raises(nidrs.BatchError) as exc:
        nidrs.parse_batch(content)
    assert exc.value.code == code


def test_count_mismatch():
    _, data = _batch()
    head = json.loads(data.split(b"\n")[0])
    head["record_count"] = 2
    body = data.partition(b"\n")[2]
    with pytest.raises(nidrs.BatchError) as exc:
        nidrs.parse_batch(json.dumps(head).encode() + b"\n" + body)
    assert exc.value.code == "count_mismatch"


def _with_body(lines: list[bytes]) -> bytes:
    body = b"".join(line + b"\n" for line in lines)
    header = nidrs.BatchHeader(kind="cards", sender="S", receiver="R", batch_id="B",
                               created_at=NOW, record_count=len(lines),
                               digest_algorithm="SHA-256",
                               body_digest=nidrs.body_digest(body, "SHA-256"))
    head = {k: (nidrs.format_datetime(v) if isinstance(v, datetime) else v)
            for k, v in header.__dict__.items()}
    return json.dumps(head).encode() + b"\n" + body


def test_one_bad_line_does_not_sink_the_others():
    good = json.dumps(nidrs.record_to_dict(_sample_record())).encode()
    bad_type = json.loads(good)
    bad_type["card"]["onset_date"] = "10/01/2026"
    bad_type["card"]["shoe_size"] = 42
    parsed = nidrs.parse_batch(_with_body([b"{broken", good,
                                           json.dumps(bad_type).encode()]))
    assert [r.record_id for r in parsed.records] == ["37050220260001"]
    assert parsed.lines == (3,)
    assert [p.line for p in parsed.problems] == [2, 4]
    fields = {e.field for e in parsed.problems[1].errors}
    assert fields == {"card.onset_date", "card.shoe_size"}
    assert parsed.problems[1].record_id == "37050220260001"


def test_validation_of_mandatory_fields_and_date_order():
    assert nidrs.validate_card_record(_sample_record()) == []
    record = _sample_record()
    broken = replace(record, card=replace(record.card, patient_name="", sex=5,
                                          onset_date=date(2026, 1, 12),
                                          address_code="37"))
    fields = {p.field for p in nidrs.validate_card_record(broken)}
    assert fields == {"card.patient_name", "card.sex", "card.diagnosis_at",
                      "card.address_code"}
    deletion = nidrs.CardRecord(record_id="X", version=3, operation=nidrs.OP_DELETE,
                                card=nidrs.CardFields())
    assert [p.code for p in nidrs.validate_card_record(deletion)] == ["required"]
    assert nidrs.validate_card_record(replace(deletion, reason="重卡")) == []


def test_naive_datetimes_are_refused_when_writing():
    record = _sample_record()
    naive = replace(record, card=replace(record.card, diagnosis_at=datetime(2026, 1, 1)))
    with pytest.raises(ValueError):
        _batch([naive])
