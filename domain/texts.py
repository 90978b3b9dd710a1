"""Every text a person reads, in one place: refusals by code (Chinese for people, English for
logs), the answers of the workflows' Updates, and the SMS and e-mail the system sends.

Tests compare these texts, and recorded histories (tests/workflows/histories/) hold some of them
byte for byte: change one only on purpose, then run the replay test. `{name}` placeholders are
filled in with `str.format` by the module that uses the text. The names of roles, permissions and
scopes are data of the roles, in `domain.roles`.

Pure constants: workflow code imports this module too.
"""

from __future__ import annotations

from typing import NamedTuple


class Text(NamedTuple):
    zh: str  # for the person
    en: str  # for logs and integrators


# Every SMS, and the e-mail sent with it, opens with the sender's signature (签名).
SMS_PREFIX = "【江苏卫生人力】"


# --- refusals --------------------------------------------------------------------------------
# Keys are "field.code[.variant]": the code is the first two parts, the field at fault the first
# (unless the module that refuses says otherwise); a variant tells texts of one code apart.

# The form's rules (`domain.rules`).
FORM: dict[str, Text] = {
    "id_number.length": Text("身份证号码应为18位。", "ID number must be 18 characters long."),
    "id_number.format": Text(
        "身份证号码应为17位数字加1位数字或X。",
        "ID number must be 17 digits followed by a digit or X.",
    ),
    "id_number.checksum": Text(
        "身份证号码校验位不正确，请核对。", "ID number check digit does not match."
    ),
    "id_number.birth_date": Text(
        "身份证号码中的出生日期无效。", "Birth date in the ID number is not a valid date."
    ),
    "id_number.birth_date.future": Text(
        "身份证号码中的出生日期晚于今天。", "Birth date in the ID number is in the future."
    ),
    "id_number.age": Text(
        "申请人年龄须在{lo}至{hi}周岁之间。", "Applicant age must be between {lo} and {hi}."
    ),
    "name.empty": Text("请填写姓名。", "Name is empty."),
    "name.characters": Text(
        "姓名只能包含汉字和间隔号“·”。", "Name may contain only CJK ideographs and the middle dot."
    ),
    "name.separator": Text(
        "间隔号“·”只能出现在姓名各部分之间。",
        "Middle dot must separate name parts, not lead, trail or repeat.",
    ),
    "name.length": Text("姓名长度应为2至20个字。", "Name must be 2 to 20 characters long."),
    "phone.invalid": Text(
        "请填写有效的中国大陆手机号码。", "Not a valid mainland China phone number."
    ),
    "phone.not_mobile": Text(
        "请填写手机号码，不能使用固定电话。", "Phone number is valid but not a mobile number."
    ),
    "unit_code.length": Text(
        "统一社会信用代码应为18位。", "Unified social credit code must be 18 characters."
    ),
    "unit_code.format": Text(
        "统一社会信用代码含有无效字符。", "Unified social credit code contains invalid characters."
    ),
    "unit_code.checksum": Text(
        "统一社会信用代码校验位不正确。",
        "Unified social credit code check character does not match.",
    ),
    "username.length": Text(
        "用户名长度应为{lo}至{hi}个字符。", "Username must be {lo} to {hi} characters long."
    ),
    "username.characters": Text(
        "用户名只能包含小写字母、数字和下划线。",
        "Username may contain only a-z, 0-9 and underscore.",
    ),
    "username.start": Text("用户名必须以字母开头。", "Username must start with a letter."),
    "password.length": Text(
        "密码长度应为{lo}至{hi}个字符。", "Password must be {lo} to {hi} characters long."
    ),
    "password.letter": Text("密码须包含字母。", "Password must contain a letter."),
    "password.digit": Text("密码须包含数字。", "Password must contain a digit."),
    "password.special": Text(
        "密码须包含特殊字符，如 !@#$%。", "Password must contain a punctuation character."
    ),
    "password.contains_username": Text(
        "密码不能包含用户名。", "Password must not contain the username."
    ),
    "password.contains_birth_date": Text(
        "密码不能包含出生日期。", "Password must not contain the birth date."
    ),
}


# The ID-card photos (`domain.photos`).
PHOTOS: dict[str, Text] = {
    "photo.format": Text("请上传JPG或PNG格式的身份证照片。", "Photo must be a JPEG or PNG image."),
    "photo.format.damaged": Text(
        "照片文件已损坏，无法读取，请重新上传。", "Photo file is damaged and cannot be decoded."
    ),
    "photo.too_large": Text(
        "照片不能超过{limit}，请压缩后重新上传。", "Photo is larger than {limit}."
    ),
    "photo.too_large.pixels": Text(
        "照片像素过多(上限{limit}像素)，请缩小后重新上传。", "Photo has more than {limit} pixels."
    ),
    "photo.too_large.unfit": Text(
        "照片无法压缩到{limit}以内，请重新拍摄后上传。", "Photo cannot be compressed below {limit}."
    ),
    "photo.resolution": Text(
        "照片分辨率过低，至少应为{w}×{h}像素，请重新拍摄。", "Photo is smaller than {w}x{h} pixels."
    ),
    "photo.aspect": Text(
        "照片比例与身份证不符，请将证件横放并尽量占满画面后拍摄。",
        "Photo aspect ratio {ratio} is too far from the card's {card}.",
    ),
    "photo.unclear": Text(
        "照片不清晰，请在光线充足处对焦后重新拍摄。",
        "Photo is too blurry (sharpness {value} < {limit}).",
    ),
    "photo.same_picture": Text(
        "身份证正反面不能使用同一张照片，请分别上传人像面和国徽面。",
        "Front and back photos show the same picture.",
    ),
}


# The contracts' own validators (`domain.contracts`).
CONTRACTS: dict[str, Text] = {
    "text.hidden_character": Text(
        "内容含有控制字符、不可见字符或文字方向控制符,请删除后重新输入",
        "contains a control, invisible or bidirectional formatting character",
    ),
    "password_hash.format": Text(
        "密码须加密后提交", "password_hash must be an Argon2id hash made by the edge"
    ),
    "password_hash.weak": Text(
        "密码加密强度不足,请通过正式入口重新提交",
        "password_hash is an Argon2id hash with weaker parameters than the edge's",
    ),
    "photo.same_picture": Text(
        "身份证正反面不能使用同一张照片,请分别上传人像面和国徽面",
        "front and back photos are the same document",
    ),
    "invitation_code.missing": Text(
        "单位管理员须通过专属渠道注册,请填写邀请码",
        "a unit-admin application needs an invitation code",
    ),
    "decision.reason_missing": Text("驳回须注明原因", "a rejection needs a reason"),
    "change.one_of": Text(
        "请申请一个角色或一项权限(二选一)", "ask for exactly one role or one permission"
    ),
    "change.one_of.revoke": Text(
        "请撤销一个角色或一项权限(二选一)", "revoke exactly one role or one permission"
    ),
}

# Fields whose checks are pydantic's own rather than `domain.rules`, and any other field.
FIELD_INVALID_ZH = {
    "email": "请填写有效的电子邮箱地址",
    "unit_name": "请填写单位全称(2至100个字符)",
    "invitation_code": "邀请码格式不正确",
    "requested_role": "注册只能申请普通用户或单位管理员角色",
}
FIELD_INVALID_ZH_ANY = "{field} 填写有误"

# What the form's rules cannot know: the database and the document store (`store.verification`).
VERIFICATION: dict[str, Text] = {
    "applicant_key.mismatch": Text(
        "申请编号与身份证号不一致,请通过正式入口重新提交",
        "the workflow ID is not the applicant key of this ID number",
    ),
    "consent.outdated": Text(
        "系统公告与隐私政策已更新,请重新阅读并同意", "consent to notice {version} is outdated"
    ),
    "photo.missing": Text("证件照片未上传或已丢失,请重新上传", "no document {ref}"),
    "unit.unknown": Text(
        "单位代码不存在或单位已停用,请向单位管理员核实",
        "unit code is unknown or the unit is inactive",
    ),
    "unit.name_mismatch": Text(
        "单位名称与单位代码不一致", "unit name does not match the unit code"
    ),
    "identity.mismatch": Text(
        "姓名与身份证号不匹配,实名认证未通过",
        "real-name check failed: name and ID number do not belong together",
    ),
    "applicant.already_registered": Text(
        "该身份证号已注册账号,请直接登录或找回密码", "this ID number already has an account"
    ),
    "username.taken": Text("用户名已被占用,可以使用:{suggestions}", "username is taken"),
    "phone.bound": Text("该手机号已绑定其他账号", "phone number is bound to another account"),
    "invitation.invalid": Text(
        "邀请码无效、已使用或不属于该单位",
        "invitation code is invalid, used, or for another unit",
    ),
    # Found only when the account is created, after the review approved the application.
    "username.taken_in_review": Text(
        "审核期间该用户名已被他人注册,请更换用户名后重新提交",
        "the username was taken by another account while the application was under review",
    ),
    "phone.bound_in_review": Text(
        "审核期间该手机号已绑定其他账号,请更换手机号后重新提交",
        "the phone number was bound to another account while the application was under review",
    ),
    "invitation.used_in_review": Text(
        "审核期间该邀请码已被其他申请使用,请向系统管理员申请新的邀请码后重新提交",
        "the invitation code was used by another application while this one was under review",
    ),
}

# A reviewer's decision on a registration (`activities.review`, `workflows.registration`).
REVIEW: dict[str, Text] = {
    "decision.not_awaiting_review": Text(
        "该申请当前不在审核阶段", "the registration is not awaiting review"
    ),
    "reviewer.inactive": Text("审核人不存在或已停用", "reviewer unknown or inactive"),
    "reviewer.is_applicant": Text("不能审核本人的申请", "nobody reviews their own application"),
    "reviewer.not_authorized": Text(
        "您不是该申请的审核人", "the reviewer may not decide this application"
    ),
    "decision.in_progress": Text("该审核意见正在处理", "this decision is being processed"),
    "decision.superseded": Text("该申请已有审核结论", "the registration was already decided"),
}

# A permission change (`domain.permissions`).
PERMISSIONS: dict[str, Text] = {
    "change.one_of": Text("请申请一个角色或一项权限(二选一)", "give one role or one permission"),
    "role.unknown": Text(
        "角色不存在,可选:单位管理员(unit_admin)、系统管理员(system_admin)",
        "no such role; unit_admin or system_admin",
    ),
    "role.base": Text(
        "普通用户角色人人都有,不能申请或撤销",
        "every account holds the user role; it is neither asked for nor revoked",
    ),
    "permission.unknown": Text("权限不存在", "no such permission"),
    "permission.not_grantable": Text(
        "该权限只随角色授予,不能单独申请或撤销", "this permission comes only with a role"
    ),
    "account.unknown": Text("账号不存在", "no such account"),
    "account.inactive": Text("账号已停用", "the account is not active"),
    "change.already_held": Text("该账号已拥有该角色或权限", "the account already holds it"),
    "change.needs_unit": Text(
        "该角色或权限限于本单位,账号须隶属于一个单位", "unit-scoped: the account belongs to no unit"
    ),
    "approval.too_few_approvers": Text(
        "授予系统管理员须两名不同的系统管理员批准,目前可审批的系统管理员不足两名",
        "four eyes: fewer than two system admins could approve",
    ),
    "approver.inactive": Text("审批人不存在或已停用", "approver unknown or inactive"),
    "approver.is_holder": Text("不能审批本人的申请", "nobody approves their own request"),
    "approver.not_authorized": Text("您无权审批该申请", "the approver may not grant this"),
    "approver.already_approved": Text(
        "您已批准过该申请;授予系统管理员须另一名系统管理员批准",
        "four eyes: this approver already approved; a different one must",
    ),
    "decision.not_awaiting_approval": Text(
        "该申请当前不在审批阶段", "the request is not awaiting approval"
    ),
    "decision.superseded": Text("该申请已有审批结论", "the request was already decided"),
    "decision.in_progress": Text("该审批意见正在处理", "this decision is being processed"),
    "revoker.inactive": Text("操作人不存在或已停用", "the revoking admin is unknown or inactive"),
    "revoke.not_authorized": Text("您无权撤销该角色或权限", "the admin may not revoke this"),
    "revoke.not_held": Text(
        "该账号没有这一角色或单独授予的权限",
        "the account does not hold it (as a role or a single grant)",
    ),
    "revoke.last_system_admin": Text(
        "不能撤销最后一名系统管理员的角色", "the last active system admin's role cannot be revoked"
    ),
    "revoke.id_reused": Text(
        "该撤销编号已用于另一项撤销,本次未做任何更改,请使用新的撤销编号",
        "this revocation ID was used for a different change; nothing changed, use a new ID",
    ),
}

# A message the edge did not vouch for (`domain.assertions`, `domain.vouching`): the person can
# only try again from the page, or log in again; the English says what failed.
ASSERTIONS: dict[str, Text] = {
    "assertion.missing": Text(
        "未经身份认证的操作,请登录后再试", "the message carries no assertion of the edge"
    ),
    "assertion.unknown_key": Text(
        "身份凭证无效,请重新登录后再试", "the assertion's key is not trusted by the workers"
    ),
    "assertion.bad_signature": Text(
        "身份凭证无效,请重新登录后再试", "the assertion's signature does not verify"
    ),
    "assertion.key_retired": Text(
        "身份凭证已失效,请重新登录后再试", "the assertion was signed after its key retired"
    ),
    "assertion.not_yet_valid": Text(
        "身份凭证时间有误,请稍后再试", "the assertion was issued in the future"
    ),
    "assertion.expired": Text("操作已超时,请刷新页面后重试", "the assertion expired"),
    "assertion.wrong_workflow": Text(
        "身份凭证与该申请不符", "the assertion is for another workflow"
    ),
    "assertion.wrong_message": Text("身份凭证与该操作不符", "the assertion is for another message"),
    "assertion.wrong_round": Text(
        "该申请已进入新一轮,请刷新页面后重试", "the assertion is for another review round"
    ),
    "assertion.wrong_payload": Text(
        "提交的内容与身份凭证不符", "the assertion is over another payload"
    ),
    "assertion.wrong_actor_kind": Text(
        "您不能进行该操作", "this kind of actor may not send this message"
    ),
    "assertion.wrong_actor": Text(
        "您不能以他人名义进行该操作", "the payload names another actor than the assertion"
    ),
}


# A reviewer's reasons to reject, by `RejectionReason` value, and the refusal they make.
REJECTION_REASONS_ZH = {
    "information_mismatch": "信息不符",
    "materials_incomplete": "材料不全",
    "photo_unclear": "证件照片不清晰",
    "not_an_employee": "非本单位人员",
    "other": "其他原因",
}
REJECTED = Text("审核未通过:{reason}。{comment}", "rejected by the reviewer: {reason}")

# Update validators' refusals (English for the integrator, Chinese in brackets for the person).
OUTDATED_SIGNATURE = "signature is over an outdated application digest (申请内容已变更)"
ID_NUMBER_FIXED = (
    "the ID number cannot change in a correction; withdraw and register anew"
    " (身份证号不能更正,请撤回后重新注册)"
)


# --- answers to the applicant's and the reviewer's messages ----------------------------------

PHONE_CODE_ACCEPTED = "手机验证成功"
PHONE_CODE_WRONG = "验证码错误,还可尝试{attempts}次"
PHONE_CODE_EXPIRED = "验证码已过期,请重新获取"
PHONE_CODE_LOCKED = "验证码错误次数过多,已失效,请重新获取"
PHONE_CODE_RESENT = "验证码已重新发送"
PHONE_CODE_TOO_SOON = "发送过于频繁,请{seconds}秒后再试"
SIGNATURE_ACCEPTED = "电子签名已确认"
NUDGE_SENT = "已提醒审核人"
NUDGE_TOO_SOON = "今天已催办过,请明天再试"
RESUBMITTED = "已重新提交"
DECISION_RECORDED = "审核意见已记录"
APPROVAL_DECISION_RECORDED = "审批意见已记录"


# --- SMS and e-mail: (subject, body); bodies open with SMS_PREFIX ------------------------------

PHONE_CODE_SMS = ("验证码", SMS_PREFIX + "您的注册验证码为{code},{minutes}分钟内有效。")

REVIEW_REMINDER = (
    "注册审核提醒",
    SMS_PREFIX + "有一份注册申请(第{round}轮)等待您审核({label}),请登录系统处理。",
)
REVIEW_PROGRESS = ("审核进度", SMS_PREFIX + "您的注册申请仍在审核中,可联系{contacts}催办。")
REVIEW_CONTACTS_FALLBACK = "单位管理员"
CORRECTION_NEEDED = ("注册申请需要更正", "您的注册申请需要更正:{reasons}")
REJECTED_FINAL = ("注册申请未通过审核", "注册申请未通过审核。")
EXPIRED = ("注册申请已过期", "注册申请已过期。")
APPROVED = (
    "审核通过通知",
    SMS_PREFIX + "您的注册申请已审核通过。登录名:{username},角色:{role}。",
)
# The reason of the first grant in an account's grant history.
APPROVED_GRANT_REASON = "注册审核通过"

APPROVAL_REMINDER = (
    "权限审批提醒",
    SMS_PREFIX + "权限变更申请 {workflow_id} 等待您审批({label}),请登录系统处理。",
)
APPROVAL_PROGRESS = (
    "审批进度",
    SMS_PREFIX + "您的权限变更申请仍在审批中,可联系{contacts}催办。",
)
APPROVAL_CONTACTS_FALLBACK = "系统管理员"
CHANGE_APPLIED = (
    "权限变更通知",
    SMS_PREFIX + "{verb}{change}。登录名:{username},当前角色:{role}。",
)
CHANGE_GRANTED_VERB = "已授予您"
CHANGE_REVOKED_VERB = "已撤销您的"
CHANGE_REVOKED_REASON = "原因:{reason}"
CHANGE_RESULT_SUBJECT = "权限变更申请结果"
CHANGE_REJECTED = "您申请的{change}未获批准。{comment}"
CHANGE_REFUSED = "您申请的{change}未受理:{reasons}"
# How a change names what it grants: 角色“单位管理员”, 权限“审核单位人员”(本单位).
CHANGE_ROLE = "角色“{role}”"
CHANGE_PERMISSION = "权限“{permission}”{scope}"
SCOPED = "({scope})"
# --- the edge (edge/): its own refusals; `edge.messages` gives each its HTTP status -----------

EDGE: dict[str, Text] = {
    "auth.invalid_credentials": Text("用户名或密码错误", "unknown username or wrong password"),
    "auth.throttled": Text(
        "登录失败次数过多,请稍后再试", "too many failed logins: locked for a while"
    ),
    "auth.second_factor_required": Text(
        "请输入短信验证码完成登录", "the SMS code of this login is still due"
    ),
    "session.missing": Text("请先登录", "no session"),
    "session.unknown": Text("登录已失效,请重新登录", "unknown session"),
    "session.expired": Text("登录已超时,请重新登录", "session expired"),
    "session.ended": Text("登录已结束,请重新登录", "session was ended"),
    "account.inactive": Text("账号已停用", "the account is deactivated"),
    "csrf.missing": Text("页面已过期,请刷新后重试", "no CSRF token"),
    "csrf.invalid": Text("页面已过期,请刷新后重试", "CSRF token does not match"),
    "csrf.origin": Text("请求来源不被允许", "cross-site request refused"),
    "code.wrong": Text("验证码错误", "wrong code"),
    "code.expired": Text("验证码已过期,请重新获取", "code expired or unknown"),
    "code.locked": Text(
        "验证码错误次数过多,已失效,请重新获取", "too many wrong codes: the code is void"
    ),
    "code.format": Text("请输入6位数字验证码", "the code is six digits"),
    "applicant.throttled": Text("操作过于频繁,请稍后再试", "too many requests for applicant codes"),
    "token.missing": Text("缺少访问令牌", "no bearer token"),
    "token.invalid": Text("访问令牌无效或已撤销", "unknown or revoked token"),
    "token.scope": Text("访问令牌无此权限", "the token lacks the scope"),
    "codec.not_operator": Text(
        "您无权解密查看流程数据", "decoding payloads needs the payloads:decode permission"
    ),
    "codec.origin": Text(
        "该来源不得调用解密服务", "this browser origin may not call the codec endpoint"
    ),
    "codec.bearer_only": Text(
        "加密服务仅供命令行使用,请以登录令牌调用",
        "encode takes the CLI's bearer session token, never a browser cookie",
    ),
    "codec.throttled": Text("解密请求过于频繁,请稍后再试", "too many decode requests: wait"),
    "codec.too_many_payloads": Text("一次解密的数据过多", "too many payloads in one request"),
    "codec.undecodable": Text(
        "数据无法解密(密钥未知或已被篡改)",
        "a payload cannot be decrypted (unknown key, or tampered)",
    ),
    "registration.not_yours": Text(
        "您无权访问该申请", "this session is not bound to that registration"
    ),
    "registration.not_found": Text("申请不存在", "no such registration"),
    "registration.exists": Text(
        "该身份证号已有进行中的注册申请,请通过“查询注册进度”以短信验证码继续办理",
        "a registration for this ID number is already running",
    ),
    "registration.wrong_stage": Text(
        "当前申请所处环节不能进行该操作", "the registration is not in the stage for that"
    ),
    "signature.outdated": Text(
        "申请内容已变更,请重新确认后签名", "the signature is over an outdated digest"
    ),
    "signature.missing": Text(
        "请手写签名,或输入您的姓名确认", "a signature image or the typed confirmation is needed"
    ),
    "signature.unreadable": Text(
        "签名图片无法读取,请清除后重新签名", "the drawn signature is not a readable PNG"
    ),
    "signature.name_mismatch": Text(
        "输入的姓名与申请人姓名不一致", "the typed confirmation is not the applicant's name"
    ),
    "signature.declaration": Text("请勾选确认声明后再签名", "the declaration was not confirmed"),
    "consent.required": Text(
        "请阅读并勾选同意系统公告与隐私政策", "the notice and policy were not accepted"
    ),
    "consent.sensitive_required": Text(
        "请勾选同意处理您的身份证号码和身份证照片等敏感个人信息",
        "the separate consent to sensitive personal information was not given",
    ),
    "photo.required": Text("请上传身份证照片", "no photo was chosen"),
    "withdraw.unconfirmed": Text("请勾选确认撤回申请", "the withdrawal was not confirmed"),
    "erasure.unconfirmed": Text("请勾选确认删除注册资料", "the erasure was not confirmed"),
    "resubmit.already_submitted": Text(
        "本轮已提交过更正,请等待审核", "a correction was already submitted for this round"
    ),
    "resubmit.id_number_changed": Text(
        "身份证号不能更正,请撤回后重新注册", "the ID number cannot change in a correction"
    ),
    "update.refused": Text("该操作未被受理,请刷新后重试", "the workflow refused it"),
    "assertion.refused": Text(
        "身份凭证无效或已过期,请重新登录后再试", "the workers refused the edge's assertion"
    ),
    "decision.not_counted": Text("审核意见未被采纳", "the decision did not count"),
    "photo.upload_too_large": Text(
        "照片文件过大,请压缩后重新上传", "the uploaded photo is far over the size limit"
    ),
    "invitation.unit_unknown": Text("请选择一个有效的单位", "no such active unit"),
    "invitation.used": Text(
        "该邀请码已被使用,不能撤销", "the invitation was used: it stays as evidence"
    ),
    "reviewer.not_authorized": Text(
        "您不能审核该申请", "this account may not review that registration"
    ),
    "reviewer.is_applicant": Text("不能审核本人的申请", "one may not review oneself"),
    "reviewer.inactive": Text("账号已停用", "the reviewer is not active"),
    "password.wrong": Text("当前密码不正确", "the current password is wrong"),
    "request.invalid": Text("请求格式不正确", "malformed request"),
    "request.too_large": Text("上传内容过大", "request body too large"),
    "request.not_found": Text("页面不存在", "no such resource"),
    "request.method": Text("不支持该操作", "method not allowed"),
    "workflow.unavailable": Text("系统繁忙,请稍后再试", "Temporal is unavailable"),
    "server.error": Text("系统出错,请稍后再试", "unexpected error: see the edge's log"),
}
EDGE_LOGGED_IN = "登录成功"
EDGE_LOGGED_OUT = "已退出登录"
EDGE_APPLICANT_LEFT = "已退出"
EDGE_WITHDRAWAL_SENT = "撤回申请已提交"
EDGE_CODE_WRONG = "验证码错误,还可尝试{attempts}次"
# The same answer whether or not such a registration exists.
EDGE_REENTRY_SENT = "如信息与进行中的申请一致,验证码已发送至该手机,请在5分钟内输入"
STAFF_LOGIN_SMS = (
    "验证码",
    SMS_PREFIX + "您的登录验证码为{code},{minutes}分钟内有效。如非本人操作,请修改密码。",
)
APPLICANT_SESSION_SMS = (
    "验证码",
    SMS_PREFIX + "您查看注册申请的验证码为{code},{minutes}分钟内有效。",
)


# --- the command line (`starter`) -----------------------------------------------------------

CLI_NOTICE_NOT_ACCEPTED = "请先阅读系统公告与隐私政策,并以 --accept-notice 表示同意"
CLI_PHOTO_UNREADABLE = "无法读取照片文件 {path} ({reason})"

# Names joined in a text (contacts, reviewers): 张三、李四.
LIST_SEPARATOR = "、"

# The applicant's request to delete a registration's data (PIPL art. 47).
ERASURE_DONE = "您的注册资料已删除"
ERASURE_HAS_ACCOUNT = "该注册已开通账号，账号资料请在用户中心管理，不能在此删除"
ERASURE_STILL_RUNNING = "该注册仍在办理中，请先撤回申请，再申请删除资料"

# 我的个人信息 and 申请删除 (PIPL arts. 44-47): the applicant's pages. `{documents_days}` and
# `{applicant_days}` are the retention settings.
RIGHTS_RETENTION = (
    "身份证照片和发给您的短信、邮件，在申请结束后{documents_days}天删除。"
    "申请未开通账号的（撤回、过期、最终未通过或系统处理失败），验证码记录和电子签名"
    "在申请结束后{applicant_days}天删除；流程记录（其中有加密保存的申请表）也在申请结束后"
    "{applicant_days}天由系统自动删除。开通了账号的，账号资料随账号保存。"
)
RIGHTS_WHILE_RUNNING = "申请还在办理中，结束后才开始计算保存期限。"
RIGHTS_AUDIT_KEPT = (
    "审核、提醒、撤回和删除等操作记录作为依法处理的记录保留，其中不含您的姓名、"
    "身份证号码和手机号码。"
)
ERASURE_ASSIGNING = "审核已通过，正在为您开通账号；开通后资料随账号保存，请在用户中心管理"
ERASURE_ACCOUNT_HINT = (
    "账号开通后，您的资料随账号保存，由用户中心和您所在单位的管理员管理；"
    "如需更正或注销，请登录用户中心或联系单位管理员。"
)
ERASURE_TEMPORAL_NOTE = (
    "申请表的内容还保存在流程记录中（加密保存，只有经授权并登录的运维人员可以查看），"
    "按流程记录的保留期在申请结束后{applicant_days}天自动删除，不能提前单独删除。"
)
# What the page lists per record: the audit row's kind, and the message's channel.
AUDIT_KIND_TEXT = {
    "decision": "审核意见",
    "refused_decision": "无权审核的操作（未生效）",
    "reminder": "审核提醒",
    "escalation": "上报系统管理员",
    "withdrawal": "撤回申请",
    "purge": "到期删除",
    "erasure": "按您的申请删除",
}
AUDIT_KIND_OTHER = "系统记录"
DECISION_TEXT = {"approve": "通过", "reject": "未通过"}
CHANNEL_TEXT = {"sms": "短信", "email": "电子邮件"}
