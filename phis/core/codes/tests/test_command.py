from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def test_load_and_search(codes):
    out = StringIO()
    call_command("codes", "load", stdout=out)
    assert "icd10" in out.getvalue() and "unchanged" in out.getvalue()
    out = StringIO()
    call_command("codes", "search", "霍乱", "--system", "notifiable-disease", stdout=out)
    assert out.getvalue().startswith("cholera")


def test_unknown_system(codes):
    with pytest.raises(CommandError):
        call_command("codes", "search", "x", "--system", "nope")
    with pytest.raises(CommandError):
        call_command("codes", "load", "--system", "nope")
