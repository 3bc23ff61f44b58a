"""The model-based test's SMALL PIM catalog, written as Akeneo installer fixtures (the sandbox PIM reads them).

Shape: a `shop` subtree (hats, bags > totes, apparel) beside `archive` (outside the synced subtree);
families accessories / gadgets (simple products), clothing (two-level model: colour, then size; the
sub-model level holds `composition` and `material`) and shoes (one-level model: eu_size; the price on the
root). Seven simple products (one outside the subtree, one disabled), a t-shirt model with two sub-models
and three variants, a polo model (one sub-model, one variant), a sneaker model with two variants. Images are tiny generated PNGs (distinct bytes)."""

from __future__ import annotations

import csv
import io
import struct
import zlib
from pathlib import Path

from sandbox.pim.catalog import media_code

IMAGES = ["img/red.png", "img/green.png", "img/blue.png", "img/black.png", "img/white.png"]
COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (0, 0, 0), (255, 255, 255)]

ATTR_COLUMNS = ("code;label-en_US;label-fr_FR;allowed_extensions;available_locales;date_max;date_min;decimals_allowed;"
                "default_metric_unit;group;localizable;max_characters;max_file_size;metric_family;negative_allowed;"
                "number_max;number_min;reference_data_name;scopable;sort_order;type;unique;useable_as_grid_filter;"
                "validation_regexp;validation_rule;wysiwyg_enabled")

# code, label, type, localizable, scopable, decimals, metric family, unit
ATTRIBUTES = [
    ("sku", "SKU", "pim_catalog_identifier", 0, 0, "", "", ""),
    ("name", "Name", "pim_catalog_text", 0, 0, "", "", ""),
    ("description", "Description", "pim_catalog_textarea", 1, 1, "", "", ""),
    ("keywords", "Keywords", "pim_catalog_text", 1, 0, "", "", ""),
    ("warranty", "Warranty", "pim_catalog_text", 0, 0, "", "", ""),
    ("ean", "EAN", "pim_catalog_text", 0, 0, "", "", ""),
    ("brand", "Brand", "pim_catalog_simpleselect", 0, 0, "", "", ""),
    ("material", "Material", "pim_catalog_text", 0, 0, "", "", ""),
    ("composition", "Composition", "pim_catalog_text", 0, 0, "", "", ""),
    ("price", "Price", "pim_catalog_price_collection", 0, 0, "1", "", ""),
    ("sale_price", "Sale price", "pim_catalog_price_collection", 0, 0, "1", "", ""),
    ("weight", "Weight", "pim_catalog_metric", 0, 0, "1", "Weight", "KILOGRAM"),
    ("picture", "Picture", "pim_catalog_image", 0, 0, "", "", ""),
    ("picture_2", "Second picture", "pim_catalog_image", 0, 0, "", "", ""),
    ("color", "Color", "pim_catalog_simpleselect", 0, 0, "", "", ""),
    ("size", "Size", "pim_catalog_simpleselect", 0, 0, "", "", ""),
    ("eu_size", "EU size", "pim_catalog_simpleselect", 0, 0, "", "", ""),
]

OPTIONS = [("brand", "acme", "Acme"), ("brand", "zenith", "Zenith"), ("color", "red", "Red"),
           ("color", "blue", "Blue"), ("size", "s", "S"), ("size", "m", "M"), ("size", "l", "L"),
           ("eu_size", "eu40", "40"), ("eu_size", "eu41", "41"), ("eu_size", "eu42", "42")]

SIMPLE_ATTRS = "sku,name,description,keywords,warranty,ean,brand,material,price,sale_price,weight,picture,picture_2"
FAMILIES = [
    ("accessories", SIMPLE_ATTRS, "sku,name,price,description"),
    ("gadgets", "sku,name,description,price,weight,picture,brand", "sku,name,price"),
    ("clothing", "sku,name,description,brand,material,composition,color,size,price,weight,picture,ean", "sku,name"),
    ("shoes", "sku,name,description,brand,eu_size,price,weight,picture,ean", "sku,name"),
]
CATEGORIES = [("master", "", "Master"), ("shop", "master", "Shop"), ("hats", "shop", "Hats"),
              ("bags", "shop", "Bags"), ("totes", "bags", "Totes"), ("apparel", "shop", "Apparel"),
              ("archive", "master", "Archive")]

PRODUCT_COLUMNS = ["sku", "categories", "enabled", "family", "parent", "name", "description-en_US-ecommerce",
                   "description-fr_FR-ecommerce", "keywords-en_US", "warranty", "ean", "brand", "material",
                   "composition", "price-EUR", "price-USD", "sale_price-EUR", "weight", "weight-unit", "picture",
                   "picture_2", "color", "size", "eu_size"]
PRODUCTS = [
    {"sku": "HAT-1", "categories": "hats", "family": "accessories", "name": "Straw hat", "price-EUR": "20",
     "price-USD": "22", "description-en_US-ecommerce": "<p>Light &amp; airy</p>", "description-fr_FR-ecommerce":
         "<p>Léger</p>", "keywords-en_US": "summer", "brand": "acme", "material": "straw", "weight": "0.3",
     "picture": IMAGES[0]},
    {"sku": "HAT-2", "categories": "hats", "family": "accessories", "name": "Wool hat", "price-EUR": "25",
     "sale_price-EUR": "19", "warranty": "1 year", "picture": IMAGES[1], "picture_2": IMAGES[2],
     "description-en_US-ecommerce": "<p>Warm</p>"},
    {"sku": "TOTE-1", "categories": "totes", "family": "accessories", "name": "Tote bag", "price-EUR": "15",
     "ean": "4006381333931", "description-en_US-ecommerce": "<p>Big</p>"},
    {"sku": "GADGET-1", "categories": "shop", "family": "gadgets", "name": "Pocket lamp", "price-EUR": "9.5",
     "brand": "zenith", "weight": "0.1"},
    {"sku": "OLD-1", "categories": "archive", "family": "accessories", "name": "Old hat", "price-EUR": "5",
     "picture": IMAGES[3], "picture_2": IMAGES[4], "description-en_US-ecommerce": "<p>Old</p>"},
    {"sku": "DRAFT-1", "categories": "bags", "family": "accessories", "name": "Draft bag", "price-EUR": "12",
     "enabled": "0", "description-en_US-ecommerce": "<p>Soon</p>"},
    {"sku": "TEE-RED-S", "parent": "tshirt-red", "size": "s", "price-EUR": "10", "ean": "111"},
    {"sku": "TEE-RED-M", "parent": "tshirt-red", "size": "m", "price-EUR": "11"},
    {"sku": "TEE-BLUE-M", "parent": "tshirt-blue", "size": "m", "price-EUR": "12", "weight": "0.2"},
    {"sku": "POLO-RED-L", "parent": "polo-red", "size": "l", "price-EUR": "30"},
    {"sku": "SNK-40", "parent": "sneaker", "eu_size": "eu40"},
    {"sku": "SNK-41", "parent": "sneaker", "eu_size": "eu41"},
]
MODEL_COLUMNS = ["code", "family_variant", "parent", "categories", "name", "description-en_US-ecommerce", "brand",
                 "material", "composition", "color", "price-EUR", "weight", "weight-unit", "picture"]
MODELS = [
    {"code": "tshirt", "family_variant": "clothing_color_size", "categories": "apparel", "name": "Basic tee",
     "description-en_US-ecommerce": "<p>Soft</p>", "brand": "acme", "picture": IMAGES[2]},
    {"code": "tshirt-red", "family_variant": "clothing_color_size", "parent": "tshirt", "color": "red",
     "composition": "cotton", "material": "jersey"},
    {"code": "tshirt-blue", "family_variant": "clothing_color_size", "parent": "tshirt", "color": "blue",
     "composition": "cotton", "material": "pique"},
    {"code": "polo", "family_variant": "clothing_color_size", "categories": "apparel", "name": "Polo shirt",
     "description-en_US-ecommerce": "<p>Smart</p>"},
    {"code": "polo-red", "family_variant": "clothing_color_size", "parent": "polo", "color": "red",
     "composition": "linen"},
    {"code": "sneaker", "family_variant": "shoes_size", "categories": "apparel", "name": "Runner", "price-EUR": "60",
     "brand": "zenith", "weight": "0.9"},
]


def png(rgb: tuple[int, int, int]) -> bytes:
    """A 1x1 PNG of one colour (BigCommerce takes PNG; each colour is a distinct file)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00" + bytes(rgb)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def media(index: int) -> str:
    """The media code the sandbox gives IMAGES[index]."""
    return media_code(IMAGES[index])


def _rows(columns: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, delimiter=";", restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "weight-unit": "KILOGRAM"} if "weight" in row else row)
    return out.getvalue()


def write_catalog(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "img").mkdir(exist_ok=True)
    for path, colour in zip(IMAGES, COLOURS, strict=True):
        (directory / path).write_bytes(png(colour))
    files = {
        "channels.csv": "code;label-en_US;locales;currencies;tree\necommerce;E-commerce;en_US,fr_FR;EUR,USD;master\n",
        "locales.csv": "code\nen_US\nfr_FR\n",
        "currencies.csv": "code;activated\nEUR;1\nUSD;1\n",
        "attribute_groups.csv": "code;sort_order;label-en_US\ngeneral;0;General\n",
        "categories.csv": "code;parent;label-en_US\n" + "".join(f"{c};{p};{label}\n" for c, p, label in CATEGORIES),
        "attribute_options.csv": "code;label-en_US;attribute;sort_order\n"
                                 + "".join(f"{c};{label};{a};{i}\n" for i, (a, c, label) in enumerate(OPTIONS)),
        "families.csv": "code;label-en_US;attributes;attribute_as_image;attribute_as_label;requirements-ecommerce\n"
                        + "".join(f"{c};{c.title()};{attrs};picture;name;{req}\n" for c, attrs, req in FAMILIES),
        "family_variants.csv": "code;family;label-en_US;variant-axes_1;variant-axes_2;variant-attributes_1;"
                               "variant-attributes_2\n"
                               "clothing_color_size;clothing;By color and size;color;size;composition,material;"
                               "sku,price,ean,weight\n"
                               "shoes_size;shoes;By size;eu_size;;sku,ean,weight;\n",
        "products.csv": _rows(PRODUCT_COLUMNS, [{"enabled": "1", **p} for p in PRODUCTS]),
        "product_models.csv": _rows(MODEL_COLUMNS, MODELS),
        "users.csv": "username;first_name;last_name;email;password;catalog_default_locale;user_default_locale;"
                     "catalog_default_scope\n",
    }
    columns = ATTR_COLUMNS.split(";")
    attr_rows = []
    for i, (code, label, kind, loc, scope, decimals, family, unit) in enumerate(ATTRIBUTES):
        row = dict.fromkeys(columns, "")
        row.update({"code": code, "label-en_US": label, "type": kind, "group": "general", "localizable": str(loc),
                    "scopable": str(scope), "decimals_allowed": decimals or ("0" if kind.endswith(("metric",
                    "number", "collection")) else ""), "metric_family": family, "default_metric_unit": unit,
                    "unique": "1" if kind == "pim_catalog_identifier" else "0", "useable_as_grid_filter": "1",
                    "negative_allowed": "0" if kind.endswith(("metric", "number")) else "",
                    "wysiwyg_enabled": "1" if kind == "pim_catalog_textarea" else "", "sort_order": str(i)})
        attr_rows.append(";".join(row[c] for c in columns))
    files["attributes.csv"] = ";".join(columns) + "\n" + "\n".join(attr_rows) + "\n"
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory
