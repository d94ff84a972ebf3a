"""Where the mall ships and how an address there is written: the countries we accept with their postcode
and region rules, China's province → city → district tree (GB/T 2260 codes, accounts/data/cn_divisions.json,
its source named there and in docs/decisions.md) and mobile numbers. Everything is checked in memory.

`address_check(address, field=...)` is used by orders.validation.clean_address (checkout page and API,
merchant drafts, address changes) and by the address book; its errors name the field at fault
(`shipping_address.district`)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ValidationFailed

DATA_FILE = Path(__file__).resolve().parent / "data" / "cn_divisions.json"

# ISO 3166-2:CN subdivision letters by GB/T 2260 province code. Shipping rules name provinces this way
# ("CN-SH", or "SH" as older rules and API clients write it).
CN_PROVINCE_ISO = {
    "11": "BJ", "12": "TJ", "13": "HE", "14": "SX", "15": "NM", "21": "LN", "22": "JL", "23": "HL", "31": "SH",
    "32": "JS", "33": "ZJ", "34": "AH", "35": "FJ", "36": "JX", "37": "SD", "41": "HA", "42": "HB", "43": "HN",
    "44": "GD", "45": "GX", "46": "HI", "50": "CQ", "51": "SC", "52": "GZ", "53": "YN", "54": "XZ", "61": "SN",
    "62": "GS", "63": "QH", "64": "NX", "65": "XJ",
}
CN_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)  # ASCII: \d would take full-width digits
GENERIC_PHONE_RE = re.compile(r"^\+?[0-9 ()-]{5,30}$", re.ASCII)

US_STATES = ("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
             "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP AA AE AP").split()
CA_PROVINCES = "AB BC MB NB NL NS NT NU ON PE QC SK YT".split()
AU_STATES = "ACT NSW NT QLD SA TAS VIC WA".split()
GB_POSTCODE = r"(GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})"


@dataclass(frozen=True)
class CountryRule:
    name: object
    postcode: str | None  # a full-match regex (upper-cased, trimmed input); None = the country has no postcodes
    postcode_required: bool = True
    region_required: bool = False
    regions: tuple[str, ...] = ()  # when given, the region must be one of these codes
    region_label: object = gettext_lazy("State / province / county")
    postcode_hint: object = ""


# The countries the mall ships to. A code not listed here ("ZZ", "XX") is refused with the field named.
COUNTRIES: dict[str, CountryRule] = {
    "CN": CountryRule(gettext_lazy("China"), r"\d{6}", postcode_required=False, region_required=True,
                      region_label=gettext_lazy("Province"), postcode_hint="200120"),
    "HK": CountryRule(gettext_lazy("Hong Kong SAR, China"), None, region_label=gettext_lazy("District")),
    "MO": CountryRule(gettext_lazy("Macao SAR, China"), None, region_label=gettext_lazy("District")),
    "TW": CountryRule(gettext_lazy("Taiwan, China"), r"\d{3}(\d{2,3})?", region_required=True,
                      region_label=gettext_lazy("City / county"), postcode_hint="100"),
    "JP": CountryRule(gettext_lazy("Japan"), r"\d{3}-?\d{4}", region_required=True,
                      region_label=gettext_lazy("Prefecture"), postcode_hint="100-0001"),
    "KR": CountryRule(gettext_lazy("South Korea"), r"\d{5}", postcode_hint="03187"),
    "SG": CountryRule(gettext_lazy("Singapore"), r"\d{6}", postcode_hint="018956"),
    "US": CountryRule(gettext_lazy("United States"), r"\d{5}(-\d{4})?", region_required=True, regions=tuple(US_STATES),
                      region_label=gettext_lazy("State"), postcode_hint="94105"),
    "CA": CountryRule(gettext_lazy("Canada"), r"[A-Z]\d[A-Z] ?\d[A-Z]\d", region_required=True,
                      regions=tuple(CA_PROVINCES), region_label=gettext_lazy("Province"), postcode_hint="K1A 0B1"),
    "GB": CountryRule(gettext_lazy("United Kingdom"), GB_POSTCODE, region_label=gettext_lazy("County"),
                      postcode_hint="SW1A 1AA"),
    "DE": CountryRule(gettext_lazy("Germany"), r"\d{5}", postcode_hint="10115"),
    "FR": CountryRule(gettext_lazy("France"), r"\d{5}", postcode_hint="75001"),
    "IT": CountryRule(gettext_lazy("Italy"), r"\d{5}", postcode_hint="00118"),
    "ES": CountryRule(gettext_lazy("Spain"), r"\d{5}", postcode_hint="28001"),
    "NL": CountryRule(gettext_lazy("Netherlands"), r"\d{4} ?[A-Z]{2}", postcode_hint="1012 AB"),
    "AU": CountryRule(gettext_lazy("Australia"), r"\d{4}", region_required=True, regions=tuple(AU_STATES),
                      region_label=gettext_lazy("State"), postcode_hint="2000"),
}


# ---------------------------------------------------------------- China's divisions, in memory

@dataclass(frozen=True)
class Division:
    code: str  # 2 digits (province), 4 (prefecture), 6 (district)
    name: str


@dataclass(frozen=True)
class DivisionTree:
    provinces: tuple[Division, ...]
    children: dict[str, tuple[Division, ...]]  # code -> its children, in the source's order
    by_code: dict[str, Division]
    source: str


@cache
def cn_tree() -> DivisionTree:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    children: dict[str, tuple[Division, ...]] = {}
    by_code: dict[str, Division] = {}

    def walk(nodes) -> tuple[Division, ...]:
        out = []
        for node in nodes:
            d = Division(node[0], node[1])
            by_code[d.code] = d
            if len(node) > 2:
                children[d.code] = walk(node[2])
            out.append(d)
        return tuple(out)

    provinces = walk(raw["divisions"])
    return DivisionTree(provinces=provinces, children=children, by_code=by_code, source=raw["_source"])


def cn_children(code: str = "") -> tuple[Division, ...]:
    """The provinces (code ''), a province's prefectures, or a prefecture's districts."""
    tree = cn_tree()
    return tree.provinces if not code else tree.children.get(code, ())


def _short(code: str, level: int) -> str:
    """GB/T 2260 codes are written with 6 digits (310000, 310100, 310115) or cut to their level (31, 3101)."""
    code = code.strip()
    if re.fullmatch(r"\d{6}", code, flags=re.ASCII) and level < 6:
        return code[:level] if code[level:] == "0" * (6 - level) else ""
    return code


def cn_province(value: str) -> Division | None:
    """A province by ISO 3166-2 code (SH, CN-SH), GB/T code (31, 310000) or name (上海市, 上海)."""
    value = (value or "").strip()
    if not value:
        return None
    tree = cn_tree()
    iso = value.upper().removeprefix("CN-")
    for code, letters in CN_PROVINCE_ISO.items():
        if iso == letters:
            return tree.by_code.get(code)
    code = _short(iso, 2)
    if len(code) == 2 and code in tree.by_code:
        return tree.by_code[code]
    return next((p for p in tree.provinces if value in (p.name, p.name.removesuffix("省").removesuffix("市"))), None)


def _child(parent: str, value: str, level: int) -> Division | None:
    """A child of `parent` by code (either length) or exact name."""
    value = (value or "").strip()
    if not value:
        return None
    options = cn_children(parent)
    code = _short(value, level)
    return next((d for d in options if d.code == code or d.name == value), None)


def cn_province_iso(code: str) -> str:
    return f"CN-{CN_PROVINCE_ISO[code[:2]]}"


# ---------------------------------------------------------------- checks

def phone_check(phone: str, *, country: str, field: str) -> str:
    """A Chinese address needs a mainland mobile number (1[3-9] and 9 digits; +86 / spaces / dashes allowed);
    elsewhere digits, spaces, brackets and dashes with an optional +."""
    phone = (phone or "").strip()
    if country == "CN":
        digits = re.sub(r"[\s()-]", "", phone)
        digits = digits.removeprefix("+86").removeprefix("0086") if len(digits) > 11 else digits
        if not CN_MOBILE_RE.fullmatch(digits):
            raise ValidationFailed(_("Enter a mainland China mobile number: 11 digits starting with 13 to 19."),
                                   field=field)
        return phone
    if not GENERIC_PHONE_RE.fullmatch(phone):
        raise ValidationFailed(_("Phone number looks wrong."), field=field)
    return phone


def postcode_check(postcode: str, *, country: str, field: str) -> str:
    rule = COUNTRIES[country]
    postcode = " ".join((postcode or "").upper().split())
    if rule.postcode is None:
        if postcode:
            raise ValidationFailed(_("%(country)s has no postcodes: leave the postcode empty.") % {"country": rule.name},
                                   field=field)
        return ""
    if not postcode:
        if rule.postcode_required:
            raise ValidationFailed(_("Enter the postcode."), field=field)
        return ""
    if not re.fullmatch(rule.postcode, postcode, flags=re.ASCII):
        raise ValidationFailed(_("This is not a postcode of %(country)s (for example %(example)s).")
                               % {"country": rule.name, "example": rule.postcode_hint}, field=field)
    return postcode


def country_check(country: str, *, field: str) -> str:
    country = (country or "").strip().upper()
    if country not in COUNTRIES:
        raise ValidationFailed(_("The mall does not ship to this country. Choose one from the list (two-letter code such as CN)."),
                               field=field)
    return country


def address_check(address: dict, *, field: str = "shipping_address") -> dict:
    """Country, region, city and district, postcode and phone of an address whose text fields are already
    trimmed and bounded (orders.validation.clean_address). Returns it normalised: a Chinese province written
    by code or name becomes its ISO code (CN-SH) unless given as one already (SH and CN-SH stay as written:
    shipping rules name them so); city and district become the data's names."""
    out = dict(address)
    country = out["country"] = country_check(out.get("country", ""), field=f"{field}.country")
    out["phone"] = phone_check(out.get("phone", ""), country=country, field=f"{field}.phone")
    out["postcode"] = postcode_check(out.get("postcode", ""), country=country, field=f"{field}.postcode")
    rule = COUNTRIES[country]
    region = (out.get("region") or "").strip()
    if country == "CN":
        province = cn_province(region)
        if province is None:
            raise ValidationFailed(_("Choose a province of China from the list."), field=f"{field}.region")
        if not re.fullmatch(r"(CN-)?[A-Z]{2}", region.upper()):
            out["region"] = cn_province_iso(province.code)
        else:
            out["region"] = region.upper()
        district_value = (out.get("district") or "").strip()
        city = _child(province.code, out.get("city", ""), 4)
        if district_value or city is not None:
            # the full tree: the city must be the province's, the district the city's
            if city is None:
                raise ValidationFailed(_("Choose a city of %(province)s from the list.") % {"province": province.name},
                                       field=f"{field}.city")
            district = _child(city.code, district_value, 6)
            if district is None:
                raise ValidationFailed(_("Choose a district of %(city)s from the list.") % {"city": city.name},
                                       field=f"{field}.district")
            out["city"], out["district"] = city.name, district.name
        # An API client written before districts existed may send a free-text city ("Shanghai") and no
        # district: accepted with a checked province (docs/decisions.md, "Addresses"). Pages always send both.
        return out
    if rule.regions:
        if region.upper() not in rule.regions:
            raise ValidationFailed(_("Choose a %(what)s of %(country)s from the list.")
                                   % {"what": str(rule.region_label).lower(), "country": rule.name}, field=f"{field}.region")
        out["region"] = region.upper()
    elif rule.region_required and not region:
        raise ValidationFailed(_("Enter the %(what)s.") % {"what": str(rule.region_label).lower()}, field=f"{field}.region")
    if out.get("district") and country != "CN":
        out["district"] = out["district"].strip()
    return out
