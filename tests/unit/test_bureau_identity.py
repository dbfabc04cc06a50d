"""Whose bureau report it is: the name and ID number read from its text, and set against the
borrower's (app/domain/bureau.py), pure."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain import bureau
from tests.support.bureau_report import report_text

LISI = "110101199003074578"


def test_the_sample_reports_name_and_a_whole_id_number_are_read():
    found = bureau.identity(report_text(name="李四", id_number=LISI))
    assert found == bureau.ReportIdentity(name="李四", id_number=LISI)


def test_a_masked_id_number_is_not_read_and_leaves_the_report_unchecked():
    found = bureau.identity(report_text())  # 410***********1234, as the samples print it
    assert found.name == "王小明" and found.id_number is None
    assert bureau.compare_identity(found, "李四", LISI) == "unchecked"


def test_the_real_reports_layout_full_width_and_a_lower_case_x():
    text = "个人信用报告\n姓名：张三　证件类型：身份证　证件号码：４１０１０２１９９００１０１１２３ｘ\n报告编号：123456"
    found = bureau.identity(text)
    assert found == bureau.ReportIdentity(name="张三", id_number="41010219900101123X")
    assert bureau.compare_identity(found, "张三", "41010219900101123x") == "match"


def test_value_on_the_next_line_and_a_number_inside_a_longer_run_is_not_taken():
    assert bureau.identity("姓名\n王五\n证件号码\n110101199003074578").id_number == "110101199003074578"
    assert bureau.identity("证件号码：1101011990030745781").id_number is None
    assert bureau.identity("证件号码：11010119900307457").id_number is None


def test_another_persons_id_number_differs_and_a_name_alone_only_warns():
    other = bureau.ReportIdentity(name="王小明", id_number="41010219900101123X")
    assert bureau.compare_identity(other, "李四", LISI) == "id_differs"
    # The same number with the name written differently: the borrower's, with a warning.
    assert bureau.compare_identity(bureau.ReportIdentity("李 肆", LISI), "李四", LISI) == "name_differs"
    assert bureau.compare_identity(bureau.ReportIdentity("李 四", LISI), "李四", LISI) == "match"
    assert bureau.compare_identity(bureau.ReportIdentity(None, LISI), "李四", LISI) == "match"
    # The name cannot stand in for an unreadable number, nor refuse on its own.
    assert bureau.compare_identity(bureau.ReportIdentity("王小明", None), "李四", LISI) == "unchecked"


def test_no_identity_in_the_text_is_none_guessed():
    assert bureau.identity("本报告无信贷交易记录。查询日期 2026-11-20 共 3 页") == bureau.ReportIdentity()


@given(st.text(max_size=300), st.text(max_size=20), st.text(max_size=20))
def test_identity_and_compare_never_raise(text, name, number):
    found = bureau.identity(text)
    assert found.id_number is None or (len(found.id_number) == 18 and "*" not in found.id_number)
    assert bureau.compare_identity(found, name, number) in bureau.IDENTITY_CHECKS


@given(st.text(alphabet="姓名证件号码被查询者身份证：: \n0123456789Xx*李四王", max_size=200))
def test_identity_never_raises_on_near_miss_texts(text):
    found = bureau.identity(text)
    assert found.id_number is None or found.id_number == found.id_number.upper()
