import pytest

from phis.core.notify.services import notification_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_alice(client, alice):
    client.force_login(alice)
    return client


def test_inbox_pages_unread_and_mark_read(client_alice, alice, bob):
    for i in range(25):
        notification_send(recipients=[alice], title=f"消息{i}", title_en=f"Message {i}")
    notification_send(recipients=[bob], title="别人的", title_en="Someone else's")
    page = client_alice.get("/api/notifications?page=2&page_size=20").json()
    assert page["count"] == 25 and len(page["items"]) == 5
    assert page["items"][-1]["title"] == "消息0"
    assert client_alice.get("/api/notifications/unread-count").json() == {"unread": 25}

    first = page["items"][0]["id"]
    r = client_alice.post(f"/api/notifications/{first}/read")
    assert r.status_code == 200 and r.json()["read_at"]
    assert client_alice.get("/api/notifications/unread-count").json() == {"unread": 24}
    unread = client_alice.get("/api/notifications?unread=true&page_size=100").json()
    assert unread["count"] == 24

    assert client_alice.post("/api/notifications/read-all").json() == {"marked": 24}


def test_cannot_read_someone_elses_message(client_alice, bob):
    other, = notification_send(recipients=[bob], title="别人的")
    r = client_alice.post(f"/api/notifications/{other.pk}/read")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_bad_paging_is_a_422_and_anonymous_is_401(client, client_alice):
    r = client_alice.get("/api/notifications?page=0")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "page"
    client.logout()
    assert client.get("/api/notifications/unread-count").status_code == 401
