"""The officer's phone app: an offline shell (cached by the service worker) and device enrolment."""
from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app import clock
from app.api.errors import status_of
from app.domain import geo
from app.domain.workflow import STATE_LABELS
from app.http_edge import client_ip, public, translate_message
from app.services import devices as device_service
from app.web.security import roles_required

bp = Blueprint("mobile", __name__, url_prefix="/m")


def _schedule_messages() -> list[str]:
    """The schedule engine's N_ messages: schedule.js raises the same msgids offline."""
    import app.domain.schedule as schedule

    return re.findall(r'N_\("([^"]+)"\)', Path(schedule.__file__).read_text(encoding="utf-8"))


def js_messages() -> dict[str, str]:
    """Strings the offline app shows from JavaScript, translated when the shell is rendered."""
    states = {f"state_{s.value}": translate_message(label) for s, label in STATE_LABELS.items()}
    engine = {m: translate_message(m) for m in _schedule_messages()}
    return engine | states | {
        "offline": _("Offline"),
        "online": _("Online"),
        "wifi_wait": _("Waiting for Wi-Fi"),
        "sending": _("Sending…"),
        "retrying": _("Will retry"),
        "photos_arriving": _("photos uploading"),
        "no_drafts": _("No drafts."),
        "nothing_waiting": _("Nothing waiting."),
        "nothing_sent": _("Nothing sent yet."),
        "logged_in_as": _("Officer: %(name)s · %(office)s"),
        "last_sync": _("Last contact with the server: %(time)s"),
        "storage": _("Storage used %(used)s MB of %(quota)s MB"),
        "storage_low": _("This phone is running out of space for captures (%(free)s MB left). Send what is waiting before capturing more."),
        "storage_not_persistent": _("The browser may clear stored captures when space runs low. Install the app to protect them."),
        "missing_name": _("Borrower's name"),
        "missing_id": _("A valid ID number"),
        "missing_phone": _("A valid mobile number (or leave it empty)"),
        "missing_product": _("Loan type"),
        "missing_photos": _("%(item)s: %(count)s of %(required)s photos"),
        "missing_gps": _("Home GPS position"),
        "missing_gps_note": _("A note on why the GPS fix is not accurate"),
        "missing_amount": _("Amount between %(min)s and %(max)s yuan"),
        "missing_term": _("Term between %(min)s and %(max)s months"),
        "missing_purpose": _("Loan purpose"),
        "all_complete": _("Everything is there. Tap Finish to send."),
        "id_ok": _("Born %(birth)s · %(sex)s · age %(age)s"),
        "id_bad_length": _("The ID number must be 18 characters (%(n)s entered)"),
        "id_bad_chars": _("Only digits, with X allowed as the last character"),
        "id_bad_region": _("Not a valid province code"),
        "id_bad_date": _("The birth date in the number is not valid"),
        "id_bad_check": _("The check digit does not match; re-read the number"),
        "male": _("male"),
        "female": _("female"),
        "gps_fix": _("%(lat)s, %(lon)s · accurate to %(acc)s m"),
        "gps_poor": _("Accuracy %(acc)s m is worse than %(limit)s m. Try again outdoors, or note why."),
        "gps_error": _("No GPS position: %(reason)s"),
        "gps_waiting": _("Finding the position…"),
        "photo_processing": _("Preparing photo…"),
        "photo_failed": _("This photo could not be read; take it again."),
        "delete": _("Delete"),
        "confirm_delete_photo": _("Delete this photo from the phone?"),
        "confirm_drop_photos": _("The new loan type does not ask for %(count)s of the photos taken. Delete them from the phone?"),
        # Notifications grouped by kind and day.
        "today": _("Today"),
        "notes_count": _("%(count)s notifications"),
        "notes_new": _("%(count)s new"),
        "todo_reason": _("Returned by %(who)s: %(reason)s"),
        "amend": _("Add material"),
        "resubmit": _("Resubmit"),
        "finish": _("Finish and send"),
        "calc_rate": _("The rate must be between %(min)s and %(max)s per cent for this loan type."),
        "missing_amendment": _("A new photo or a note for the director"),
        "amend_complete": _("Ready. Tap Resubmit to send it back to the director."),
        "on_server": _("on the server"),
        "confirm_delete_draft": _("Delete this draft and its photos from the phone?"),
        "new_application": _("New application"),
        "edit": _("Edit"),
        "updating": _("Updating the app…"),
        "enrolled_ok": _("This phone is enrolled. You can now capture applications, also without signal."),
        # The server's own words when it holds a phone whose SIM card changed (services/devices.py).
        "sim_changed": translate_message(device_service.SIM_CHANGED),
        "server_said": _("The server refused this: %(message)s"),
        # The work plan and visit reports.
        "plan_none": _("No visits planned."),
        "plan_not_loaded": _("The work plan has not been downloaded yet; it comes at the next contact with the server."),
        "plan_of": _("Plan for %(date)s, downloaded %(time)s"),
        "plan_old": _("This plan is from %(date)s. It is renewed at the next signal."),
        "plan_error": _("The work plan could not be downloaded: %(message)s"),
        "no_connection": _("no connection to the server"),
        "due_on": _("Due %(date)s"),
        "overdue_since": _("Overdue since %(date)s"),
        "amount_due": _("to pay %(amount)s"),
        "outstanding": _("outstanding %(amount)s"),
        "dpd": _("%(days)s days past due"),
        "distance_away": _("%(distance)s away"),
        "dist_m": _("%(m)s m"),
        "dist_km": _("%(km)s km"),
        "position_known": _("My position: accurate to %(acc)s m, at %(time)s"),
        "position_unknown": _("Position unknown: tap Locate me to see how far each borrower is."),
        "visit": _("Visit"),
        "visit_started": _("Visit report started, not finished"),
        "visit_waiting": _("Visit report waiting to send"),
        "visit_retrying": _("Visit report waiting to send; will retry"),
        "visit_verified": _("Done · verified on site (%(distance)s from the home)"),
        "visit_verified_nodist": _("Done · verified on site"),
        "visit_flagged": _("Done · flagged: %(distance)s from the home"),
        "visit_flagged_nodist": _("Done · flagged"),
        "visit_unchecked": _("Done · could not be checked on site"),
        "visit_closed": _("No longer your task; this report was not used: %(message)s"),
        "flags": _("flags: %(flags)s"),
        **{f"flag_{code}": translate_message(label) for code, label in geo.FLAG_LABELS.items()},
        "dismiss": _("Dismiss"),
        "confirm_discard_report": _("Discard this visit report and its photos from the phone?"),
        "missing_paid": _("Amount paid: a number of yuan with at most 2 decimals, or empty"),
        "missing_promise": _("Promise to pay: both a date and an amount, or neither"),
        "missing_promise_past": _("The promise to pay must be for today or later"),
        "missing_promise_amount": _("Promised amount: more than 0 yuan"),
        "missing_notes": _("Notes: at most 500 characters"),
        "missing_visit_photo": _("A photo of the visit"),
        "missing_visit_gps": _("GPS position of the visit"),
        "visit_complete": _("Everything is there. Tap Finish visit."),
        "gps_poor_visit": _("accuracy %(acc)s m is worse than %(limit)s m; try again outdoors"),
        "gps_mock": _("this position comes from a mock-location app"),
        "visit_home_unknown": _("the borrower's home has no GPS position"),
        "visit_gps_distance": _("about %(distance)s from the borrower's home"),
        "visit_gps_near": _("within %(radius)s m: on site"),
        "visit_gps_far": _("more than %(radius)s m away: the visit will be flagged"),
        # Repayments taken in the field (static/js/phone/collect.js).
        "collect_owed": _("owes %(amount)s"),
        "collect_choose_loan": _("Choose the loan"),
        "collect_no_loans": _("No active loans of yours on this phone yet; they come with the next contact with the server."),
        "collect_signature": _("Signed slip"),
        "collect_missing_loan": _("The loan the money is for"),
        "collect_missing_amount": _("The amount received: more than 0 yuan, at most 2 decimals"),
        "collect_more_than_owed": _("More than the borrower owes (%(amount)s): take only what is owed"),
        "collect_missing_signature": _("A photo of the slip the borrower signed"),
        "collect_missing_gps": _("GPS position where the money was taken"),
        "collect_complete": _("Everything is there. Tap Save and send."),
        "collect_sending": _("Collection saved on the phone; sending it now."),
        "collect_queued_offline": _("No signal: the collection is saved on the phone and will be sent when there is signal."),
        "collect_confirm_discard": _("Discard this collection and its photo from the phone?"),
        "collect_waiting": _("Queued on the phone, waiting for signal"),
        "collect_retrying": _("Queued on the phone; will retry"),
        "collect_sent": _("Received by the server"),
        "collect_deposited": _("Received and deposited at the branch"),
        "collect_receipt_queued": _("SMS receipt queued"),
        "collect_receipt_sent": _("SMS receipt sent to the borrower"),
        "collect_receipt_failed": _("the SMS receipt could not be sent"),
        "collect_receipt_none": _("no SMS receipt (no mobile number)"),
        "collect_draft": _("Started, not finished"),
        "collect_correct": _("Correct"),
        "collect_none": _("No collections today."),
        # The household survey (static/js/phone/survey.js), checked as app/domain/survey.py does.
        "survey_line": _("%(label)s: %(problem)s"),
        "survey_required": _("Required"),
        "survey_number": _("Enter a number"),
        "survey_money": _("Enter an amount in yuan, at most 2 decimals"),
        "survey_whole": _("Enter a whole number"),
        "survey_decimals": _("At most %(places)s decimals"),
        "survey_min": _("At least %(min)s %(unit)s"),
        "survey_max": _("At most %(max)s %(unit)s"),
        "survey_choice": _("Choose one of the answers"),
        "survey_too_long": _("At most %(limit)s characters"),
        "survey_hidden": _("Contains invisible or control characters"),
        "survey_photo_missing": _("The photo is no longer on this phone; take it again"),
        "survey_unknown": _("This question is not in the survey"),
        "survey_photo_unavailable": _("This loan type takes no survey photos; photograph it under its documents."),
        "survey_choose": _("Choose…"),
        "survey_toggle": _("Open or close all sections"),
        "survey_title": _("Household survey"),
        "survey_none": _("This loan type has no survey."),
        "yes": _("Yes"),
        "no": _("No"),
        "yuan": _("yuan"),
        "take_photo": _("Take photo"),
        "missing_survey": _("Survey: %(what)s"),
        "missing_household": _("Household number: at most 50 characters"),
        # Joint-liability groups (static/js/phone/group.js, groups.js), checked as app/domain/groups.py does.
        "group_new": _("New group"),
        "group_none": _("No groups."),
        "group_view": _("Open group"),
        "group_open": _("being formed"),
        "group_progress": _("%(captured)s of %(total)s members captured · %(sent)s sent"),
        "group_no_members": _("No members yet: add the first one."),
        "group_member_of": _("Member of the group %(name)s"),
        "group_member_draft": _("Being captured"),
        "group_member_ready": _("Captured; sent when the group is finished"),
        "group_member_queued": _("Waiting to send"),
        "group_member_sent": _("Received by the server"),
        "group_relatives_pair": _("%(a)s and %(b)s are relatives"),
        "group_relatives_later": _("Add the members first; then tick the pairs who are relatives."),
        "group_missing_name": _("The group's name"),
        "group_missing_village": _("The group's village"),
        "group_product": _("A loan type lent to groups"),
        "group_size": _("%(min)s to %(max)s members (now %(count)s)"),
        "group_member_open": _("%(name)s: finish the member's application"),
        "group_one_household": _("%(names)s have the same household number %(key)s: one member per household"),
        "group_same_person": _("%(name)s is in the group twice"),
        "group_relatives": _("%(count)s pairs of relatives; at most %(max)s allowed"),
        "group_complete": _("Everything is there. Tap Finish to send every member."),
        "group_finished": _("Finished: the members are sent together."),
        "group_confirm_delete": _("Delete this group and all its members' drafts from the phone?"),
        # A group returned to the officer: new members added to it (static/js/phone/group.js).
        "group_returned": _("returned to you: add new members"),
        "group_returned_note": _("The group was returned to you. Its members on the server are shown; add the new members, then send them."),
        "group_returned_count": _("%(count)s members, %(added)s of them new"),
        "group_returned_complete": _("Everything is there. Tap Finish to send the new members."),
        "group_add_one": _("Add at least one new member"),
        "group_new_member": _("New:"),
        "household_no": _("household %(key)s"),
        # Village campaigns (整村授信, static/js/phone/campaign.js)
        "campaign_none": _("No open campaign in your office."),
        "campaign_progress": _("%(surveyed)s of %(households)s households surveyed"),
        "campaign_survey_one": _("Survey a household"),
        "campaign_household_no": _("Household number (户号)"),
        "campaign_head_name": _("Head of household"),
        "campaign_head_id": _("ID number of the head"),
        "campaign_head_phone": _("Mobile number"),
        "campaign_rating": _("Village committee's rating"),
        "campaign_gps": _("Record the home's GPS"),
        "campaign_back": _("Back"),
        "campaign_discard": _("Discard"),
        "campaign_gone": _("This campaign is closed or no longer on this phone."),
        "campaign_missing_household": _("The household number"),
        "campaign_missing_name": _("The name of the head of household"),
        "campaign_missing_id": _("The ID number of the head of household"),
        "campaign_missing_rating": _("The village committee's rating"),
        "campaign_missing_gps": _("GPS position of the home"),
        "campaign_complete": _("Everything is there. Tap Finish and send."),
        "campaign_sending": _("Survey saved on the phone; sending it now."),
        "campaign_queued_offline": _("No signal: the survey is saved on the phone and will be sent when there is signal."),
        "campaign_confirm_discard": _("Discard this survey from the phone?"),
        "campaign_waiting": _("Queued on the phone, waiting for signal"),
        "campaign_retrying": _("Queued on the phone; will retry"),
        "campaign_sent": _("Received by the server"),
        "campaign_score": _("score %(score)s"),
        "campaign_proposed": _("proposed limit %(amount)s"),
        "campaign_not_proposed": _("no limit proposed"),
        "campaign_draft": _("Started, not finished"),
        "campaign_apply": _("Apply for a loan"),
        "campaign_approved": _("pre-approved %(amount)s until %(day)s"),
    }


@bp.route("/")
@public
def shell():
    return render_template("mobile/app.html", js_messages=js_messages())


@bp.route("/enrol", methods=["GET"])
@roles_required("officer")
def enrol():
    return render_template("mobile/enrol.html", code=request.args.get("code", ""),
                           replaces=request.args.get("replaces", "")[:36])


@bp.route("/enrol", methods=["POST"])
@roles_required("officer")
def enrol_submit():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):  # not JSON, or an array: read as an empty form (a bad code)
        data = {}
    try:
        enrolled = device_service.redeem(
            str(data.get("code", "")), current_user,
            label=str(data.get("label", ""))[:100], phone_number=str(data.get("phone_number", ""))[:20],
            now=clock.now(), ip=client_ip(), user_agent=request.headers.get("User-Agent", ""),
            replace=data.get("replace") is True, replaces=str(data.get("replaces", ""))[:36],
            sim=device_service.read_sim(data.get("sim")),  # from the Android app: bound to this SIM
            sim_key=device_service.sim_key(current_app.config),
        )
    except device_service.DeviceError as e:
        # The phone reads this like an API answer: the status from the API's table.
        return jsonify(error=e.code, message=translate_message(e.message, e.params)), status_of(e.code)
    return jsonify(device_uuid=enrolled.device.uuid, token=enrolled.token, user={"name": current_user.full_name})
