from phis.core.codes.files import static_choices
from phis.core.codes.selectors import value_set, value_set_choices
from phis.core.people.models import IdType, Sex


def test_sex_is_the_same_value_set_as_the_person_model(codes):
    got = [(int(i.code), i.display_zh) for i in value_set("gbt2261-sex")]
    assert got == [(v, str(label)) for v, label in Sex.choices]


def test_id_document_types_are_the_same_as_the_person_model(codes):
    got = [(i.code, i.display_zh) for i in value_set("id-document-type")]
    assert got == [(v, str(label)) for v, label in IdType.choices]


def test_ethnicity_has_56_groups_and_97_98(codes):
    got = [i.code for i in value_set("gbt3304-ethnicity")]
    assert got == [f"{n:02d}" for n in range(1, 57)] + ["97", "98"]
    items = {i.code: i for i in value_set("gbt3304-ethnicity")}
    assert (items["01"].display_zh, items["01"].display_en) == ("汉族", "Han")
    assert items["56"].display_zh == "基诺族"


def test_occupation_list_of_the_card(codes):
    labels = [i.display_zh for i in value_set("occupation")]
    assert len(labels) == 18
    assert labels[0] == "幼托儿童" and labels[-2:] == ["其他", "不详"]
    assert "渔(船)民" in labels and "医务人员" in labels


def test_case_classification(codes):
    labels = [i.display_zh for i in value_set("case-classification")]
    assert labels[:4] == ["疑似病例", "临床诊断病例", "确诊病例", "病原携带者"]


def test_disease_classes(codes):
    assert [i.code for i in value_set("disease-class")] == ["A", "B", "C", "other"]


def test_value_sets_are_cached_and_english_is_complete(codes, django_assert_num_queries):
    value_set("occupation")
    with django_assert_num_queries(0):
        value_set("occupation")
    for key in ("gbt2261-sex", "gbt3304-ethnicity", "occupation", "id-document-type",
                "case-classification", "disease-class"):
        assert all(i.display_en for i in value_set(key)), key


def test_static_choices_match_the_database(codes):
    assert list(static_choices("occupation")) == value_set_choices("occupation")
    assert static_choices("gbt2261-sex", lang="en")[1] == ("1", "Male")
