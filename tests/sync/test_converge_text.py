"""Plain text is text, not HTML (issue 19). A text attribute's "<" and ">" reach the store as
written in plain fields (the name, the page title), HTML-escaped in HTML fields (description, warranty);
only textareas carry HTML."""

from __future__ import annotations

from tests.import_env import import_env
from tests.sync.converge_support import edit_product, full_import, product, use_mapping, value

BAG = "1111111171"  # a simple product, alone in master_accessories_bags


def test_text_with_angle_brackets_is_kept_as_text(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="master_accessories_bags") as env:
        # description and warranty are HTML fields fed by text attributes here
        use_mapping(env, description="erp_name", warranty="power_requirements")
        full_import(env)
        edit_product(env, BAG, name=value("Tote bag <Limited> edition"),
                     meta_title=value("Tote <Limited>", "en_US"),
                     erp_name=value("Tote <b>not bold</b> & co", "en_US"),
                     power_requirements=value("2 years <parts only>"))
        full_import(env)
        bag = product(env, BAG)
        assert bag["name"] == "Tote bag <Limited> edition"
        assert bag["page_title"] == "Tote <Limited>"
        assert bag["description"] == "Tote &lt;b&gt;not bold&lt;/b&gt; &amp; co"
        assert bag["warranty"] == "2 years &lt;parts only&gt;"


def test_a_textarea_carries_its_html(redis_url, tmp_path):
    with import_env(redis_url, tmp_path, category="master_accessories_bags") as env:
        edit_product(env, BAG, description=value("<p>Soft <b>leather</b> &amp; brass</p>", "en_US", "ecommerce"),
                     meta_description=value("<p>A <i>bag</i></p>", "en_US"))
        full_import(env)
        bag = product(env, BAG)
        assert bag["description"] == "<p>Soft <b>leather</b> &amp; brass</p>"
        assert bag["meta_description"] == "A bag"  # a plain store field: the textarea's text
