from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.naming import photo_archive_name, safe_name_component


def test_institution_convention() -> None:
    assert (
        photo_archive_name("张三", "农户小额信用贷款", "借款调查表", 1)
        == "张三_农户小额信用贷款/张三的借款调查表(1).jpg"
    )


def test_sequence_and_extension() -> None:
    assert photo_archive_name("李四", "农户联保贷款", "身份证正面", 12, "PNG").endswith(
        "李四的身份证正面(12).png"
    )
    assert photo_archive_name("李四", "贷款", "户口簿", 2, "jpeg").endswith("(2).jpg")
    assert photo_archive_name("李四", "贷款", "户口簿", 2, ".JPEG").endswith("(2).jpg")


def test_whitespace_is_trimmed() -> None:
    assert photo_archive_name("  张三\u3000", " 贷款 ", "\t借款调查表 ", 1) == "张三_贷款/张三的借款调查表(1).jpg"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ('<>:"|?*', "_______"),
        ("王\x00五\x01", "王_五_"),
        ("王五\u202e", "王五_"),  # a right-to-left override would disguise the name
        ("", "_"),
        ("   ", "_"),
        (".", "_"),
        ("..", "_"),
        ("...", "_"),
        ("张三.", "张三"),  # Windows drops trailing dots
        ("a..b", "a..b"),  # dots inside a name are harmless
    ],
)
def test_component_sanitising(raw: str, safe: str) -> None:
    assert safe_name_component(raw) == safe


def test_traversal_attempts_stay_inside_the_folder() -> None:
    name = photo_archive_name("../../etc", "..", "../passwd", 1)
    folder, file_name = name.split("/")
    assert folder == ".._.._etc__"
    assert file_name == ".._.._etc的.._passwd(1).jpg"
    assert ".." not in name.split("/")


@pytest.mark.parametrize("char", ["a", "张", "\U0001f600"])
def test_long_names_fit_file_system_limits(char: str) -> None:
    name = photo_archive_name(char * 500, char * 500, char * 500, 999999)
    # 255 bytes per name on ext4, 255 UTF-16 units on NTFS; UTF-8 bytes bound both.
    assert all(len(segment.encode("utf-8")) <= 255 for segment in name.split("/"))
    assert name.endswith("(999999).jpg")


@pytest.mark.parametrize("sequence", [0, -1, True, 1.0])
def test_bad_sequence_refused(sequence: object) -> None:
    with pytest.raises(ValueError):
        photo_archive_name("张三", "贷款", "表", sequence)  # type: ignore[arg-type]


@pytest.mark.parametrize("ext", ["", "j/pg", "../x", "jp g", "verylongextension"])
def test_bad_extension_refused(ext: str) -> None:
    with pytest.raises(ValueError):
        photo_archive_name("张三", "贷款", "表", 1, ext)


@given(
    borrower=st.text(),
    product=st.text(),
    item=st.text(),
    sequence=st.integers(min_value=1, max_value=10**6),
    ext=st.sampled_from(["jpg", "jpeg", "JPG", "png", "PNG"]),
)
def test_any_input_gives_one_safe_relative_path(
    borrower: str, product: str, item: str, sequence: int, ext: str
) -> None:
    name = photo_archive_name(borrower, product, item, sequence, ext)
    expected_ext = {"jpeg": "jpg"}.get(ext.lower(), ext.lower())
    assert name.count("/") == 1
    assert not name.startswith("/")
    segments = name.split("/")
    assert all(segment not in ("", ".", "..") for segment in segments)
    assert name.endswith(f"({sequence}).{expected_ext}")
    assert not any(ch in name for ch in '\\<>:"|?*')
    assert all(ord(ch) >= 32 and ch != "\x7f" for ch in name)
    # Encodable as a ZIP entry name (UTF-8) and within file-name length limits.
    assert all(len(segment.encode("utf-8")) <= 255 for segment in segments)
