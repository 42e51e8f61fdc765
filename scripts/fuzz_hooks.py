"""Schemathesis hooks for scripts/fuzz-api.sh.

`schema_valid_data_accepted` replaces the built-in positive_data_acceptance
check. It fails, as that check does, when data the OpenAPI document allows is
refused with 400 or 422, with one exception: a 422 whose every field error
names a field that takes part in a rule OpenAPI cannot state. Those rules
relate a field to another field, to the caller's role or to rows in the
database; they are listed here per operation, and each is tested in
tests/tests (bad_input.rs, trust.rs, policy.rs, dispatch.rs). Every other
operation, and every other field of these, must accept what the document
allows.
"""

import fnmatch

import schemathesis

RULES_BEYOND_OPENAPI = {
    # Filters naming a team: the team must exist; `from` must not be after `to`.
    "GET /api/v1/orders": ["team_id", "from", "to"],
    # Periods: `from` must not be after `to`.
    "GET /api/v1/points/export": ["from", "to"],
    "GET /api/v1/stats/teams": ["from", "to"],
    # Who may set what depends on the role (source, staff-only fields);
    # the target teams must exist. Roles: each skill once and at most 20
    # volunteers in all (rules across items), and a headcount given with
    # roles must be their sum.
    "POST /api/v1/orders": ["source", "target_team_id", "target_team_ids*", "roles",
                            "roles[[]*].skill", "headcount"],
    # Slips (client tokens): the target teams must exist; roles as for orders.
    "POST /api/v1/slips": ["target_team_ids*", "roles", "roles[[]*].skill", "headcount"],
    # The volunteers must exist.
    "POST /api/v1/orders/{id}/assign": ["volunteer_id", "replace_volunteer_id"],
    # Coordinators must give a reason; residents need not.
    "POST /api/v1/orders/{id}/cancel": ["reason"],
    # The volunteer must exist; a redemption spends (a negative amount).
    "POST /api/v1/points/adjustments": ["volunteer_id", "amount"],
    # The CSV's header and lines are not described by OpenAPI.
    "POST /api/v1/roster/import": ["header"],
    # Both coordinates or neither; certificates only for listed skills; the
    # team must exist.
    "POST /api/v1/volunteers": ["home_lat", "home_lon", "certificates.*", "team_id"],
    "PATCH /api/v1/volunteers/{id}": ["home_lat", "home_lon", "certificates.*", "team_id"],
    # A push subscription's keys must decode to a P-256 point and 16 bytes;
    # an http:// endpoint is taken only where private targets are allowed.
    "POST /api/v1/me/push-subscriptions": ["endpoint", "keys.p256dh", "keys.auth"],
    # A new account needs a password; the teams must exist.
    "POST /api/v1/coordinators": ["password", "team_ids*"],
    # Shifts: the end after the start, within 24 hours and in the future;
    # weekly repetition from the first day to a year on; the volunteers must
    # be on the team.
    "POST /api/v1/teams/{id}/shifts": ["ends_at", "repeat_weekly_until", "volunteer_ids*"],
    # Periods: `from` must not be after `to` (at most 62 days for a rota, ten
    # years for hours); a team filter names an existing team.
    "GET /api/v1/teams/{id}/shifts": ["from", "to"],
    "GET /api/v1/me/shifts": ["from", "to"],
    "GET /api/v1/me/hours": ["from", "to"],
    "GET /api/v1/volunteers/{id}/hours": ["from", "to"],
    "GET /api/v1/volunteers/{id}/hours/certificate": ["from", "to"],
    "GET /api/v1/hours": ["from", "to", "team_id"],
    "GET /api/v1/hours/totals": ["from", "to", "team_id"],
    "GET /api/v1/hours/export": ["from", "to", "team_id"],
    # A verification code is 16 letters and digits (any case, any separators).
    "GET /api/v1/certificates/verify/{code}": ["code"],
    # A correction needs a reason, and at most the record's span.
    "POST /api/v1/hours/{id}/review": ["reason", "minutes"],
}


def _covered(label, fields):
    patterns = RULES_BEYOND_OPENAPI.get(label, [])
    return bool(fields) and all(
        any(fnmatch.fnmatchcase(f, p) for p in patterns) for f in fields
    )


@schemathesis.check
def schema_valid_data_accepted(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 422):
        return None
    fields = set()
    if response.status_code == 422:
        try:
            body = response.json()
            fields = {e.get("field") for e in body.get("errors", [])}
        except Exception:  # not a problem document: a failure below
            fields = set()
    if _covered(case.operation.label, fields):
        return None
    raise AssertionError(
        f"Schema-valid data was refused with {response.status_code}: {response.text[:500]}"
    )
