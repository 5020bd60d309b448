"""The name lexicon: its data files parse and mean what naming customs say (no app, no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from nicknames import NickNamer

from app.matching.engine.lexicon import DATA_DIR, LexiconError, load_lexicon, read_lexicon
from app.matching.engine.text import fold

LEX = load_lexicon()


def _data_lines(path: Path) -> list[list[str]]:
    lines = (raw.split("#", 1)[0].rstrip() for raw in path.read_text("utf-8").splitlines())
    return [line.split("\t") for line in lines if line]


# --- the data files ---------------------------------------------------------------------------


def test_data_ships_inside_the_app_package() -> None:
    assert DATA_DIR.is_relative_to(Path(__file__).parents[2] / "app")
    names = {p.stem for p in (DATA_DIR / "nicknames").glob("*.tsv")}
    assert {"es", "pt", "fr", "sv", "tr", "ar", "tl", "en"} <= names
    variants = {p.stem for p in (DATA_DIR / "variants").glob("*.tsv")}
    assert {"ar", "ja", "vi", "es", "pt", "sv", "en", "fr", "tr"} <= variants


def test_every_file_is_utf8_with_tab_separated_non_empty_fields() -> None:
    for path in DATA_DIR.rglob("*.tsv"):
        for fields in _data_lines(path):
            assert all(f and f == f.strip() and "  " not in f for f in fields), (path, fields)


def test_all_stored_names_are_folded() -> None:
    stored = [
        *LEX.nicknames,
        *(name for names in LEX.nicknames.values() for name in names),
        *LEX.variant_groups,
        *LEX.variant_groups.values(),
        *LEX.abbreviations,
        *LEX.abbreviations.values(),
        *LEX.particles,
        *(" ".join(phrase) for phrase in LEX.particle_phrases),
        *LEX.titles,
        *LEX.suffixes,
        *LEX.connectors,
        *LEX.prefix_words,
        *LEX.endearments,
        *LEX.teknonyms,
        *LEX.optional_middles,
    ]
    assert stored
    assert [name for name in stored if fold(name) != name] == []


def test_nickname_and_abbreviation_keys_are_single_words() -> None:
    assert [k for k in [*LEX.nicknames, *LEX.abbreviations] if " " in k] == []


def test_spanish_table_is_substantial() -> None:
    assert len(_data_lines(DATA_DIR / "nicknames" / "es.tsv")) >= 150


def test_english_file_only_adds_what_the_package_lacks() -> None:
    package = NickNamer()
    for nickname, formals in _data_lines(DATA_DIR / "nicknames" / "en.tsv"):
        ours = {fold(f) for f in formals.split(",")}
        assert not ours <= package.canonicals_of(fold(nickname)), nickname


def test_multi_word_variant_forms_are_real_phrases_not_missing_tabs() -> None:
    for form, group in LEX.variant_groups.items():
        words = form.split()
        if len(words) > 1:
            joined = "".join(words)
            fused = LEX.variant_groups.get(joined) == group
            assert fused or {"al", "el"} & set(words), form


def test_merged_variant_groups_stay_small() -> None:
    sizes: dict[str, int] = {}
    for group in LEX.variant_groups.values():
        sizes[group] = sizes.get(group, 0) + 1
    assert max(sizes.values()) <= 20


def test_abbreviations_agree_with_variant_groups() -> None:
    for abbreviation, expansion in LEX.abbreviations.items():
        group = LEX.variant_group(abbreviation)
        if group is not None:
            assert LEX.variant_group(expansion) == group, abbreviation


# --- malformed data is refused with its file and line -------------------------------------------


_MINIMAL = {
    "nicknames/es.tsv": "Pepe\tJosé\n",
    "variants/es.tsv": "Jiménez\tGiménez\n",
    "abbreviations.tsv": "ma\tMaría\tes\n",
    "particles.tsv": "de la\tsurname_particle\tes\n",
    "countries.tsv": "MX\ttwo_surnames\n",
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_minimal_directory_reads(tmp_path: Path) -> None:
    lexicon = read_lexicon(_write(tmp_path, _MINIMAL))
    assert lexicon.nickname_canonicals("pepe") == {"jose"}
    assert lexicon.variant_group("gimenez") == "jimenez"
    assert lexicon.particle_phrases == (("de", "la"),)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("nicknames/es.tsv", "Pepe José\n", "expected 2 tab-separated fields"),
        ("nicknames/es.tsv", "Pepe\tJosé\nPepe\tJosefa\n", "duplicate nickname"),
        ("nicknames/es.tsv", "Pepe \tJosé\n", "stray spaces"),
        ("nicknames/es.tsv", "Ti Jean\tJean\n", "must be one word"),
        ("nicknames/es.tsv", "Pepe\tPepe\n", "maps to itself"),
        ("variants/es.tsv", "Jiménez\t\tGiménez\n", "empty field"),
        ("variants/es.tsv", "Jiménez Giménez\n", "two spellings"),
        ("variants/es.tsv", "Pérez\tPerez\n", "two spellings"),
        ("variants/es.tsv", "Lopez\tLopes\nLopes\tLoppes\n", "another group"),
        ("abbreviations.tsv", "ma\tMaría\tes\nMa.\tMarta\tes\n", "duplicate abbreviation"),
        ("abbreviations.tsv", "ma\tMaría\tSpanish\n", "bad language code"),
        ("particles.tsv", "de\tparticle\tes\n", "unknown kind"),
        ("countries.tsv", "mx\ttwo_surnames\n", "upper case"),
    ],
)
def test_malformed_lines_are_refused(tmp_path: Path, name: str, text: str, message: str) -> None:
    root = _write(tmp_path, {**_MINIMAL, name: text})
    with pytest.raises(LexiconError, match=message) as raised:
        read_lexicon(root)
    assert f"{Path(name).name}:" in str(raised.value)


# --- behaviour on real names --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nickname", "formal"),
    [
        ("pepe", "jose"),
        ("Pepita", "josefa"),
        ("paco", "francisco"),
        ("paquita", "francisca"),
        ("lupita", "guadalupe"),
        ("toño", "antonio"),
        ("maite", "maria teresa"),
        ("chema", "jose maria"),
        ("ze", "jose"),
        ("tiao", "sebastiao"),
        ("dedé", "andre"),
        ("jeannot", "jean"),
        ("kalle", "karl"),
        ("olle", "olof"),
        ("hüso", "huseyin"),
        ("hamoudi", "muhammad"),
        ("ninoy", "benigno"),
        ("jun", "junior"),
        ("sepp", "josef"),
        ("gigi", "luigi"),
        ("bill", "william"),
        ("liam", "william"),
    ],
)
def test_nicknames(nickname: str, formal: str) -> None:
    assert formal in LEX.nickname_canonicals(nickname)


def test_ambiguous_nicknames_return_every_reading() -> None:
    assert {"mehmet", "guillermo"} <= LEX.nickname_canonicals("memo")
    assert {"consuelo", "marcelo"} <= LEX.nickname_canonicals("chelo")
    assert {"alberto", "roberto", "humberto"} <= LEX.nickname_canonicals("beto")


def test_formal_names_and_unknown_words_are_not_nicknames() -> None:
    assert LEX.nickname_canonicals("jose") == frozenset()
    assert LEX.nickname_canonicals("xqzt") == frozenset()
    assert LEX.nickname_canonicals("") == frozenset()


@pytest.mark.parametrize(
    "spellings",
    [
        ("mohamed", "muhammad", "Mohammed", "mehmet", "محمد"),
        ("youssef", "yusuf", "youcef"),
        ("hussein", "Hüseyin", "hossein"),
        ("fatima", "fatma", "faadumo"),
        ("satou", "sato", "satoh", "Satō"),
        ("ota", "ohta", "oota"),
        ("junichi", "jun ichi"),
        ("nguyen", "ngyuen", "Nguyễn"),
        ("jimenez", "gimenez", "ximenez"),
        ("sousa", "souza"),
        ("karlsson", "carlson"),
        ("lindqvist", "lindquist"),
        ("catherine", "kathryn"),
        ("mueller", "Müller"),
        ("lee", "yi", "rhee"),
        ("abdulrahman", "abd al rahman", "abderrahmane"),
    ],
)
def test_spellings_share_a_variant_group(spellings: tuple[str, ...]) -> None:
    groups = {LEX.variant_group(spelling) for spelling in spellings}
    assert len(groups) == 1 and None not in groups


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("hoang", "huynh"),  # same character, different surnames today
        ("said", "sayed"),  # Saʿīd and Sayyid
        ("ali", "ly"),  # علي folds to "ly", also Vietnamese Lý
        ("omar", "mr"),  # عمر folds to "mr", also the title
        ("ann", "anna"),
        ("ahmad", "muhammad"),
        ("joseph", "youssef"),  # cognates are not spellings
        ("vazquez", "velazquez"),
    ],
)
def test_different_names_stay_apart(one: str, other: str) -> None:
    assert LEX.variant_group(one) != LEX.variant_group(other) or LEX.variant_group(one) is None


def test_abbreviations() -> None:
    assert LEX.expand_abbreviation("ma") == "maria"
    assert LEX.expand_abbreviation("Mª") == "maria"
    assert LEX.expand_abbreviation("Fco.") == "francisco"
    assert LEX.expand_abbreviation("jn") == "jean"
    assert LEX.expand_abbreviation("md") == "muhammad"
    assert LEX.expand_abbreviation("maria") is None


def test_particles_titles_and_suffixes() -> None:
    assert ("de", "la") in LEX.particle_phrases
    assert ("van", "der") in LEX.particle_phrases
    lengths = [len(phrase) for phrase in LEX.particle_phrases]
    assert lengths == sorted(lengths, reverse=True)
    assert LEX.is_particle("dela") and LEX.is_particle("da") and LEX.is_particle("Al")
    assert not LEX.is_particle("de la")  # phrases are in particle_phrases
    assert not LEX.is_particle("garcia")
    assert {"don", "dona", "sr", "mme", "sheikh"} <= LEX.titles
    assert {"jr", "sr", "iii", "hijo", "filho"} <= LEX.suffixes
    assert "ti" in LEX.prefix_words
    assert "y" in LEX.connectors
    assert {"inday", "kuya"} <= LEX.endearments
    assert "abu" in LEX.teknonyms
    assert {"van", "thi"} <= LEX.optional_middles
    assert ("abd", "al", "rahman") in LEX.variant_phrases


def test_countries() -> None:
    assert {"VN", "JP", "CN", "KR", "HU"} <= LEX.family_first_countries
    assert {"MX", "ES", "CO"} <= LEX.two_surname_countries
    assert "BR" not in LEX.two_surname_countries
    assert LEX.country_customs("br") == {"two_surnames_maternal_first"}
    assert LEX.country_customs("PH") == {"maternal_middle"}
    assert LEX.country_customs("ZZ") == frozenset()


def test_loaded_once() -> None:
    assert load_lexicon() is LEX
