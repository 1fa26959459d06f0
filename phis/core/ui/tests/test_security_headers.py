import pytest

pytestmark = pytest.mark.django_db


def test_headers_on_pages_and_api(client, make_user, tree):
    for path in ("/accounts/login/", "/health"):
        r = client.get(path)
        assert "script-src 'self'" in r["Content-Security-Policy"]
        assert "unsafe-inline" not in r["Content-Security-Policy"].split("script-src")[1] \
            .split(";")[0]
        assert r["X-Frame-Options"] == "DENY"
        assert r["X-Content-Type-Options"] == "nosniff"
        assert r["Referrer-Policy"] == "same-origin"
        assert "camera=()" in r["Permissions-Policy"]
    client.force_login(make_user("clinician", tree.facilities["370502H1"]))
    for path in ("/", "/api/persons?name=x"):
        r = client.get(path)
        assert "no-store" in r["Cache-Control"]


def test_no_inline_scripts_in_templates():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[3]
    offenders = []
    for template in (root / "phis").glob("**/templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "application/json" not in tag:
                offenders.append(f"{template}: {tag}")
        if re.search(r'\son[a-z]+="', text):
            offenders.append(f"{template}: inline event handler")
    assert not offenders, offenders
