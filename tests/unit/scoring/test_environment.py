"""The one parser of yes/no settings (fraud_scoring.environment.env_flag)."""

from __future__ import annotations

import pytest

from fraud_scoring.environment import FALSE_WORDS, TRUE_WORDS, env_flag


@pytest.mark.parametrize("default", [True, False])
def test_unset_or_blank_gives_the_default(default: bool) -> None:
    assert env_flag("X", default, {}) is default
    assert env_flag("X", default, {"X": "  "}) is default


@pytest.mark.parametrize("word", sorted(TRUE_WORDS | FALSE_WORDS))
def test_the_usual_spellings_in_any_case_and_padding(word: str) -> None:
    expected = word in TRUE_WORDS
    for spelling in (word, word.upper(), f" {word.title()} "):
        assert env_flag("X", not expected, {"X": spelling}) is expected


@pytest.mark.parametrize("word", ["ture", "enabled", "2", "y", "nope"])
def test_any_other_word_is_refused_with_the_variable_named(word: str) -> None:
    with pytest.raises(ValueError, match=rf"^X='{word}' must be true or false"):
        env_flag("X", True, {"X": word})
