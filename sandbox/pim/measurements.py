"""Measurement families used by the icecat catalog's metric attributes (Akeneo's standard units)."""

from __future__ import annotations


def _unit(code: str, label: str, symbol: str, operator: str, value: str) -> dict:
    return {
        "code": code,
        "labels": {"en_US": label},
        "convert_from_standard": [{"operator": operator, "value": value}],
        "symbol": symbol,
    }


def _family(code: str, label: str, standard: str, units: list[dict]) -> dict:
    return {"code": code, "labels": {"en_US": label}, "standard_unit_code": standard,
            "units": {u["code"]: u for u in units}}


MEASUREMENT_FAMILIES = [
    _family("Length", "Length", "METER", [
        _unit("MILLIMETER", "Millimeter", "mm", "mul", "0.001"),
        _unit("CENTIMETER", "Centimeter", "cm", "mul", "0.01"),
        _unit("DECIMETER", "Decimeter", "dm", "mul", "0.1"),
        _unit("METER", "Meter", "m", "mul", "1"),
        _unit("KILOMETER", "Kilometer", "km", "mul", "1000"),
        _unit("INCH", "Inch", "in", "mul", "0.0254"),
        _unit("FEET", "Feet", "ft", "mul", "0.3048"),
        _unit("YARD", "Yard", "yd", "mul", "0.9144"),
    ]),
    _family("Weight", "Weight", "KILOGRAM", [
        _unit("MILLIGRAM", "Milligram", "mg", "mul", "0.000001"),
        _unit("GRAM", "Gram", "g", "mul", "0.001"),
        _unit("KILOGRAM", "Kilogram", "kg", "mul", "1"),
        _unit("TON", "Ton", "t", "mul", "1000"),
        _unit("OUNCE", "Ounce", "oz", "mul", "0.028349523125"),
        _unit("POUND", "Pound", "lb", "mul", "0.45359237"),
    ]),
]
