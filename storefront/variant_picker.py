"""The product page's option selectors (size, colour, ...) as a pure function of the variant rows.

`picker_model(variants)` gives the axes, each axis's values, and a map from the selection key to the
one variant with exactly those options. The page renders the selected variant's price, stock and
variant id from one `resolve()` result, and the browser script (static/storefront-picker.js) looks
the same key up in the same map, so what is shown and what "Add to cart" sends are always one row.
A selection that names no variant resolves to None: nothing can be added.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

KEY_SEP = "\u001f"  # unit separator: cannot appear in an option value typed by a merchant


@dataclass(frozen=True)
class Choice:
    variant_id: int
    options: dict[str, str]
    price_minor: int
    currency: str
    stock_state: str
    available: int
    sku: str = ""


@dataclass
class PickerModel:
    axes: list[str]
    values: dict[str, list[str]]
    combos: dict[str, Choice] = field(default_factory=dict)

    def key(self, selection: Mapping[str, Any]) -> str:
        return selection_key(self.axes, selection)

    def resolve(self, selection: Mapping[str, Any]) -> Choice | None:
        """The variant whose options are exactly `selection` on every axis, or None."""
        if set(selection) - set(self.axes):
            return None
        return self.combos.get(self.key(selection))

    def default(self) -> Choice | None:
        """The first variant to show: the cheapest in stock, else the cheapest."""
        choices = sorted(self.combos.values(), key=lambda c: (c.stock_state == "out", c.price_minor, c.variant_id))
        return choices[0] if choices else None

    def selection_of(self, choice: Choice) -> dict[str, str]:
        return {a: choice.options.get(a, "") for a in self.axes}


def selection_key(axes: Iterable[str], selection: Mapping[str, Any]) -> str:
    return KEY_SEP.join(str(selection.get(a, "") or "") for a in axes)


def _options(row) -> dict:
    opts = getattr(row, "options", None)
    return opts if isinstance(opts, dict) else {}


def picker_model(variants: Iterable[Any]) -> PickerModel:
    """Build the selectors from listing rows (anything with variant_id, options, price_minor, currency,
    stock_state, available). Axes keep the order of their first appearance; two variants with the
    same options (a merchant's mistake) keep the first, so a key never names two rows."""
    rows = list(variants)
    axes: list[str] = []
    for r in rows:
        for a in _options(r):
            if str(a) not in axes:
                axes.append(str(a))
    values: dict[str, list[str]] = {a: [] for a in axes}
    combos: dict[str, Choice] = {}
    for r in rows:
        opts = {str(k): str(v) for k, v in _options(r).items()}
        for a in axes:
            v = opts.get(a, "")
            if v not in values[a]:
                values[a].append(v)
        key = selection_key(axes, opts)
        if key not in combos:
            combos[key] = Choice(variant_id=int(r.variant_id), options=opts, price_minor=int(r.price_minor),
                                 currency=str(r.currency), stock_state=str(r.stock_state),
                                 available=int(getattr(r, "available", 0) or 0), sku=str(getattr(r, "sku", "") or ""))
    return PickerModel(axes=axes, values=values, combos=combos)


def selection_from_query(model: PickerModel, query: Mapping[str, Any]) -> dict[str, str]:
    """The selection named by ?opt.<axis>=<value> parameters, completed from the default variant."""
    base = model.default()
    chosen = model.selection_of(base) if base else {a: "" for a in model.axes}
    for a in model.axes:
        raw = query.get(f"opt.{a}")
        if raw is not None and str(raw)[:120] in model.values[a]:
            chosen[a] = str(raw)[:120]
    return chosen
