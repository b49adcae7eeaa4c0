"""Each page's words join one table; a key two pages define differently is refused, not silently
replaced (the occurrence page once said the lecture page's "暂无" for its "还没有人")."""

import pytest

from organiser import i18n


def test_a_key_defined_twice_with_other_words_is_refused():
    texts = {"nobody_yet": ("还没有人", "nobody yet")}
    with pytest.raises(ValueError, match="nobody_yet"):
        i18n._join(texts, {"nobody_yet": ("暂无", "nobody yet")})
    i18n._join(texts, {"nobody_yet": ("还没有人", "nobody yet"), "full": ("已满", "full")})
    assert texts == {"nobody_yet": ("还没有人", "nobody yet"), "full": ("已满", "full")}


def test_every_page_keeps_its_own_words():
    assert i18n.translate("zh", "nobody_yet") == "还没有人"
    assert i18n.translate("zh", "duty_nobody_yet") == "暂无"
