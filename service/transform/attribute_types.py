"""Akeneo attribute type codes, grouped the way the mapping accepts them."""

IDENTIFIER = "pim_catalog_identifier"
TEXT = "pim_catalog_text"
TEXTAREA = "pim_catalog_textarea"
SIMPLESELECT = "pim_catalog_simpleselect"
MULTISELECT = "pim_catalog_multiselect"
BOOLEAN = "pim_catalog_boolean"
DATE = "pim_catalog_date"
NUMBER = "pim_catalog_number"
METRIC = "pim_catalog_metric"
PRICE = "pim_catalog_price_collection"
IMAGE = "pim_catalog_image"
FILE = "pim_catalog_file"
REF_SIMPLESELECT = "pim_reference_data_simpleselect"
REF_MULTISELECT = "pim_reference_data_multiselect"

# Pseudo attribute for the visibility field: the product's own `enabled` flag.
ENABLED = "enabled"

SELECTS = (SIMPLESELECT, REF_SIMPLESELECT)
MULTISELECTS = (MULTISELECT, REF_MULTISELECT)
# Types whose value reads naturally as one line of text (custom fields, option labels, keywords).
TEXTUAL = (IDENTIFIER, TEXT, TEXTAREA, *SELECTS, *MULTISELECTS, BOOLEAN, DATE, NUMBER, METRIC, PRICE)
