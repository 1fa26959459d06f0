import pytest
from django.core.management import call_command
from stdnum.cn import ric

from phis.core.accounts.models import User
from phis.core.accounts.permissions import Role
from phis.core.crypto.fields import decrypt_text
from phis.core.orgunits.models import FacilityType, Level, OrgUnit
from phis.core.people.models import Person, PersonIdentifier

pytestmark = pytest.mark.django_db


def test_demo_city_is_complete_and_deterministic():
    call_command("demo", persons=1500, no_progress=True, seed=7)
    # facilities of every type, in every county
    types = set(OrgUnit.objects.filter(level=Level.FACILITY).values_list("facility_type",
                                                                          flat=True))
    assert types == set(FacilityType.values)
    for county in OrgUnit.objects.filter(level=Level.COUNTY):
        assert OrgUnit.objects.filter(level=Level.FACILITY, path__startswith=county.path,
                                      facility_type=FacilityType.HOSPITAL).exists()
    assert OrgUnit.objects.filter(facility_type=FacilityType.AMBULANCE_STATION).count() == 20
    # a user for every role
    assert set(User.objects.values_list("role", flat=True)) >= set(Role.values)
    # persons: valid IDs matching sex and birth date, living in communities
    # the registry, plus the new persons the MPI examples created (their own review items)
    from phis.core.people.models import PersonLink

    mpi_new = PersonLink.objects.filter(source="demo-his", outcome__in=("created", "review"))
    assert Person.objects.count() == 1500 + mpi_new.count()
    assert PersonIdentifier.objects.filter(source="demo").count() == 1500
    for ident in PersonIdentifier.objects.select_related("person")[:200]:
        number = decrypt_text(ident.number_encrypted, purpose="person.id.01")
        # stdnum also checks that the area code existed at birth, which real IDs issued
        # later do not meet; the check character and birth date are what must hold.
        assert ric.calc_check_digit(number) == number[17]  # takes the full number
        assert ident.person.birth_date == ric.get_birth_date(number)
        assert ident.person.sex == (1 if int(number[16]) % 2 else 2)
        assert ident.person.address_unit.level == Level.COMMUNITY
    first = list(Person.objects.order_by("pk").values_list("name", "birth_date")[:50])
    # adding more keeps going with new persons; the generator itself is deterministic
    from phis.algorithms.synthpop import generate_persons

    a = generate_persons(100, seed=7)
    b = generate_persons(100, seed=7)
    assert list(a.name) == list(b.name)
    assert first[0][0]


def test_demo_if_empty_skips(capsys):
    call_command("demo", persons=10, no_progress=True)
    before = Person.objects.count()
    call_command("demo", persons=10, no_progress=True, if_empty=True)
    assert Person.objects.count() == before
    assert PersonIdentifier.objects.filter(source="demo").count() == 10
