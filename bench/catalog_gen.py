"""Generate a large Akeneo fixture catalog (icecat's schema, generated products) for the sandbox PIM.

    .venv/bin/python bench/catalog_gen.py OUT_DIR --products 100000 [--model-share 0.2]

The schema CSVs (attributes, families, family variants, options, categories, channels, ...) are icecat's;
`files/` links to icecat's images. Products: `1 - model_share` simple products (family led_tvs, EUR price,
weight, description, a picture cycling over icecat's images, spread over the master tree's categories) and
`model_share` variant products under product models of 8 variants each, alternating one level
(clothing_size: 8 sizes) and two levels (clothing_color_size: 2 colours x 4 sizes, sub-models per colour),
each root with its own image. Load it with `sandbox.pim.create_app(catalog_dir=OUT_DIR)`.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.pim import DEFAULT_CATALOG  # noqa: E402

SIZES = ["xs", "s", "m", "l", "xl", "xxl", "xxxl", "u"]
COLORS = ["black", "blue", "red", "green", "white", "grey", "pink", "orange", "yellow", "brown"]
PRODUCT_COLUMNS = ["sku", "categories", "enabled", "family", "parent", "groups", "name", "price-EUR", "weight",
                   "weight-unit", "description-en_US-ecommerce", "picture", "ean", "size", "color",
                   "variation_name-en_US"]
MODEL_COLUMNS = ["code", "family_variant", "parent", "categories", "name", "variation_name-en_US", "price-EUR",
                 "description-en_US-ecommerce", "image", "color", "collection"]


def _rows(name: str) -> list[dict]:
    with open(DEFAULT_CATALOG / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=";"))


def _writer(path: Path, columns: list[str]):
    handle = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    writer = csv.DictWriter(handle, fieldnames=columns, delimiter=";", extrasaction="ignore")
    writer.writeheader()
    return handle, writer


def generate(out: Path, products: int, *, model_share: float = 0.2) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    for source in DEFAULT_CATALOG.iterdir():
        if source.suffix in (".csv", ".yml") and source.name not in ("products.csv", "product_models.csv"):
            shutil.copy(source, out / source.name)
    files = out / "files"
    if not files.exists():
        os.symlink(DEFAULT_CATALOG / "files", files)
    parents = {r["code"]: r["parent"] for r in _rows("categories.csv")}

    def under_master(code: str) -> bool:
        while code:
            if code == "master":
                return True
            code = parents.get(code, "")
        return False

    leaves = sorted(c for c in parents if under_master(c) and c not in set(parents.values()))
    images = sorted(str(p.relative_to(DEFAULT_CATALOG)) for p in (DEFAULT_CATALOG / "files").rglob("*")
                    if p.suffix.lower() in (".jpg", ".jpeg", ".png") and p.stat().st_size < 2_000_000)

    variants_total = int(products * model_share) // 8 * 8
    simple_total = products - variants_total
    models_total = variants_total // 8
    handle, writer = _writer(out / "products.csv", PRODUCT_COLUMNS)
    model_handle, model_writer = _writer(out / "product_models.csv", MODEL_COLUMNS)
    try:
        for i in range(simple_total):
            writer.writerow({
                "sku": f"GEN{i:07d}", "categories": leaves[i % len(leaves)], "enabled": "1", "family": "led_tvs",
                "name": f"Generated product {i}", "price-EUR": f"{10 + i % 500}.99", "weight": str(1 + i % 20),
                "weight-unit": "KILOGRAM", "picture": images[i % len(images)], "ean": f"{4000000000000 + i}",
                "description-en_US-ecommerce": f"<p>Generated product number {i}, for the import benchmark.</p>",
            })
        for j in range(models_total):
            code = f"genmodel{j:06d}"
            two_level = j % 2 == 1
            model_writer.writerow({
                "code": code, "family_variant": "clothing_color_size" if two_level else "clothing_size",
                "parent": "", "categories": leaves[j % len(leaves)], "name": f"Generated model {j}",
                "variation_name-en_US": f"Generated model {j}", "price-EUR": f"{20 + j % 300}.50",
                "description-en_US-ecommerce": f"<p>Generated model {j}</p>",
                "image": images[(j * 7) % len(images)], "collection": "summer_2016",
            })
            if two_level:
                for c in range(2):
                    color = COLORS[(j + c) % len(COLORS)]
                    sub = f"{code}-{color}"
                    model_writer.writerow({"code": sub, "family_variant": "clothing_color_size", "parent": code,
                                           "color": color, "variation_name-en_US": f"Generated model {j} {color}"})
                    for size in SIZES[:4]:
                        writer.writerow({"sku": f"GENV{j:06d}-{color}-{size}", "enabled": "1", "family": "clothing",
                                         "parent": sub, "size": size, "weight": "1", "weight-unit": "KILOGRAM",
                                         "ean": f"{5000000000000 + j * 10 + SIZES.index(size) + c * 4}"})
            else:
                for size in SIZES:
                    writer.writerow({"sku": f"GENV{j:06d}-{size}", "enabled": "1", "family": "clothing",
                                     "parent": code, "size": size, "weight": "1", "weight-unit": "KILOGRAM",
                                     "ean": f"{5000000000000 + j * 10 + SIZES.index(size)}"})
    finally:
        handle.close()
        model_handle.close()
    return {"simple": simple_total, "models": models_total, "variants": variants_total,
            "store_products": simple_total + models_total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--model-share", type=float, default=0.2)
    args = parser.parse_args()
    print(generate(args.out, args.products, model_share=args.model_share))


if __name__ == "__main__":
    main()
