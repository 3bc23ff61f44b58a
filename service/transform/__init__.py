"""Pure transforms from Akeneo PIM data to BigCommerce payloads (no I/O: no client, store or web code).

- context.py: the inputs (the PIM's schema, the store's settings, the tenant's locale/channel/mapping)
- values.py: reading a value for a locale and channel
- convert.py: one value to what a BigCommerce field takes
- mapping.py: which attribute feeds which field, its suggested defaults and its validation
- product.py: a product or product model to one POST /v3/catalog/products body (the entry)
- fields.py: a mapped field's value as a BigCommerce field takes it, and the product-level fields
- variants.py: a product model's variants and options
"""
