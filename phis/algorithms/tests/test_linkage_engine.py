"""Deduplication, clustering stability, linking two sources and the incremental index."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phis.algorithms.linkage import (
    MATCH,
    NON_MATCH,
    LinkageIndex,
    Linker,
    febrl_schema,
    link_scores,
    pairwise_scores,
)
from phis.algorithms.linkage.cluster import cluster_edges, natural_key
from phis.algorithms.linkage.synthetic import COLUMNS, make_linkage_dataset


@pytest.fixture(scope="module")
def dataset():
    return make_linkage_dataset(1500, seed=11)


@pytest.fixture(scope="module")
def result(dataset):
    return Linker(random_pairs=100_000).dedupe(dataset.columns)


def test_dedupe_accuracy(dataset, result):
    s = pairwise_scores(result.clusters(), dataset.truth)
    assert s.precision > 0.97
    assert s.recall > 0.95
    assert s.f1 > 0.97


def test_every_record_gets_a_cluster_named_by_its_smallest_member(dataset, result):
    assert result.record_ids == dataset.columns["record_id"]
    groups: dict[str, list[str]] = {}
    for r, c in zip(result.record_ids, result.cluster_ids, strict=True):
        groups.setdefault(c, []).append(r)
    for c, members in groups.items():
        assert c == min(members, key=natural_key)


def _permuted(columns, perm):
    return {c: [columns[c][i] for i in perm] for c in COLUMNS}


def test_cluster_ids_stable_under_row_order(dataset, result):
    n = len(dataset)
    rng = np.random.default_rng(3)
    cols = _permuted(dataset.columns, rng.permutation(n).tolist())
    again = Linker(random_pairs=100_000).dedupe(cols)
    assert again.clusters() == result.clusters()


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(8)))
def test_clustering_independent_of_edge_order(perm):
    a = np.array([0, 1, 2, 4, 5, 6, 0, 3])
    b = np.array([1, 2, 3, 5, 6, 7, 7, 4])
    w = np.array([5.0, 4.0, 3.0, 5.0, 5.0, 2.0, 1.0, 1.0])
    excl = np.array([11, 0, 0, 0, 0, 0, 0, 22], dtype=np.uint64)
    p = np.array(perm)
    ref = cluster_edges(8, a, b, w, excl)
    assert np.array_equal(cluster_edges(8, a[p], b[p], w[p], excl), ref)
    # 0 and 7 hold different exclusive IDs: never in one cluster
    assert ref[0] != ref[7]


def test_cannot_link_keeps_twins_apart():
    recs = [
        {"record_id": "1", "name": "王勇健", "sex": "1", "birth_date": "1990-01-01",
         "id_number": "370502199001010011", "phone": "13800001111",
         "address": "东营区文汇街道东营社区1号"},
        {"record_id": "2", "name": "王勇杰", "sex": "1", "birth_date": "1990-01-01",
         "id_number": "", "phone": "13800001111", "address": "东营区文汇街道东营社区1号"},
    ]
    first17 = "37050219900101003"
    from phis.algorithms.linkage.cnid import check_character

    recs.append({**recs[1], "record_id": "3", "id_number": first17 + check_character(first17)})
    recs[0]["id_number"] = "37050219900101001" + check_character("37050219900101001")
    res = Linker(random_pairs=1000).dedupe(recs)
    cl = res.clusters()
    assert cl["1"] != cl["3"]


def test_possible_pairs_for_review(result):
    for a, b, p, _w in result.possible_pairs():
        assert p >= result.possible_threshold
        assert a != b


def test_index_query_assign_save_load(tmp_path, dataset):
    cols = dataset.columns
    n = len(dataset)
    base = {c: cols[c][: n - 200] for c in COLUMNS}
    index = Linker(random_pairs=100_000).build_index(base)
    assert len(index) == n - 200
    # a record already in the index matches itself strongly
    rec = {c: cols[c][0] for c in COLUMNS[1:]}
    m = index.match(rec)
    assert m.decision == MATCH
    assert m.candidates[0].record_id == cols["record_id"][0]
    assert m.cluster_id == index.cluster_of(cols["record_id"][0])
    # a stranger does not
    far = {"name": "欧阳子轩", "sex": "1", "birth_date": "1901-02-03", "id_number": "",
           "phone": "19900000000", "address": "河口区仙河镇渤海村1号"}
    assert index.match(far).decision == NON_MATCH
    # incremental assignment of the remaining records agrees with the truth
    truth = dataset.truth
    for i in range(n - 200, n):
        rid = cols["record_id"][i]
        index.assign(rid, {c: cols[c][i] for c in COLUMNS[1:]})
    pred = {r: index.cluster_of(r) for r in cols["record_id"]}
    assert pairwise_scores(pred, truth).f1 > 0.95
    # persistence round trip
    index.save(tmp_path / "idx")
    loaded = LinkageIndex.load(tmp_path / "idx")
    assert len(loaded) == n
    m2 = loaded.match(rec)
    assert m2.decision == MATCH and m2.cluster_id == loaded.cluster_of(cols["record_id"][0])
    assert loaded.to_dict()["model"] == index.to_dict()["model"]


def test_merge_and_move(dataset):
    index = Linker(random_pairs=50_000).build_index(dataset.columns)
    r1, r2 = dataset.columns["record_id"][:2]
    c1, c2 = index.cluster_of(r1), index.cluster_of(r2)
    index.merge(c1, c2)
    assert index.cluster_of(r2) == c1
    index.move(r2)
    assert index.cluster_of(r2) == r2


def test_link_two_sources():
    ds = make_linkage_dataset(400, seed=4, duplicate_share=1.0, max_duplicates=1)
    by_entity: dict[str, list[int]] = {}
    for i, r in enumerate(ds.columns["record_id"]):
        by_entity.setdefault(ds.truth[r], []).append(i)
    pairs = [v for v in by_entity.values() if len(v) == 2]
    left = {c: [ds.columns[c][i] for i, _ in pairs] for c in COLUMNS}
    right = {c: [ds.columns[c][j] for _, j in pairs] for c in COLUMNS}
    res = Linker(random_pairs=50_000).link(left, right, one_to_one=True)
    true = set(zip(left["record_id"], right["record_id"], strict=True))
    s = link_scores([(a, b) for a, b, _ in res.matches], true)
    assert s.f1 > 0.9


def test_generic_schema_runs():
    cols = {"record_id": ["a", "b", "c"], "given_name": ["john", "jon", "mary"],
            "surname": ["smith", "smith", "jones"], "date_of_birth": ["19800101"] * 3,
            "soc_sec_id": ["1234567", "1234567", "7654321"]}
    res = Linker(febrl_schema(), random_pairs=1000).dedupe(cols)
    assert len(res.cluster_ids) == 3


def test_invalid_parameters():
    with pytest.raises(ValueError):
        Linker(match_threshold=0.3, possible_threshold=0.5).dedupe(
            {"record_id": ["1"], "name": ["张三"]})
    with pytest.raises(ValueError):
        Linker().dedupe({"record_id": ["1", "1"], "name": ["张三", "张三"]})
