"""City personas for the DEF prompt modification.

Liu et al. (2025) add "randomly selected locations into the simulation prompt" so that one model
plays many respondents; we draw a city of the respondent's country from ``cities.json`` (the
project's own lists, ~10-15 well-known cities per country). Country names resolve through the
aliases in the same file (``US``/``USA`` -> United States, ``KR`` -> South Korea, Pew's
``Britain`` -> United Kingdom), ignoring case, dots and a leading "the".
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

CITIES_PATH = Path(__file__).with_name("cities.json")


class UnknownCountryError(ValueError):
    """No city list for a country name (after resolving aliases)."""


def _key(name: str) -> str:
    k = re.sub(r"\s+", " ", name.replace(".", "").strip().casefold())
    return k[4:] if k.startswith("the ") else k


@dataclass(frozen=True)
class CityLists:
    """``cities[country]`` in file order; ``aliases[key] -> country`` (keys from :func:`_key`)."""

    cities: dict[str, tuple[str, ...]]
    aliases: dict[str, str]
    source: str = "cities.json"

    @property
    def countries(self) -> list[str]:
        return list(self.cities)

    def canonical(self, country: str) -> str:
        found = self.aliases.get(_key(country))
        if found is None:
            close = difflib.get_close_matches(_key(country), list(self.aliases), n=1, cutoff=0.75)
            hint = f"did you mean {self.aliases[close[0]]!r}? " if close else ""
            raise UnknownCountryError(
                f"no city list for country {country!r} — {hint}add it (or an alias) to "
                f"{self.source}; known: {len(self.cities)} countries such as "
                + ", ".join(self.countries[:5])
            )
        return found


def parse_city_lists(data: dict, source: str = "cities.json") -> CityLists:
    """Validate the ``{"countries": {name: {"aliases": [...], "cities": [...]}}}`` layout."""
    countries = data.get("countries") if isinstance(data, dict) else None
    if not isinstance(countries, dict) or not countries:
        raise ValueError(f"{source}: no \"countries\" object — see workbench/survey/cities.json")
    cities: dict[str, tuple[str, ...]] = {}
    aliases: dict[str, str] = {}
    for country, entry in countries.items():
        names = entry.get("cities") if isinstance(entry, dict) else None
        if not isinstance(names, list) or not names or not all(isinstance(c, str) and c.strip() for c in names):
            raise ValueError(f"{source}: {country}: \"cities\" must be a non-empty list of names")
        if len(set(names)) != len(names):
            raise ValueError(f"{source}: {country}: a city is listed twice")
        cities[country] = tuple(names)
        for alias in [country, *entry.get("aliases", [])]:
            k = _key(alias)
            if aliases.get(k, country) != country:
                raise ValueError(
                    f"{source}: alias {alias!r} names both {aliases[k]!r} and {country!r}")
            aliases[k] = country
    return CityLists(cities=cities, aliases=aliases, source=source)


@lru_cache(maxsize=4)
def _load(path: str) -> CityLists:
    p = Path(path)
    return parse_city_lists(json.loads(p.read_text(encoding="utf-8")), source=p.name)


def load_city_lists(path: str | Path | None = None) -> CityLists:
    """The city lists in ``path`` (default: the packaged ``cities.json``), cached."""
    return _load(str(Path(path) if path else CITIES_PATH))


def canonical_country(country: str, lists: CityLists | None = None) -> str:
    """``"USA"`` -> ``"United States"``; raises :class:`UnknownCountryError`."""
    return (lists or load_city_lists()).canonical(country)


def cities_for(country: str, lists: CityLists | None = None) -> tuple[str, ...]:
    lists = lists or load_city_lists()
    return lists.cities[lists.canonical(country)]


def pick_city(country: str, rng: np.random.Generator, lists: CityLists | None = None) -> str:
    """A city of ``country`` drawn uniformly with ``rng`` (DEF prompt modification)."""
    options = cities_for(country, lists)
    return options[int(rng.integers(len(options)))]
