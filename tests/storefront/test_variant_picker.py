"""The product page's option selector always resolves to exactly the variant it shows (property tests)."""
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from storefront.variant_picker import KEY_SEP, picker_model, selection_from_query

AXIS = st.sampled_from(["size", "colour", "length", "尺码", "layout"])
VALUE = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=KEY_SEP + "\x00"),
                min_size=1, max_size=8)


@st.composite
def option_grids(draw):
    """A product's variants: some axes, each with some values, and a random subset of the combinations
    (merchants rarely stock every size in every colour), each with its own price and stock."""
    axes = draw(st.lists(AXIS, min_size=0, max_size=3, unique=True))
    values = {a: draw(st.lists(VALUE, min_size=1, max_size=4, unique=True)) for a in axes}
    combos = [{}]
    for a in axes:
        combos = [{**c, a: v} for c in combos for v in values[a]]
    present = draw(st.lists(st.sampled_from(range(len(combos))), min_size=1, max_size=len(combos), unique=True))
    rows = []
    for n, i in enumerate(present):
        rows.append(SimpleNamespace(
            variant_id=1000 + n, options=combos[i], sku=f"SKU-{n}",
            price_minor=draw(st.integers(min_value=0, max_value=10**9)), currency="CNY",
            stock_state=draw(st.sampled_from(["in_stock", "low", "out"])), available=draw(st.integers(0, 500))))
    return axes, values, rows


@settings(max_examples=300, deadline=None)
@given(option_grids(), st.data())
def test_any_selection_resolves_to_the_variant_with_exactly_those_options_or_to_nothing(grid, data):
    axes, values, rows = grid
    model = picker_model(rows)
    assert model.axes == axes
    selection = {a: data.draw(st.sampled_from(values[a])) for a in axes}
    chosen = model.resolve(selection)
    matching = [r for r in rows if r.options == selection]
    if matching:
        # what the page shows (price, stock) and what "Add to cart" sends (variant id) are one row
        assert chosen is not None
        assert chosen.variant_id == matching[0].variant_id
        assert (chosen.price_minor, chosen.stock_state, chosen.options) == (
            matching[0].price_minor, matching[0].stock_state, matching[0].options)
    else:
        assert chosen is None


@settings(max_examples=200, deadline=None)
@given(option_grids())
def test_every_variant_is_reachable_and_its_own_selection_names_it(grid):
    _axes, _values, rows = grid
    model = picker_model(rows)
    assert len(model.combos) == len(rows)
    for r in rows:
        c = model.resolve(model.selection_of(model.combos[model.key(r.options)]))
        assert c is not None and c.variant_id == r.variant_id


@settings(max_examples=200, deadline=None)
@given(option_grids(), st.data())
def test_the_page_query_selects_the_named_variant_and_ignores_unknown_values(grid, data):
    axes, values, rows = grid
    model = picker_model(rows)
    target = data.draw(st.sampled_from(rows))
    query = {f"opt.{a}": v for a, v in target.options.items()}
    query["opt.nonsense"] = "x"
    assert model.resolve(selection_from_query(model, query)).variant_id == target.variant_id
    # an invented value falls back to the default variant's value on that axis, never to a random row
    if axes:
        bad = {f"opt.{axes[0]}": "no-such-value-\u2603"}
        sel = selection_from_query(model, bad)
        assert sel == model.selection_of(model.default())


def test_default_is_the_cheapest_in_stock_variant():
    rows = [SimpleNamespace(variant_id=1, options={"size": "S"}, price_minor=100, currency="CNY", stock_state="out", available=0),
            SimpleNamespace(variant_id=2, options={"size": "M"}, price_minor=300, currency="CNY", stock_state="in_stock", available=5),
            SimpleNamespace(variant_id=3, options={"size": "L"}, price_minor=200, currency="CNY", stock_state="low", available=2)]
    assert picker_model(rows).default().variant_id == 3


def test_a_selection_with_an_axis_the_product_lacks_resolves_to_nothing():
    rows = [SimpleNamespace(variant_id=1, options={"size": "S"}, price_minor=100, currency="CNY", stock_state="in_stock", available=1)]
    assert picker_model(rows).resolve({"size": "S", "colour": "red"}) is None
