"""Plain text is text, not HTML (issue 19): only textareas carry HTML; text values reach plain store
fields as written and HTML store fields (description, warranty) HTML-escaped."""

from __future__ import annotations

from service.transform import attribute_types as t
from service.transform.convert import text_value
from service.transform.product import build_product_model, build_simple_product
from tests.transform.fixtures import ATTRIBUTES, CATALOG, MODEL, ctx, simple, variant

TOTE = "Tote bag <Limited> edition"


def text(data, code: str, plain: bool = True) -> str | None:
    return text_value(data, ATTRIBUTES[code], CATALOG, "en_US", "EUR", plain=plain)


def test_a_text_value_is_never_parsed_as_html():
    assert text(TOTE, "tagline") == TOTE
    assert text("  a <b>  b </b> ", "tagline") == "a <b> b </b>"  # whitespace collapsed, nothing else
    assert text("<p>x</p>", "sku") == "<p>x</p>"  # identifiers too


def test_a_text_value_in_an_html_field_is_escaped():
    assert text(TOTE, "tagline", plain=False) == "Tote bag &lt;Limited&gt; edition"
    assert text("Fish & chips", "tagline", plain=False) == "Fish &amp; chips"
    assert text("acme", "brand", plain=False) == "Acme &lt;Pro&gt; &amp; Sons"  # option labels are text


def test_only_textareas_carry_html():
    assert text("<p>Soft &amp; <b>light</b></p>", "description", plain=False) == "<p>Soft &amp; <b>light</b></p>"
    assert text("<p>Soft &amp; <b>light</b></p>", "notes", plain=False) == "<p>Soft &amp; <b>light</b></p>"
    assert text("<p>Soft &amp; <b>light</b></p>", "notes") == "Soft & light"  # a plain field: the text
    assert ATTRIBUTES["notes"]["type"] == t.TEXTAREA and not ATTRIBUTES["notes"].get("wysiwyg_enabled")


def test_names_and_plain_fields_get_the_text_as_is():
    plan = build_simple_product(simple(name=TOTE, title=TOTE, mpn="<M-1>", brand="acme"), ctx())
    assert plan.payload["name"] == TOTE
    assert plan.payload["page_title"] == TOTE
    assert plan.payload["mpn"] == "<M-1>"
    assert plan.payload["brand_name"] == "Acme <Pro> & Sons"


def test_html_fields_fed_by_text_are_escaped():
    plan = build_simple_product(simple(tagline=TOTE, warranty="2 years <parts>"), ctx(description="tagline"))
    assert plan.payload["description"] == "Tote bag &lt;Limited&gt; edition"
    assert plan.payload["warranty"] == "2 years &lt;parts&gt;"


def test_custom_fields_and_option_labels_keep_their_characters():
    plan = build_simple_product(simple(material="Cotton <organic>"), ctx())
    assert plan.payload["custom_fields"] == [{"name": "Material", "value": "Cotton <organic>"}]
    model = build_product_model(MODEL, [], [variant("T-S", "s", price=[{"amount": "5", "currency": "EUR"}])], ctx())
    assert model.variants[0]["option_values"] == [{"option_display_name": "Size <EU>", "label": "S <small>"}]
