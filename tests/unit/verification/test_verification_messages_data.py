"""The verifier's words are a data file (verification/messages.json) shipped with the package."""

import json
from importlib import resources

from verification import messages


def test_the_verifier_reads_its_words_from_its_own_data_file():
    data = json.loads(resources.files("verification").joinpath("messages.json").read_text(encoding="utf-8"))
    assert messages.OUTCOME_MESSAGES == data["outcomes"]
    assert messages.field_value("form_type", 2, "en") == "Form No. 2"
    assert messages.field_value("ban_statement", 1) == "Không bị cấm"
