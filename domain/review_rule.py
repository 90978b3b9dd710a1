"""Who may decide a registration: the one review rule, on top of `domain.permissions.may`.

Deciding a registration is using the permission `unit_staff:review` on the application. A staff
application lies in its unit, so a holder with unit scope (a unit admin, or an account granted the
permission alone) reaches the applications of their own unit. A unit-admin application is the
system's business (seed: unit admins register through a special channel), so only a holder with
scope `all` reaches it, and the same holders are the escalation target of every review. No one
decides their own application. `plan_review`, `authorize_decision`, the inbox and the
application page all ask this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from domain.permissions import Grantee, may, scope_of
from domain.roles import Role, Scope

REVIEW = "unit_staff:review"


class Reviewer(Grantee, Protocol):
    """An account as far as reviewing goes (`store.models.Account` is one)."""

    @property
    def applicant_key(self) -> str | None: ...


@dataclass(frozen=True)
class ReviewTarget:
    """What the rule needs to know of an application."""

    unit_code: str
    requested_role: Role
    applicant_key: str


@dataclass(frozen=True)
class ReviewReach:
    """Which applications an account may decide: all of them, or the staff of one unit."""

    everything: bool
    unit_code: str | None = None


def review_reach(account: Grantee) -> ReviewReach | None:
    """How far the account's review reaches; None when it may review nothing."""
    if not account.active:
        return None
    scope = scope_of(account, REVIEW)
    if scope is Scope.ALL:
        return ReviewReach(everything=True)
    if scope is Scope.UNIT and account.unit_code:
        return ReviewReach(everything=False, unit_code=account.unit_code)
    return None


def review_refusal(account: Reviewer | None, target: ReviewTarget) -> str | None:
    """Why `account` may not decide `target` (a refusal code), or None when it may."""
    if account is None or not account.active:
        return "reviewer.inactive"
    if account.applicant_key is not None and account.applicant_key == target.applicant_key:
        return "reviewer.is_applicant"
    if target.requested_role == Role.USER:
        allowed = may(account, REVIEW, target_unit=target.unit_code)
    else:
        allowed = scope_of(account, REVIEW) is Scope.ALL
    return None if allowed else "reviewer.not_authorized"


def may_review(account: Reviewer | None, target: ReviewTarget) -> bool:
    return review_refusal(account, target) is None


R = TypeVar("R", bound=Reviewer)


def responsible_reviewers(candidates: list[R], target: ReviewTarget) -> list[R]:
    """Whom a review goes to first: those of the unit who may decide it, or, when there are
    none (or for a unit-admin application), those whose reach is the whole system."""
    allowed = [a for a in candidates if may_review(a, target)]
    in_unit = [a for a in allowed if scope_of(a, REVIEW) is Scope.UNIT]
    return in_unit or allowed
