"""City personas: lists per country, aliases, seeded draws."""

import csv
from pathlib import Path

import numpy as np
import pytest

from workbench.survey.personas import (
    UnknownCountryError,
    canonical_country,
    cities_for,
    load_city_lists,
    parse_city_lists,
    pick_city,
)

PEW_FILE = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
            / "pew-global-morality" / "pew_mcm.csv")


def test_every_list_has_8_to_15_distinct_cities():
    lists = load_city_lists()
    assert len(lists.countries) >= 39
    for country, cities in lists.cities.items():
        assert 8 <= len(cities) <= 15, country
        assert len(set(cities)) == len(cities), country


@pytest.mark.parametrize("alias,country", [
    ("US", "United States"), ("usa", "United States"), ("U.S.", "United States"),
    ("United States", "United States"), ("KR", "South Korea"), ("Korea", "South Korea"),
    ("JP", "Japan"), ("japan", "Japan"), ("CN", "China"), ("PRC", "China"),
    ("Britain", "United Kingdom"), ("UK", "United Kingdom"), ("the Philippines", "Philippines"),
    ("Palestine", "Palestinian territories"), ("Czechia", "Czech Republic"),
])
def test_aliases_resolve(alias, country):
    assert canonical_country(alias) == country


@pytest.mark.skipif(not PEW_FILE.exists(), reason=f"Pew data not present at {PEW_FILE}")
def test_every_pew_country_has_a_city_list():
    with PEW_FILE.open(newline="", encoding="utf-8") as f:
        countries = {row["country"] for row in csv.DictReader(f)}
    assert len(countries) == 39
    for country in countries:
        assert len(cities_for(country)) >= 8, country


def test_pick_city_comes_from_the_list_and_varies_with_the_seed():
    japan = set(cities_for("Japan"))
    picks = [pick_city("JP", np.random.default_rng(seed)) for seed in range(40)]
    assert set(picks) <= japan
    assert len(set(picks)) >= 5  # 40 draws from 12 cities
    # the same seed gives the same sequence
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    assert [pick_city("US", a) for _ in range(10)] == [pick_city("US", b) for _ in range(10)]


def test_unknown_country_error_is_clear():
    with pytest.raises(UnknownCountryError, match="no city list for country 'Atlantis'.*cities.json"):
        pick_city("Atlantis", np.random.default_rng(0))
    with pytest.raises(UnknownCountryError, match="did you mean 'United States'"):
        canonical_country("Untied States")
    assert issubclass(UnknownCountryError, ValueError)


def test_alias_naming_two_countries_is_rejected():
    data = {"countries": {
        "Niger": {"aliases": ["NG"], "cities": ["Niamey", "Zinder"]},
        "Nigeria": {"aliases": ["NG"], "cities": ["Lagos", "Kano"]},
    }}
    with pytest.raises(ValueError, match="alias 'NG' names both 'Niger' and 'Nigeria'"):
        parse_city_lists(data)
