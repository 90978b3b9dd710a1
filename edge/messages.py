"""Every refusal the edge itself gives: a stable code, the HTTP status, a Chinese message for
people and an English one for logs. Refusals of the rules and of the workflows keep their own
codes and texts (domain.rules, store.verification); this is the edge's part of the catalogue."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EdgeText:
    status: int
    message_zh: str
    message_en: str


TEXTS: dict[str, EdgeText] = {
    # Logging in and sessions.
    "auth.invalid_credentials": EdgeText(
        401, "用户名或密码错误", "unknown username or wrong password"
    ),
    "auth.throttled": EdgeText(
        429, "登录失败次数过多,请稍后再试", "too many failed logins: locked for a while"
    ),
    "auth.second_factor_required": EdgeText(
        401, "请输入短信验证码完成登录", "the SMS code of this login is still due"
    ),
    "session.missing": EdgeText(401, "请先登录", "no session"),
    "session.unknown": EdgeText(401, "登录已失效,请重新登录", "unknown session"),
    "session.expired": EdgeText(401, "登录已超时,请重新登录", "session expired"),
    "session.ended": EdgeText(401, "登录已结束,请重新登录", "session was ended"),
    "account.inactive": EdgeText(401, "账号已停用", "the account is deactivated"),
    "csrf.missing": EdgeText(403, "页面已过期,请刷新后重试", "no CSRF token"),
    "csrf.invalid": EdgeText(403, "页面已过期,请刷新后重试", "CSRF token does not match"),
    "csrf.origin": EdgeText(403, "请求来源不被允许", "cross-site request refused"),
    # One-time SMS codes (admins' second factor, returning applicants).
    "code.wrong": EdgeText(422, "验证码错误", "wrong code"),
    "code.expired": EdgeText(422, "验证码已过期,请重新获取", "code expired or unknown"),
    "code.locked": EdgeText(
        422, "验证码错误次数过多,已失效,请重新获取", "too many wrong codes: the code is void"
    ),
    "code.format": EdgeText(422, "请输入6位数字验证码", "the code is six digits"),
    "applicant.throttled": EdgeText(
        429, "操作过于频繁,请稍后再试", "too many requests for applicant codes"
    ),
    # Service tokens.
    "token.missing": EdgeText(401, "缺少访问令牌", "no bearer token"),
    "token.invalid": EdgeText(401, "访问令牌无效或已撤销", "unknown or revoked token"),
    "token.scope": EdgeText(403, "访问令牌无此权限", "the token lacks the scope"),
    # Who may see or do what.
    "registration.not_yours": EdgeText(
        403, "您无权访问该申请", "this session is not bound to that registration"
    ),
    "registration.not_found": EdgeText(404, "申请不存在", "no such registration"),
    "registration.exists": EdgeText(
        409,
        "该身份证号已有进行中的注册申请,请通过“查看我的申请”以短信验证码继续办理",
        "a registration for this ID number is already running",
    ),
    "registration.wrong_stage": EdgeText(
        409, "当前申请所处环节不能进行该操作", "the registration is not in the stage for that"
    ),
    "signature.outdated": EdgeText(
        409, "申请内容已变更,请重新确认后签名", "the signature is over an outdated digest"
    ),
    "signature.missing": EdgeText(
        422, "请手写签名或输入确认语句", "a signature image or the typed confirmation is needed"
    ),
    "resubmit.already_submitted": EdgeText(
        409, "本轮已提交过更正,请等待审核", "a correction was already submitted for this round"
    ),
    "resubmit.id_number_changed": EdgeText(
        422, "身份证号不能更正,请撤回后重新注册", "the ID number cannot change in a correction"
    ),
    "update.refused": EdgeText(409, "该操作未被受理,请刷新后重试", "the workflow refused it"),
    "assertion.refused": EdgeText(
        403, "身份凭证无效或已过期,请重新登录后再试", "the workers refused the edge's assertion"
    ),
    "decision.not_counted": EdgeText(409, "审核意见未被采纳", "the decision did not count"),
    "photo.upload_too_large": EdgeText(
        413, "照片文件过大,请压缩后重新上传", "the uploaded photo is far over the size limit"
    ),
    "reviewer.not_authorized": EdgeText(
        403, "您不能审核该申请", "this account may not review that registration"
    ),
    "reviewer.is_applicant": EdgeText(403, "不能审核本人的申请", "one may not review oneself"),
    "reviewer.inactive": EdgeText(403, "账号已停用", "the reviewer is not active"),
    "password.wrong": EdgeText(403, "当前密码不正确", "the current password is wrong"),
    # Malformed requests.
    "request.invalid": EdgeText(422, "请求格式不正确", "malformed request"),
    "request.too_large": EdgeText(413, "上传内容过大", "request body too large"),
    "request.not_found": EdgeText(404, "页面不存在", "no such resource"),
    "request.method": EdgeText(405, "不支持该操作", "method not allowed"),
    "workflow.unavailable": EdgeText(503, "系统繁忙,请稍后再试", "Temporal is unavailable"),
}


class EdgeRefused(Exception):
    """A request the edge refuses with one of its own codes; nothing was changed.

    `message_zh` replaces the catalogue's text where the refusal has a detail to tell (attempts
    left); `retry_after` is in seconds (429)."""

    def __init__(
        self,
        key: str,
        *,
        fields: list[str] | None = None,
        message_zh: str | None = None,
        retry_after: int | None = None,
        code: str | None = None,
    ) -> None:
        entry = TEXTS[key]
        super().__init__(f"{code or key}: {entry.message_en}")
        # `code` keeps a workflow's own code (a decision that did not count) under the
        # catalogue entry `key` that gives the status.
        self.code = code or key
        self.status = entry.status
        self.fields = fields or []
        self.message_zh = message_zh or entry.message_zh
        self.message_en = entry.message_en
        self.retry_after = retry_after
