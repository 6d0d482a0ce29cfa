"""The message catalogue is a data file (ecert/domain/messages.json), read once at import: a code
defined twice is refused, not silently overwritten."""

import json
from importlib import resources

import pytest

from ecert.domain import i18n


def test_a_code_defined_twice_in_one_heading_is_refused():
    with pytest.raises(ValueError, match="required"):
        json.loads(
            '{"a": {"required": {"vi": "x"}, "required": {"vi": "y"}}}', object_pairs_hook=i18n._refuse_duplicates
        )


def test_a_code_under_two_headings_is_refused():
    with pytest.raises(ValueError, match="too_long"):
        i18n._refuse_duplicates([("too_long", {}), ("required", {}), ("too_long", {})])


def test_every_text_in_the_data_file_is_in_the_catalogue():
    sections = json.loads(resources.files("ecert.domain").joinpath("messages.json").read_text(encoding="utf-8"))
    for texts in sections.values():
        for code, text in texts.items():
            assert i18n.MESSAGES[code] == text
            assert set(text) == set(i18n.LANGUAGES)
