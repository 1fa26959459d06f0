import pytest

from phis.core.exceptions import ValidationFailed
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import scope_queryset, user_scope_paths
from phis.core.orgunits.services import divisions_load, facility_create

pytestmark = pytest.mark.django_db


def test_real_dongying_tree_loads_idempotently():
    first = divisions_load()
    assert (first.counties, first.townships, first.communities) == (7, 52, 1921)
    again = divisions_load()
    assert again == first
    assert OrgUnit.objects.count() == 1 + 7 + 52 + 1921
    counties = dict(OrgUnit.objects.filter(level=Level.COUNTY).values_list("code", "name"))
    assert counties == {"370502": "东营区", "370503": "河口区", "370505": "垦利区",
                        "370522": "利津县", "370523": "广饶县",
                        "370571": "东营经济技术开发区", "370572": "东营港经济开发区"}
    # statistical counts per county (surveillance.md §11)
    per_county = {c: OrgUnit.objects.filter(level=Level.TOWNSHIP, parent__code=c).count()
                  for c in counties}
    assert per_county == {"370502": 11, "370503": 8, "370505": 11, "370522": 9,
                          "370523": 11, "370571": 1, "370572": 1}
    wenhui = OrgUnit.objects.get(code="370502001")
    assert wenhui.name == "文汇街道" and wenhui.path == "/370500/370502/370502001/"
    assert OrgUnit.objects.get(code="370502001011").name == "东营社区居委会"
    # positions lie inside the city's bounding box and are flagged approximate
    for t in OrgUnit.objects.filter(level=Level.TOWNSHIP):
        assert 36.9 < t.latitude < 38.2 and 118.0 < t.longitude < 119.3
        assert t.position_approximate
    assert sum(t.population for t in OrgUnit.objects.filter(level=Level.TOWNSHIP)) == \
        pytest.approx(2193518, rel=0.001)


def test_subtree_is_one_prefix_query(tree, make_user, django_assert_num_queries):
    user = make_user("county_cdc_reviewer", tree.facilities["370502CDC"], jurisdiction=tree.dy)
    assert user_scope_paths(user) == ["/370500/370502/"]  # the CDC lies inside the county
    with django_assert_num_queries(1):
        codes = set(scope_queryset(OrgUnit.objects.all(), user, "parent")
                    .values_list("code", flat=True))
    assert "370502001" in codes and "370523001" not in codes


def test_facility_validation(tree):
    with pytest.raises(ValidationFailed) as info:
        facility_create(code="F370502CDC", name="", facility_type="spaceport", parent=tree.dy)
    assert {e.field for e in info.value.errors} == {"code", "name", "facility_type"}
    school = facility_create(code="F370502001X", name="文汇小学", facility_type="school",
                             parent=tree.dy_township)
    assert school.path == "/370500/370502/370502001/F370502001X/"


def test_org_api_and_page(api_client, client, make_user, tree):
    user = make_user("clinician", tree.facilities["370502H1"])
    api = api_client.login(user)
    r = api.get("/orgunits/370502/children")
    assert r.status_code == 200
    assert {u["code"] for u in r.json()} >= {"370502001", "F370502CDC"}
    assert api.get("/orgunits/nope").status_code == 404
    assert api.get("/orgunits", q="广饶").json()[0]["code"] == "370523"
    page = client.get("/orgunits/370502/")
    assert page.status_code == 200 and "文汇街道" in page.content.decode()
