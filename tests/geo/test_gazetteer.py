"""The offline gazetteer: no app, no database.

Most tests use a handful of real GeoNames rows through Gazetteer.from_places (fast); the last
ones use the real cities500 data, built once for the module.
"""

from __future__ import annotations

import pytest
from geopy.distance import great_circle

from app.geo import Gazetteer, GeoPoint, Place, default_gazetteer, distance_km
from app.geo.gazetteer import _fold_many
from app.matching.engine.text import fold

# (name, alternate names, lat, lon, country, population, geonameid[, admin1]), from cities500.
PLACES = [
    (
        "Ponce",
        ["Ponse", "PSE", "La Perla del Sur", "Ponsė"],
        18.01031,
        -66.62398,
        "PR",
        137491,
        4566880,
    ),
    ("Yauco", ["Yauko", "Яуко"], 18.03496, -66.8499, "PR", 20295, 4568917),
    ("Juana Díaz", ["Juana Diaz", "Хуана Диас"], 18.05246, -66.50656, "PR", 9427, 4565712),
    ("Florida", ["Floride", "Флорида"], 18.36245, -66.56128, "PR", 5652, 4564991),
    ("Delmas", ["Delma", "Dèlma"], 18.54478, -72.30036, "HT", 395260, 3726786),
    ("Delmas", ["Del'mas", "Дельмас"], -26.1466, 28.68322, "ZA", 92046, 1011031),
    ("Kenscoff", ["Kenskof", "Kenskoff", "Kenskòf"], 18.44773, -72.28398, "HT", 42175, 3723440),
    ("Croix-des-Bouquets", ["Kwadebouke"], 18.57677, -72.22625, "HT", 229127, 3727135),
    (
        "Port-au-Prince",
        ["PAP", "Port au Prince", "Pòtoprens"],
        18.54349,
        -72.33881,
        "HT",
        1234742,
        3718426,
    ),
    ("Sala", ["XYX"], 59.91993, 16.60655, "SE", 13087, 2680662),
    ("Sala", [], 40.85536, 14.87343, "IT", 6237, 8948764),
    ("Eskilstuna", ["EKT", "Eskil'stuna", "Ehskil'stuna"], 59.36661, 16.5077, "SE", 67359, 2715953),
    ("Los Reyes de Juárez", ["Los Reyes de Juarez"], 18.94918, -97.80379, "MX", 16683, 3523909),
    ("Juárez", ["Juarez", "Estación Juárez"], 17.60747, -93.19253, "MX", 7286, 3815488),
    ("Lorenzo Vázquez (Santa Cruz)", [], 18.57361, -99.07278, "MX", 785, 8860777),
    ("Tacloban", ["TAC", "Tacloban City", "Таклобан"], 11.24333, 125.00472, "PH", 259353, 1684712),
    ("Isabel", ["Quiot"], 10.9267, 124.434, "PH", 8597, 1710523),
    ("City of Isabela", ["Basilan", "Isabel", "Isabela"], 6.70407, 121.97117, "PH", 67336, 1710519),
    ("Calbayog City", ["CYP", "Calbayog"], 12.0668, 124.5962, "PH", 67921, 1720402),
    ("Waveland", ["Vejvland", "Вейвленд"], 30.28686, -89.37616, "US", 6391, 4450411, "MS"),
    ("Gulfport", ["GPT", "Galfport", "Гулфпорт"], 30.36742, -89.09282, "US", 71856, 4428667),
    ("Long Beach", ["Scotts Station"], 30.35048, -89.15282, "US", 15555, 4434069),
    ("Long Beach", ["LGB"], 33.76696, -118.18923, "US", 474140, 5367929),
    ("Bridge City", [], 29.93326, -90.17007, "US", 7706, 4317864, "LA"),
    ("Bridge City", [], 30.02077, -93.84573, "US", 7941, 4676316, "TX"),
    ("Ama", ["Madisonville"], 29.95215, -90.29647, "US", 1316, 4314712),
    ("Amarillo", ["AMA", "Amarilo"], 35.222, -101.8313, "US", 198645, 5516233),
    ("San Benito", ["San-Benito"], 26.13258, -97.6311, "US", 24496, 4726290),
    ("Moscow", ["MOW", "Moskva", "Москва"], 55.75204, 37.61781, "RU", 10381222, 524901),
    ("Moskva", ["Chubek", "Москва"], 37.66101, 69.62849, "TJ", 0, 1220988),
    ("Cairo", ["CAI", "Al Qahirah", "القاهرة"], 30.06263, 31.24967, "EG", 9606916, 360630),
    ("Hospital", ["An tOspideal"], 52.47306, -8.43056, "IE", 630, 2963725),
    ("Centro", ["city center"], 28.1272, -15.4314, "ES", 88546, 6949575),
]
# Coordinate pairs are in the same (lat, lon) order as the rows above.
GULFPORT = GeoPoint(30.36742, -89.09282)


@pytest.fixture(scope="module")
def tiny() -> Gazetteer:
    """A gazetteer of the places above."""
    return Gazetteer.from_places(PLACES)


def where(place: Place | None) -> tuple[str, str] | None:
    """(name, country) of a result, for short assertions."""
    return None if place is None else (place.name, place.country)


def test_own_and_alternate_names_match_exactly(tiny: Gazetteer) -> None:
    ponce = tiny.geocode("Ponce", "PR")
    assert ponce is not None and (ponce.name, ponce.geonameid, ponce.exact) == (
        "Ponce",
        4566880,
        True,
    )
    assert (ponce.lat, ponce.lon, ponce.population, ponce.matched) == (
        18.01031,
        -66.62398,
        137491,
        "ponce",
    )
    assert where(tiny.geocode("Ponse", "PR")) == ("Ponce", "PR")
    assert where(tiny.geocode("Eskil'stuna")) == ("Eskilstuna", "SE")
    assert where(tiny.geocode("KENSKÒF")) == ("Kenscoff", "HT")


def test_the_last_comma_part_is_the_town(tiny: Gazetteer) -> None:
    assert where(tiny.geocode("Hospital San Lucas, Ponce")) == ("Ponce", "PR")
    assert where(tiny.geocode("Refugio Escuela Joseph, Ponse", "PR")) == ("Ponce", "PR")
    # San Benito (Texas) is named too, but the explicit town part wins.
    assert where(tiny.geocode("Iglesia San Benito, Juana Díaz", "PR")) == ("Juana Díaz", "PR")
    assert where(tiny.geocode("Camp Corail, Croix-des-Bouquets", "HT")) == (
        "Croix-des-Bouquets",
        "HT",
    )
    assert where(tiny.geocode("Centre d'hébergement Kenscoff; Kenscoff")) == ("Kenscoff", "HT")


def test_words_between_facility_words_name_the_place(tiny: Gazetteer) -> None:
    place = tiny.geocode("Evacuation center Waveland")
    assert where(place) == ("Waveland", "US") and place is not None and place.matched == "waveland"
    assert where(tiny.geocode("Tacloban High School shelter")) == ("Tacloban", "PH")
    assert where(tiny.geocode("Iglesia San Benito", "US")) == ("San Benito", "US")
    assert where(tiny.geocode("Astrodome evacuation center, Tacloban")) == ("Tacloban", "PH")


def test_facility_words_alone_never_match_a_place(tiny: Gazetteer) -> None:
    # Hospital (Ireland) and Centro (Canary Islands) are real places.
    assert tiny.geocode("Hospital") is None
    assert tiny.geocode("Centro Comunal") is None
    assert tiny.geocode("Evacuation center, General Hospital") is None
    assert tiny.geocode("Hospital (General)") is None
    assert where(tiny.geocode("Hospital (Ponce)")) == ("Ponce", "PR")


def test_whole_names_with_brackets_and_pieces(tiny: Gazetteer) -> None:
    assert where(tiny.geocode("Lorenzo Vázquez (Santa Cruz)")) == (
        "Lorenzo Vázquez (Santa Cruz)",
        "MX",
    )
    assert where(tiny.geocode("Albergue José, Yauco (Puerto Rico)")) == ("Yauco", "PR")


def test_country_hint_picks_among_namesakes(tiny: Gazetteer) -> None:
    assert where(tiny.geocode("Sala", "SE")) == ("Sala", "SE")
    assert where(tiny.geocode("Sala", "it")) == ("Sala", "IT")
    assert where(tiny.geocode("Sala", "Sverige")) == ("Sala", "SE")
    # Sweden's Sala is only twice Italy's: no hint, no answer.
    assert tiny.geocode("Sala") is None


def test_without_hint_only_a_clearly_dominant_place(tiny: Gazetteer) -> None:
    # Haiti's Delmas is four times South Africa's.
    assert where(tiny.geocode("Delmas")) == ("Delmas", "HT")
    assert where(tiny.geocode("Delmas", "ZA")) == ("Delmas", "ZA")


def test_namesakes_of_similar_size_in_one_country_are_ambiguous(tiny: Gazetteer) -> None:
    assert tiny.geocode("Bridge City", "US") is None
    bridge_city_la = tiny.geocode("Bridge City, LA")
    assert bridge_city_la is not None and bridge_city_la.geonameid == 4317864
    bridge_city_tx = tiny.geocode("Bridge City, Texas")
    assert bridge_city_tx is not None and bridge_city_tx.geonameid == 4676316


def test_near_picks_the_namesake_in_the_disaster_area(tiny: Gazetteer) -> None:
    far = tiny.geocode("Long Beach", "US")
    assert far is not None and far.geonameid == 5367929  # California, 30 times larger
    near = tiny.geocode("Red Cross shelter, Long Beach", "US", near=GULFPORT)
    assert near is not None and near.geonameid == 4434069  # Mississippi
    # Of two Bridge Cities of the same size, the one within reach of the area...
    bridge_city = tiny.geocode("Bridge City", "US", near=GULFPORT)
    assert bridge_city is not None and bridge_city.geonameid == 4317864  # Louisiana, 105 km
    # ...and when neither is, they stay ambiguous.
    assert tiny.geocode("Bridge City", "US", near=GeoPoint(45.0, -75.0)) is None


def test_country_or_state_in_the_text_beats_the_hint(tiny: Gazetteer) -> None:
    assert where(tiny.geocode("Ponse, Puerto Rico", "US")) == ("Ponce", "PR")
    assert where(tiny.geocode("Waveland, MS, USA", "PH")) == ("Waveland", "US")
    # A hint is only a hint: the place abroad is taken when nothing matches at home...
    assert where(tiny.geocode("Waveland", "PH")) == ("Waveland", "US")
    # ...but not when the text says which country it is in.
    assert tiny.geocode("Waveland, Philippines") is None
    # Florida, Puerto Rico, not the state.
    assert where(tiny.geocode("Refugio Escuela Paul, Florida", "PR")) == ("Florida", "PR")


def test_typos_are_matched_within_the_hinted_country(tiny: Gazetteer) -> None:
    place = tiny.geocode("Los Teyes de Juarez", "MX")
    assert where(place) == ("Los Reyes de Juárez", "MX")  # not Juárez, Chiapas
    assert place is not None and not place.exact and place.matched == "los teyes de juarez"
    assert where(tiny.geocode("Albergue Pedro, Kenscof", "HT")) == ("Kenscoff", "HT")
    assert where(tiny.geocode("Salq", "SE")) == ("Sala", "SE")
    # No hint, no fuzzy search across the world; and never for fewer than four letters.
    assert tiny.geocode("Los Teyes de Juarez") is None
    assert tiny.geocode("Pon", "PR") is None
    # Too far from any name of the country.
    assert tiny.geocode("Pxnxe", "PR") is None


def test_a_facility_part_confirms_a_misspelt_town(tiny: Gazetteer) -> None:
    place = tiny.geocode("Red Cross shelter Kenscoff, Kenscof")
    assert where(place) == ("Kenscoff", "HT") and place is not None and place.exact
    # A name in the facility part that the town part does not echo is a person, not a place.
    assert tiny.geocode("Camp Delmas, Xyzzy") is None


def test_a_place_own_name_beats_another_place_alternate(tiny: Gazetteer) -> None:
    assert where(tiny.geocode("Isabel", "PH")) == ("Isabel", "PH")
    assert where(tiny.geocode("Ama", "US")) == ("Ama", "US")  # not Amarillo (airport AMA)
    assert where(tiny.geocode("GPT")) == ("Gulfport", "US")  # only an airport code matches


def test_other_scripts(tiny: Gazetteer) -> None:
    # Written in Cyrillic, no own name is meant: the city, not the hamlet Moskva (Tajikistan).
    assert where(tiny.geocode("Москва")) == ("Moscow", "RU")
    assert where(tiny.geocode("القاهرة")) == ("Cairo", "EG")
    assert where(tiny.geocode("Хуана Диас", "PR")) == ("Juana Díaz", "PR")


def test_coordinates_given_as_text(tiny: Gazetteer) -> None:
    place = tiny.geocode("14.5995, 120.9842")
    assert place == Place(
        "14.5995, 120.9842", 14.5995, 120.9842, "", 0, 0, "14.5995, 120.9842", True
    )
    south = tiny.geocode("Shelter, -33.9249,18.4241")
    assert south is not None and (south.lat, south.lon) == (-33.9249, 18.4241)
    assert tiny.geocode("95.5, 10.1") is None  # no such latitude
    assert tiny.geocode("0.0, 0.0") is None  # what broken exports write for unknown
    assert tiny.geocode("Unidad Habitacional 10, 3") is None  # numbers, not coordinates


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "😀🙏", "🏥, 🏠", "x" * 10_000, "Ponce " * 2_000, ",,,;;;()", "\x00\x01", 42]
    + ["note " * 2_000 + ", Ponce"],
)
def test_junk_is_none_or_harmless(tiny: Gazetteer, text: object) -> None:
    place = tiny.geocode(text, "PR")  # type: ignore[arg-type]
    if isinstance(text, str) and text.endswith(", Ponce"):
        assert where(place) == ("Ponce", "PR")  # of a huge text the end is read, where towns are
    else:
        assert place is None


def test_unknown_country_hint_is_ignored(tiny: Gazetteer) -> None:
    assert where(tiny.geocode("Delmas", "Atlantis")) == ("Delmas", "HT")
    assert where(tiny.geocode("Yauco", "PRI")) == ("Yauco", "PR")


def test_candidates_are_exact_hits_best_first(tiny: Gazetteer) -> None:
    assert [(p.country, p.population) for p in tiny.candidates("Sala")] == [
        ("SE", 13087),
        ("IT", 6237),
    ]
    assert [p.country for p in tiny.candidates("sala", "IT")] == ["IT", "SE"]
    assert [p.geonameid for p in tiny.candidates("BRIDGE CITY", "US")] == [4676316, 4317864]
    assert {p.name for p in tiny.candidates("Isabel")} == {"Isabel", "City of Isabela"}
    assert all(p.exact and p.matched == "isabel" for p in tiny.candidates("Isabel"))
    assert tiny.candidates("Ponze") == []  # exact only


def test_bulk_folding_equals_fold() -> None:
    names = [
        "São Paulo",
        "Køge",
        "İstanbul",
        "Straße",
        "Ehskil'stuna",
        "O`Brien",
        "Москва",
        "القاهرة",
        "北京",
        "ソウル",
        "e\u0301cole",
        "ﬁnland",
        "Ⅻ",
        "🙏 Ponce",
        "Tō-kyō",
        "Łódź",
        "",
        "  ",
        "Hafnarfjörður",
        "Đà Nẵng",
        "Þingvellir",
        "N'Djamena",
        "Ciudad  de   México",
    ]
    assert _fold_many(names) == [fold(name) for name in names]


def test_distance_km() -> None:
    ponce, yauco = (18.01031, -66.62398), (18.03496, -66.8499)
    assert distance_km(ponce, ponce) == 0.0
    assert distance_km(ponce, yauco) == distance_km(yauco, ponce)
    assert 22 < distance_km(ponce, yauco) < 26
    assert distance_km(ponce, yauco) == pytest.approx(great_circle(ponce, yauco).km, rel=1e-9)
    # Antipodes: no math domain error from rounding.
    assert distance_km((10.0, 20.0), (-10.0, -160.0)) == pytest.approx(20015.1, abs=1)


# -- the real cities500 data --------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> Gazetteer:
    """The default gazetteer, built once (a few seconds)."""
    return default_gazetteer()


def test_default_gazetteer_is_built_once(world: Gazetteer) -> None:
    assert default_gazetteer() is world
    assert len(world) > 200_000


@pytest.mark.parametrize(
    ("text", "country", "name", "iso"),
    [
        ("Yauco", "PR", "Yauco", "PR"),
        ("Refugio Escuela Joseph, Ponse", "PR", "Ponce", "PR"),
        ("Evacuation center Waveland, Waveland", None, "Waveland", "US"),
        ("Eskil'stuna", None, "Eskilstuna", "SE"),
        ("Astrodome evacuation center, Tacloban", None, "Tacloban", "PH"),
        ("Tacloban", "PH", "Tacloban", "PH"),
        ("Centre d'hébergement Kenscoff, Kenscoff", "HT", "Kenscoff", "HT"),
        ("Iglesia San Benito, Juana Díaz", "PR", "Juana Díaz", "PR"),
        ("Camp Corail, Croix-des-Bouquets", "HT", "Croix-des-Bouquets", "HT"),
        ("Los Teyes de Juarez", "MX", "Los Reyes de Juárez", "MX"),
        ("Salq", "SE", "Sala", "SE"),
        ("Calbayog City", None, "Calbayog City", "PH"),
        ("Delmas", "HT", "Delmas", "HT"),
        ("Bridge City, LA", None, "Bridge City", "US"),
        ("Москва", None, "Moscow", "RU"),
    ],
)
def test_real_places(world: Gazetteer, text: str, country: str | None, name: str, iso: str) -> None:
    assert where(world.geocode(text, country)) == (name, iso)


def test_real_waveland_is_in_mississippi(world: Gazetteer) -> None:
    place = world.geocode("Evacuation center Waveland, Waveland")
    assert place is not None and distance_km(place.point, (30.2857, -89.3692)) < 5


def test_real_unknown_ambiguous_and_junk(world: Gazetteer) -> None:
    assert world.geocode("Xyzzyville Qwertyshire") is None
    assert world.geocode("Bridge City", "US") is None  # Louisiana and Texas, same size
    assert world.geocode("Hospital General") is None
    for junk in ("", "😀😀😀", "x" * 10_000, "؟؟؟", "Ж" * 5_000):
        assert world.geocode(junk) is None


def test_real_coordinates(world: Gazetteer) -> None:
    place = world.geocode("14.5995, 120.9842")
    assert place is not None and place.point == (14.5995, 120.9842) and place.exact


def test_real_distance_ponce_yauco(world: Gazetteer) -> None:
    ponce, yauco = world.geocode("Ponce", "PR"), world.geocode("Yauco", "PR")
    assert ponce is not None and yauco is not None
    assert 20 < distance_km(ponce.point, yauco.point) < 35
