import json
from unittest import mock

import pytest
import requests

from phis.core.notify.backends import (
    ConsoleSmsBackend,
    FileSmsBackend,
    HttpSmsBackend,
    SmsError,
    sms_backend,
)


def test_file_backend_appends_json_lines(settings, tmp_path):
    settings.PHIS_NOTIFY_FILE_DIR = str(tmp_path / "sms")
    backend = FileSmsBackend()
    backend.send(number="13800000001", text="您好", message_id="phis-1")
    backend.send(number="13800000002", text="second", message_id="phis-2")
    files = list((tmp_path / "sms").glob("sms-*.jsonl"))
    lines = [json.loads(x) for x in files[0].read_text(encoding="utf-8").splitlines()]
    assert [(x["to"], x["text"], x["id"]) for x in lines] == [
        ("13800000001", "您好", "phis-1"), ("13800000002", "second", "phis-2")]


def test_console_backend(capsys):
    ConsoleSmsBackend().send(number="1", text="hi", message_id="phis-3")
    assert json.loads(capsys.readouterr().out)["sms"]["to"] == "1"


def test_backend_choice(settings):
    settings.PHIS_SMS_BACKEND = "file"
    assert isinstance(sms_backend(), FileSmsBackend)
    settings.PHIS_SMS_BACKEND = "phis.core.notify.backends.HttpSmsBackend"
    assert isinstance(sms_backend(), HttpSmsBackend)


class _Response:
    def __init__(self, status_code: int, text: str = "") -> None:
        self.status_code = status_code
        self.text = text


@pytest.fixture
def gateway(settings):
    settings.PHIS_SMS_GATEWAY_URL = "https://sms.example.invalid/send"
    settings.PHIS_SMS_GATEWAY_TOKEN = "tok-123"
    with mock.patch("phis.core.notify.backends.requests.post") as post:
        yield post


def test_http_backend_posts_json_with_bearer_token(gateway):
    gateway.return_value = _Response(200, "ok")
    HttpSmsBackend().send(number="13800000001", text="测试", message_id="phis-9")
    args, kwargs = gateway.call_args
    assert args == ("https://sms.example.invalid/send",)
    assert kwargs["json"] == {"to": "13800000001", "text": "测试", "id": "phis-9"}
    assert kwargs["headers"] == {"Authorization": "Bearer tok-123"}
    assert kwargs["timeout"] == 10


def test_http_backend_raises_on_error_status_and_network_error(gateway):
    gateway.return_value = _Response(503, "busy")
    with pytest.raises(SmsError, match="503"):
        HttpSmsBackend().send(number="1", text="x", message_id="phis-1")
    gateway.side_effect = requests.ConnectionError("refused")
    with pytest.raises(SmsError, match="unreachable"):
        HttpSmsBackend().send(number="1", text="x", message_id="phis-1")


def test_http_backend_needs_url(settings):
    settings.PHIS_SMS_GATEWAY_URL = ""
    with pytest.raises(SmsError):
        HttpSmsBackend().send(number="1", text="x", message_id="phis-1")


@pytest.mark.django_db
def test_http_gateway_end_to_end_with_retry(gateway, settings, alice):
    from datetime import timedelta

    from django.utils import timezone

    from phis.core.notify.models import Delivery, DeliveryStatus
    from phis.core.notify.services import deliveries_send, notification_send

    settings.PHIS_SMS_BACKEND = "http"
    notification_send(recipients=[alice], title="疫情预警", body="请核实", channels=("sms",))
    t = timezone.now()
    gateway.return_value = _Response(500, "down")
    assert deliveries_send(now=t).retried == 1
    gateway.return_value = _Response(200, "ok")
    assert deliveries_send(now=t + timedelta(minutes=1)).sent == 1
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert gateway.call_count == 2
    assert {c.kwargs["json"]["id"] for c in gateway.call_args_list} == {
        f"phis-{Delivery.objects.get().pk}"}
