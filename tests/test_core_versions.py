import pytest
from hypothesis import given, strategies as st

from rknn_envcheck.versions import in_versions, matches, normalize, parse_version, public


@pytest.mark.parametrize("raw, expected", [
    ("1.7.5", "1.7.5"), ("v1.3.2", "1.3.2"), ("1.4.0-22dcfef4", "1.4.0+22dcfef4"), ("1.4.0_22dcfef4", "1.4.0+22dcfef4"),
    ("1.5.2+b642f30c", "1.5.2+b642f30c"), ("2.0.0b0", "2.0.0b0"), ("0.9.7.1", "0.9.7.1"), ("1.6.0-rc", "1.6.0rc0"),
    ("1.7.5b1", "1.7.5b1"), ("2.0.0b0+1234", "2.0.0b0+1234"), (" 2.3.2 ", "2.3.2"),
])
def test_vendor_forms_normalise(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "abc", "1.x", "version 2", "1..2"])
def test_garbage_is_refused_with_the_text(raw):
    with pytest.raises(ValueError) as info:
        normalize(raw)
    assert raw.strip() in str(info.value) or "empty" in str(info.value)


def test_local_part_is_ignored_for_comparison():
    assert public("1.5.2+b642f30c") == public("1.5.2")
    assert in_versions("1.4.0-22dcfef4", ["1.4.0"])
    assert not in_versions("1.4.1", ["1.4.0"])


def test_prereleases_are_real_releases_in_ranges():
    assert matches("2.0.0b0", ">=1.10.1")
    assert not matches("2.0.0b0", ">=2.0.0")


@given(st.text(max_size=30))
def test_normalize_never_raises_anything_but_valueerror(text):
    try:
        parse_version(text)
    except ValueError:
        pass
