"""Search attributes: how operators find registrations in the Temporal UI. No personal data."""

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from domain.contracts.registration import Stage

STAGE = SearchAttributeKey.for_keyword("RegistrationStage")
UNIT_CODE = SearchAttributeKey.for_keyword("UnitCode")
REQUESTED_ROLE = SearchAttributeKey.for_keyword("RequestedRole")
APPLICANT_KEY = SearchAttributeKey.for_keyword("ApplicantKey")
REVIEW_ROUND = SearchAttributeKey.for_int("ReviewRound")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
REVIEW_DUE_AT = SearchAttributeKey.for_datetime("ReviewDueAt")
# What a reviewer's inbox row needs, so that listing it costs no per-row describe or query:
# when this round entered review (the inbox's order and paging key), the instant the review is
# due (the policy's escalation; "overdue" past it), and how often the applicant nudged.
REVIEW_ENTERED_AT = SearchAttributeKey.for_datetime("ReviewEnteredAt")
REVIEW_DEADLINE = SearchAttributeKey.for_datetime("ReviewDeadline")
NUDGE_COUNT = SearchAttributeKey.for_int("NudgeCount")

ALL = (
    STAGE,
    UNIT_CODE,
    REQUESTED_ROLE,
    APPLICANT_KEY,
    REVIEW_ROUND,
    ESCALATION_LEVEL,
    REVIEW_DUE_AT,
    REVIEW_ENTERED_AT,
    REVIEW_DEADLINE,
    NUDGE_COUNT,
)


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    kinds = {"KEYWORD": "Keyword", "INT": "Int", "DATETIME": "Datetime"}
    return [f"--search-attribute={key.name}={kinds[key.indexed_value_type.name]}" for key in ALL]


def at_start(unit_code: str, requested_role: str, applicant_key: str) -> TypedSearchAttributes:
    """A new registration's attributes as its workflow would first publish them (verifying,
    round 1), given with the start: the workflow upserts only what differs, so its first
    workflow task writes no event for them. An integrator's start without them still works."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(STAGE, Stage.VERIFYING.value),
            SearchAttributePair(UNIT_CODE, unit_code),
            SearchAttributePair(REQUESTED_ROLE, requested_role),
            SearchAttributePair(APPLICANT_KEY, applicant_key),
            SearchAttributePair(REVIEW_ROUND, 1),
            SearchAttributePair(ESCALATION_LEVEL, 0),
            SearchAttributePair(NUDGE_COUNT, 0),
        ]
    )
