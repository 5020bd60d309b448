"""The pure matching engine, phenomenon by phenomenon, with real names (no app, no database)."""

from __future__ import annotations

import math

import pytest

from app.matching.engine.blocking import KeyIndex, age_buckets, blocking_keys, shortlist
from app.matching.engine.compare import TokenStats, align, token_similarity
from app.matching.engine.features import add_namesake_features, compare
from app.matching.engine.matcher import rank
from app.matching.engine.model import load_model
from app.matching.engine.names import FAMILY, GIVEN, UNKNOWN, parse_names
from app.matching.engine.phonetic import phon, skeleton
from app.matching.engine.records import PersonRecord, prepare
from app.matching.engine.text import fold


def reading(**fields):
    return parse_names(**fields)[0]


def token(text: str, **fields):
    return next(t for t in reading(full_name=text, **fields).tokens)


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("  GARCÍA-López, José ", "garcia lopez jose"),
        ("Yılmaz Şahin Ağaoğlu", "yilmaz sahin agaoglu"),
        ("Nguyễn Văn An", "nguyen van an"),
        ("Олена Коваленко", "olena kovalenko"),
        ("Åsa Lindqvist", "asa lindqvist"),
        ("O'Brien", "obrien"),
        ("Straße", "strasse"),
        ("🌧️", ""),
        ("Ana 👩‍👧 María", "ana maria"),
    ],
)
def test_fold_drops_case_accents_punctuation_and_script(raw, folded):
    assert fold(raw) == folded


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("mohammed", "muhammad"),
        ("mohamed", "muhammad"),
        ("satou", "sato"),
        ("satoh", "sato"),
        ("tafoya", "tafolla"),  # ll / y
        ("arellano", "areyano"),
        ("castillo", "kastillo"),  # c / k
        ("velazquez", "velasquez"),  # s / z
        ("jimenez", "gimenez"),  # j / soft g
        ("hernandez", "ernandez"),  # silent h
        ("philip", "filip"),  # ph / f
        ("nguyen", "ngyuen"),
        ("cameron", "kameron"),
        ("vilma", "bilma"),  # b / v
    ],
)
def test_spelling_variants_share_a_sound_code(a, b):
    assert phon(a) == phon(b)


def test_arabic_script_meets_its_romanization_through_the_skeleton():
    assert skeleton(fold("محمد")) == skeleton("mohammed")


def test_different_names_keep_different_codes():
    assert phon("garcia") != phon("gonzalez")
    assert phon("maria") != phon("mario") or skeleton("maria") == skeleton("mario")


def test_family_comma_given_gives_roles():
    parsed = reading(full_name="GARCIA LOPEZ, JOSE")
    assert [(t.text, t.role) for t in parsed.tokens] == [
        ("jose", GIVEN),
        ("garcia", FAMILY),
        ("lopez", FAMILY),
    ]


def test_full_name_without_comma_has_no_roles():
    assert {t.role for t in reading(full_name="José García").tokens} == {UNKNOWN}


def test_particles_titles_suffixes_and_connectors_are_dropped_where_they_stand():
    texts = [t.text for t in reading(full_name="Don Pepe García y López Jr").tokens]
    assert texts == ["pepe", "garcia", "lopez"]
    family = [t.text for t in reading(given_name="Ma. Cristina", family_name="dela Cruz").tokens]
    assert family == ["maria", "cristina", "cruz"]


def test_leading_words_that_are_also_particles_are_kept():
    assert [t.text for t in reading(full_name="Ben Smith").tokens] == ["ben", "smith"]
    vietnamese = reading(full_name="Lê Thị Hoa", country="VN")
    assert [t.text for t in vietnamese.tokens][0] == "le"


def test_camel_case_surnames_typed_together_are_split():
    assert [t.text for t in reading(full_name="Eduardo AbreuRoldán").tokens] == [
        "eduardo",
        "abreu",
        "roldan",
    ]


def test_hyphenated_and_abbreviated_given_names():
    assert [t.text for t in reading(full_name="Jean-Pierre Louis").tokens][:2] == ["jean", "pierre"]
    assert reading(full_name="Jn Pierre Louis").tokens[0].text == "jean"


def test_nicknames_point_to_formal_names():
    assert "jose" in token("Pepe").canon
    assert "francisco" in token("Paco").canon
    assert "karl" in token("Kalle").canon
    assert "william" in token("Bill").canon


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        ("José", "Jose", "exact"),
        ("Pepe", "José", "nickname"),
        ("Mohammed", "Muhammad", "variant"),
        ("Kastillo", "Castillo", "phonetic"),
        ("Guadalup", "Guadalupe", "prefix"),
        ("Joweph", "Joseph", "typo"),
        ("J", "José", "initial"),
    ],
)
def test_token_similarity_names_the_kind_of_agreement(a, b, kind):
    score, got = token_similarity(token(a), token(b))
    assert got == kind
    assert score >= 0.55


def test_unrelated_names_score_low():
    score, _ = token_similarity(token("Garcia"), token("Lindqvist"))
    assert score < 0.5


def test_alignment_handles_one_surname_of_two_and_swapped_order():
    cmp = align(reading(full_name="Pepe Garcia"), reading(full_name="GARCIA LOPEZ, JOSE"))
    aligned = {(m.left, m.right, m.kind) for m in cmp.matches}
    assert ("pepe", "jose", "nickname") in aligned
    assert ("garcia", "garcia", "exact") in aligned
    assert [t.text for t in cmp.right_unmatched] == ["lopez"]


def test_alignment_joins_words_the_other_side_wrote_as_one():
    cmp = align(reading(full_name="Eloy Puga Solano"), reading(full_name="Eloy Pugasolano"))
    assert not cmp.left_unmatched and not cmp.right_unmatched


def test_common_names_weigh_less_than_rare_ones():
    stats = TokenStats()
    for _ in range(50):
        stats.add(["garcia", "maria"])
    stats.add(["yauco"])
    assert stats.rarity("garcia") < stats.rarity("quinones") <= 1.0


def _record(record_id: str, kind: str, **fields) -> PersonRecord:
    return PersonRecord(id=record_id, kind=kind, **fields)


def test_variants_and_nicknames_share_blocking_keys():
    pairs = [
        (dict(full_name="Pepe Garcia"), dict(full_name="GARCIA LOPEZ, JOSE")),
        (dict(full_name="Mohammed al-Ahmad"), dict(full_name="Muhammad Ahmad")),
        (dict(full_name="Joweph Turner"), dict(given_name="Joseph", family_name="Turner")),
        (dict(full_name="Colim Hufhes"), dict(full_name="Colin Hughes")),
    ]
    for left, right in pairs:
        a = prepare(_record("a", "missing", **left))
        b = prepare(_record("b", "found", **right))
        assert set(blocking_keys(a)) & set(blocking_keys(b)), (left, right)


REGISTRY = [
    _record(
        "R1",
        "found",
        full_name="GARCIA LOPEZ, JOSE",
        sex="male",
        age="30-40",
        lat=17.97,
        lon=-66.91,
    ),
    _record(
        "R2", "found", full_name="Maria Garcia Lopez", sex="female", age="61", lat=18.2, lon=-66.5
    ),
    _record("R3", "found", full_name="José Gómez", sex="male", age="72", lat=18.4, lon=-66.0),
    _record("R4", "found", full_name="Pedro García", sex="male", age="8", lat=18.0, lon=-66.6),
    _record("R5", "found", description="Unidentified man, about 50"),
    _record("R6", "found", full_name="Åsa Lindkvist", sex="female", age="40"),
]


def _rank(query: PersonRecord):
    profiles = [prepare(r) for r in REGISTRY]
    stats = TokenStats()
    index = KeyIndex()
    for p in profiles:
        stats.add(list(p.name_words))
        index.add(p.id, blocking_keys(p))
    by_id = {p.id: p for p in profiles}
    q = prepare(query)
    ids = index.candidates(blocking_keys(q), 400, 5000)
    chosen = shortlist(q, [by_id[i] for i in ids], 60)
    return rank(q, chosen, stats, load_model())


def test_the_nickname_and_one_surname_pair_ranks_first():
    ranked = _rank(
        _record(
            "Q1", "missing", full_name="Pepe Garcia", age="34", sex="male", lat=18.03, lon=-66.85
        )
    )
    assert ranked[0].id == "R1"
    assert all(0.0 <= c.score <= 1.0 for c in ranked)
    assert ranked[0].score > ranked[-1].score or len(ranked) == 1
    assert ranked[0].explanation["name"]["aligned"]
    assert ranked[0].explanation["age"]["verdict"] == "compatible"
    assert ranked[0].explanation["location"]["km"] < 20


def test_probabilities_of_a_query_never_sum_above_one():
    ranked = _rank(_record("Q2", "missing", full_name="Garcia", sex="male"))
    assert sum(c.score for c in ranked) <= 1.0 + 1e-9


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"full_name": ""},
        {"full_name": "🙂🙂🙂"},
        {"full_name": "x" * 10_000},
        {"full_name": "Ana " * 3000},
        {"age": "999"},
        {"age": "forty"},
        {"date_of_birth": "1990-13-45"},
        {"full_name": "محمد", "last_known_location": "🌋"},
        {"description": "a child in a red coat"},
    ],
)
def test_bad_input_never_crashes_and_gives_weak_candidates(fields):
    ranked = _rank(_record("Q3", "missing", **fields))
    assert all(c.score < 0.9 for c in ranked)


def _features(left: PersonRecord, right: PersonRecord, stats: TokenStats | None = None):
    return compare(prepare(left), prepare(right), stats or TokenStats())[0]


def test_the_same_town_by_name_counts_where_no_point_can_be_fixed():
    query = _record("Q", "missing", full_name="Rose Saintil", last_known_location="Pétionville")
    same = _record(
        "R1",
        "found",
        full_name="SAINTIL, Rose",
        last_known_location="Hôpital de Pétionville, Petionville",
    )
    other = _record(
        "R2", "found", full_name="SAINTIL, Rose", last_known_location="Camp Joseph, Jacmel"
    )
    near, far = _features(query, same), _features(query, other)
    assert near["place_text_same"] == near["place_text_same_noloc"] == 1.0
    assert far["place_text_same"] == 0.0
    assert "loc_known" not in near


def test_the_town_is_the_last_part_of_a_shelter_location():
    profile = prepare(
        _record(
            "R", "found", last_known_location="Centro Comunal Caguas, Caguas", home_city="Bayamón"
        )
    )
    assert profile.towns == frozenset({"caguas", "bayamon"})
    assert prepare(_record("Q", "missing", full_name="Ana Ruiz")).towns == frozenset()


@pytest.mark.parametrize(
    ("age", "other", "bin_name"),
    [("40", "41", "age_within"), ("40", "46", "age_2tol"), ("40", "60", "age_beyond")],
)
def test_age_gaps_are_binned_by_tolerance(age, other, bin_name):
    f = _features(
        _record("Q", "missing", full_name="Kerstin Eriksson", age=age),
        _record("R", "found", full_name="Kerstin Eriksson", age=other),
    )
    bins = {"age_within", "age_2tol", "age_beyond"}
    assert f[bin_name] == 1.0
    assert all(f[b] == 0.0 for b in bins - {bin_name})


def test_an_age_inside_the_others_range_falls_in_no_gap_bin():
    f = _features(
        _record("Q", "missing", full_name="Nguyễn Thị Hoa", age="33"),
        _record("R", "found", full_name="NGUYEN THI HOA", age="30-40"),
    )
    assert f["age_overlap"] == 1.0
    assert f["age_within"] == f["age_2tol"] == f["age_beyond"] == 0.0


def test_distance_bins_tell_the_same_place_from_the_next_town():
    query = _record("Q", "missing", full_name="Mehmet Yılmaz", lat=37.0662, lon=37.3833)
    same = _record("R1", "found", full_name="Mehmet Yilmaz", lat=37.0665, lon=37.3830)
    next_town = _record("R2", "found", full_name="Mehmet Yilmaz", lat=37.38, lon=37.38)
    assert _features(query, same)["loc_le1"] == 1.0
    assert _features(query, next_town)["loc_le50"] == 1.0


def test_full_agreement_is_marked_beyond_its_parts():
    query = _record(
        "Q", "missing", full_name="Sato Yuki", age="27", sex="female", lat=38.26, lon=140.87
    )
    same = _record(
        "R1", "found", full_name="SATO, Yuki", age="27", sex="female", lat=38.27, lon=140.88
    )
    older = _record(
        "R2", "found", full_name="SATO, Yuki", age="58", sex="female", lat=38.27, lon=140.88
    )
    f, g = _features(query, same), _features(query, older)
    assert f["name_perfect_age_near"] == f["name_perfect_age"] == f["name_perfect_near"] == 1.0
    assert g["name_perfect_age_near"] == g["name_perfect_age"] == 0.0
    assert g["name_perfect_near"] == 1.0


def test_a_common_name_pair_expects_more_namesakes_than_a_rare_one():
    stats = TokenStats()
    for _ in range(300):
        stats.add(["maria", "cruz"])
    for _ in range(5):
        stats.add(["thiago", "albuquerque"])
    common = _features(
        _record("Q1", "missing", full_name="Maria Cruz"),
        _record("R1", "found", full_name="CRUZ, Maria"),
        stats,
    )
    rare = _features(
        _record("Q2", "missing", full_name="Thiago Albuquerque"),
        _record("R2", "found", full_name="Tiago Albuquerque"),
        stats,
    )
    assert common["name_expected_log"] > rare["name_expected_log"] >= -8.0
    unrelated = _features(
        _record("Q3", "missing", full_name="Maria Cruz"),
        _record("R3", "found", full_name="Yusuf Demir"),
        stats,
    )
    assert unrelated["name_expected_log"] == 0.0


def test_namesakes_among_the_candidates_are_counted():
    rows = [
        {"name_cov_left": 1.0, "name_cov_right": 1.0},
        {"name_cov_left": 0.95, "name_cov_right": 0.92},
        {"name_cov_left": 1.0, "name_cov_right": 0.5},
    ]
    add_namesake_features(rows)
    assert rows[0]["name_namesakes"] == rows[1]["name_namesakes"] == pytest.approx(math.log(2))
    assert "name_namesakes" not in rows[2]
    assert rows[2]["name_namesakes_any"] == pytest.approx(math.log(3))


def test_rank_gives_each_candidate_its_namesake_count():
    alone = _rank(_record("Q4", "missing", full_name="Åsa Lindkvist", sex="female", age="40"))
    assert alone[0].id == "R6"
    assert alone[0].features["name_namesakes"] == 0.0


def test_name_keys_are_also_filed_with_the_decade_of_the_age():
    assert age_buckets((34, 34)) == (3,)
    assert age_buckets((38, 38)) == (3, 4)  # 35-41 reaches both decades
    assert age_buckets((1, 2)) == (0,)
    assert age_buckets((20, 60)) == ()  # too wide to say anything
    assert age_buckets(None) == ()
    # Two ages within six years share a decade, so namesakes of other ages fall away.
    for a in range(0, 100):
        for b in range(a, a + 7):
            assert set(age_buckets((a, a))) & set(age_buckets((b, b)))

    def keys(**fields):
        return set(blocking_keys(prepare(PersonRecord(id="x", kind="found", **fields))))

    young = keys(full_name="Nguyễn Thị Hoa", age="24")
    older = keys(full_name="Nguyen Thi Hoa", age="61")
    unknown = keys(full_name="Nguyen Thi Hoa")
    aged = {k for k in young if "@" in k}
    assert aged and not aged & older
    # Without an age only the plain keys, which every namesake shares.
    assert unknown == {k for k in young if "@" not in k} == {k for k in older if "@" not in k}


def test_the_shortlist_keeps_the_namesake_who_is_near():
    def person(record_id, lat, lon):
        return prepare(
            PersonRecord(
                id=record_id, kind="found", full_name="Nguyễn Thị Lan", age="31", lat=lat, lon=lon
            )
        )

    query = prepare(
        PersonRecord(
            id="q", kind="missing", full_name="Nguyen Thi Lan", age="30", lat=16.05, lon=108.2
        )
    )
    far, near = person("hanoi", 21.03, 105.85), person("hoi-an", 15.88, 108.33)
    assert [p.id for p in shortlist(query, [far, near], 1)] == ["hoi-an"]
    # Without places the order blocking gave decides.
    assert [p.id for p in shortlist(person("x", None, None), [far, near], 1)] == ["hanoi"]
