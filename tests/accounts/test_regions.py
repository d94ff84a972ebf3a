"""Address validation in memory (accounts.regions through orders.validation.clean_address): every
province → city → district of the GB/T 2260 data is accepted, invented ones are refused naming the field,
mobile numbers and postcodes per country."""
import time

import pytest

from accounts.regions import COUNTRIES, cn_children, cn_tree
from core.errors import ValidationFailed
from orders.validation import clean_address

BASE = {"name": "李雷", "phone": "13800138000", "line1": "世纪大道100号", "postcode": "200120", "country": "CN"}


def _field_of(address) -> str:
    with pytest.raises(ValidationFailed) as err:
        clean_address(address)
    return err.value.field


def test_every_province_city_district_of_the_data_is_accepted_and_fast():
    tree = cn_tree()
    checked = 0
    started = time.perf_counter()
    for province in tree.provinces:
        for city in cn_children(province.code):
            for district in cn_children(city.code):
                out = clean_address({**BASE, "region": province.name, "city": city.name, "district": district.name})
                assert (out["city"], out["district"]) == (city.name, district.name)
                assert out["region"].startswith("CN-") and len(out["region"]) == 5
                by_code = clean_address({**BASE, "region": province.code + "0000", "city": city.code + "00",
                                         "district": district.code})
                assert (by_code["city"], by_code["district"]) == (city.name, district.name)
                checked += 1
    assert checked > 2900  # the 2023 data has 3,056 county-level districts under 342 prefectures
    assert time.perf_counter() - started < 10


def test_shanghai_pudong_by_name():
    out = clean_address({**BASE, "region": "上海市", "city": "市辖区", "district": "浦东新区"})
    assert (out["region"], out["city"], out["district"]) == ("CN-SH", "市辖区", "浦东新区")
    # the ISO codes shipping rules use stay as written
    assert clean_address({**BASE, "region": "SH", "city": "市辖区", "district": "浦东新区"})["region"] == "SH"


@pytest.mark.parametrize("change, field", [
    ({"region": "Mars"}, "shipping_address.region"),
    ({"region": "XX-YY"}, "shipping_address.region"),
    ({"region": "99"}, "shipping_address.region"),
    ({"country": "ZZ"}, "shipping_address.country"),
    ({"country": "XX"}, "shipping_address.country"),
    ({"city": "火星市"}, "shipping_address.city"),
    ({"city": "杭州市"}, "shipping_address.city"),  # a real city of another province
    ({"district": "火星区"}, "shipping_address.district"),
    ({"district": "西湖区"}, "shipping_address.district"),  # a real district of another city
    ({"district": ""}, "shipping_address.district"),
    ({"district": "310215"}, "shipping_address.district"),  # an invented code
])
def test_invented_or_mismatched_divisions_are_refused_naming_the_field(change, field):
    address = {**BASE, "region": "上海市", "city": "市辖区", "district": "浦东新区", **change}
    assert _field_of(address) == field


def test_invented_combinations_across_the_data_are_refused():
    """Every city paired with a district of another city of its province, and with the first district of
    the next province: refused naming the district (or the city when the city is not the province's)."""
    tree = cn_tree()
    provinces = list(tree.provinces)
    for i, province in enumerate(provinces):
        cities = cn_children(province.code)
        other = provinces[(i + 1) % len(provinces)]
        foreign_district = cn_children(cn_children(other.code)[0].code)[0]
        for j, city in enumerate(cities):
            own = {d.name for d in cn_children(city.code)}
            if foreign_district.name not in own:
                assert _field_of({**BASE, "region": province.name, "city": city.name,
                                  "district": foreign_district.code}) == "shipping_address.district"
            if len(cities) > 1:
                neighbour = cities[(j + 1) % len(cities)]
                wrong = next((d for d in cn_children(neighbour.code) if d.name not in own), None)
                if wrong is not None:
                    assert _field_of({**BASE, "region": province.name, "city": city.name,
                                      "district": wrong.code}) == "shipping_address.district"
        foreign_city = cn_children(other.code)[0]
        if foreign_city.name not in {c.name for c in cities}:
            assert _field_of({**BASE, "region": province.name, "city": foreign_city.code,
                              "district": cn_children(foreign_city.code)[0].code}) == "shipping_address.city"


@pytest.mark.parametrize("phone", ["13800138000", "+86 138 0013 8000", "0086-199-1234-5678", "15912345678"])
def test_chinese_mobile_numbers_accepted(phone):
    assert clean_address({**BASE, "region": "SH", "city": "市辖区", "district": "浦东新区", "phone": phone})["phone"] == phone


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "138001380001", "+1 415 555 0100", "021-12345678",
                                   "call me", "１３８００１３８０００", "1３８００１３８０００"])
def test_wrong_chinese_mobile_numbers_refused(phone):
    assert _field_of({**BASE, "region": "SH", "city": "市辖区", "district": "浦东新区", "phone": phone}) == "shipping_address.phone"


INTL = {"name": "Ann", "phone": "+1 415 555 0100", "line1": "1 Main St", "city": "Springfield"}


@pytest.mark.parametrize("country, region, postcode", [
    ("US", "CA", "94105"), ("US", "ny", "10001-1234"), ("GB", "", "SW1A 1AA"), ("GB", "Kent", "ct1 2ab"),
    ("DE", "", "10115"), ("FR", "", "75001"), ("HK", "Kowloon", ""), ("JP", "Tokyo", "1000001"), ("JP", "Tokyo", "100-0001"),
    ("CA", "ON", "K1A 0B1"), ("NL", "", "1012 AB"),
])
def test_postcodes_of_each_country_accepted(country, region, postcode):
    out = clean_address({**INTL, "country": country, "region": region, "postcode": postcode})
    assert out["country"] == country


@pytest.mark.parametrize("country, region, postcode, field", [
    ("US", "CA", "9410", "postcode"), ("US", "CA", "ABCDE", "postcode"), ("US", "", "94105", "region"),
    ("US", "XX", "94105", "region"), ("GB", "", "12345", "postcode"), ("GB", "", "", "postcode"),
    ("DE", "", "1011", "postcode"), ("FR", "", "750011", "postcode"), ("HK", "", "999077", "postcode"),
    ("JP", "Tokyo", "100001", "postcode"), ("JP", "", "1000001", "region"), ("ZZ", "", "12345", "country"),
    ("CN", "Mars", "200120", "region"), ("DE", "", "１０１１５", "postcode"),
])
def test_wrong_postcodes_and_regions_refused_naming_the_field(country, region, postcode, field):
    phone = "13800138000" if country == "CN" else INTL["phone"]
    assert _field_of({**INTL, "phone": phone, "country": country, "region": region, "postcode": postcode}) == f"shipping_address.{field}"


def test_every_listed_country_has_an_example_postcode_that_passes():
    for code, rule in COUNTRIES.items():
        if code == "CN":
            continue
        region = rule.regions[0] if rule.regions else ("R" if rule.region_required else "")
        clean_address({**INTL, "country": code, "region": region, "postcode": str(rule.postcode_hint)})


def test_an_api_client_without_districts_keeps_working_with_a_checked_province():
    out = clean_address({**BASE, "region": "SH", "city": "Shanghai"})
    assert (out["region"], out["city"], out.get("district")) == ("SH", "Shanghai", "")
    assert _field_of({**BASE, "region": "Mars", "city": "Shanghai"}) == "shipping_address.region"
