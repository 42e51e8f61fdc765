//! The phrasebook: every message the server writes for a person, with its
//! stable code, in English and Chinese. Placeholders are `{name}`; the test
//! in [`super`] holds both languages to the same ones.
use super::Phrase;

macro_rules! phrasebook {
    ($($name:ident = $code:literal, $en:literal, $zh:literal;)*) => {
        $(
            #[doc = $en]
            pub static $name: Phrase = Phrase { code: $code, en: $en, zh: $zh };
        )*
        /// Every phrase, for lookups by code.
        pub static ALL: &[&Phrase] = &[$(&$name),*];
    };
}

phrasebook! {
    // ---- generic input rules (validator's own codes and ours) ----
    INVALID = "invalid", "is not valid", "取值无效";
    RANGE = "range", "must be between {min} and {max}", "须在 {min} 到 {max} 之间";
    RANGE_MIN = "range.min", "must be at least {min}", "不能小于 {min}";
    RANGE_MAX = "range.max", "must be at most {max}", "不能大于 {max}";
    RANGE_ANY = "range.any", "is out of range", "超出允许范围";
    LENGTH = "length", "must be {min} to {max} characters", "须为 {min} 到 {max} 个字符";
    LENGTH_MIN = "length.min", "must be at least {min} characters", "至少 {min} 个字符";
    LENGTH_MAX = "length.max", "must be at most {max} characters", "最多 {max} 个字符";
    LENGTH_ANY = "length.any", "has the wrong length", "长度不符合要求";
    TEXT_REQUIRED = "text.required", "must be 1 to {max} characters", "请填写（1 到 {max} 个字符）";
    TEXT_ONE_LINE = "text.one_line", "must be one line without control characters or text-direction overrides", "须为单行文字，不能含控制字符或文字方向控制符";
    TEXT_CHARS = "text.chars", "must not contain control characters or text-direction overrides", "不能含控制字符或文字方向控制符";
    TEXT_NUL = "text.nul", "must not contain the NUL character", "不能含空字符（NUL）";
    PASSWORD_LENGTH = "password.length", "must be 8 to 128 characters", "密码须为 8 到 128 个字符";
    PHONE_FORMAT = "phone.format", "must be a mainland mobile number: 11 digits starting with 13-19", "须为中国大陆手机号：以 13–19 开头的 11 位数字";
    LAT_RANGE = "lat.range", "latitude must be a number between -90 and 90", "纬度须为 -90 到 90 之间的数字";
    LON_RANGE = "lon.range", "longitude must be a number between -180 and 180", "经度须为 -180 到 180 之间的数字";
    ID_FORMAT = "id.format", "`{value}` is not a valid id", "“{value}”不是有效的编号";
    DATE_FORMAT = "date.format", "`{value}` is not a date (YYYY-MM-DD)", "“{value}”不是日期（格式：年-月-日，如 2026-12-01）";
    UNKNOWN_CODE = "unknown.code", "`{value}` is not one of the values this field takes", "“{value}”不是本项可选的值";
    UNKNOWN_SKILL = "unknown.skill", "unknown skill `{value}`; see GET /api/v1/skills", "未知技能“{value}”";
    UNKNOWN_SKILL_ANY = "unknown.skill_any", "unknown skill; see GET /api/v1/skills", "未知技能";
    UNKNOWN_TEAM_KIND = "unknown.team_kind", "unknown team kind `{value}`", "未知队伍类型“{value}”";
    UNKNOWN_SCOPE = "unknown.scope", "unknown scope `{value}`", "未知权限范围“{value}”";
    URL_HTTPS = "url.https", "must be an https URL", "须为 https 网址";
    URL_HTTP = "url.http", "must be an http or https URL", "须为 http 或 https 网址";
    BASE64URL = "base64url", "must be base64url", "须为 base64url 编码";
    PUSH_AUTH = "push.auth", "must be 16 bytes in base64url", "须为 base64url 编码的 16 字节";
    PUSH_P256DH = "push.p256dh", "must be a P-256 public key in base64url", "须为 base64url 编码的 P-256 公钥";
    SCOPES_EMPTY = "scopes.empty", "name at least one scope", "请至少指定一个权限范围";
    TEAMS_MAX = "teams.max", "name at most {max} teams", "最多指定 {max} 支队伍";
    BBOX_FORMAT = "bbox.format", "must be min_lon,min_lat,max_lon,max_lat: four numbers in degrees", "须为“最小经度,最小纬度,最大经度,最大纬度”四个以度为单位的数字";
    NOT_BEFORE_FROM = "period.before_from", "must not be before from", "不能早于开始日期";
    NOT_AFTER_TO = "period.after_to", "must not be after to", "不能晚于结束日期";
    PERIOD_62_DAYS = "period.max_62_days", "a period is at most 62 days", "查询区间最长 62 天";
    PERIOD_TEN_YEARS = "period.max_ten_years", "a period is at most ten years", "查询区间最长十年";
    PERIOD_NAME = "period.name", "`{value}` is not week, month or all", "“{value}”不是 week（本周）、month（本月）或 all（全部）";
    BOARD_SCOPE = "board.scope", "`{value}` is not volunteers or teams", "“{value}”不是 volunteers（志愿者）或 teams（队伍）";
    MUST_BE_FUTURE = "time.future", "must be in the future", "须为将来的时间";
    AFTER_STARTS_AT = "time.after_start", "must be after starts_at", "须晚于开始时间";
    ROLES_COUNT = "roles.count_range", "name 1 to {max} roles, or leave roles out", "请填写 1 到 {max} 种分工，或不填";
    SLIP_NUMBER = "slip.number", "must be 1 to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit", "须为 1 到 64 个字母、数字或“. _ : -”，以字母或数字开头";
    ONE_OF = "one_of", "must be one of: {values}", "须为以下之一：{values}";
    ROLES_MAX = "roles.max", "name at most {max} roles", "最多 {max} 种分工";
    ROLE_COUNT_MIN = "roles.count_min", "each role needs at least 1 volunteer", "每种分工至少需要 1 名志愿者";
    ROLE_TWICE = "roles.twice", "the role `{role}` is named twice", "分工“{role}”重复了";
    ROLE_SPEC = "roles.spec", "`{value}` is not skill:count", "“{value}”不是“技能:人数”的格式";
    ROLE_COUNT = "roles.count", "`{value}` is not a count", "“{value}”不是人数";
    HEADCOUNT_MAX = "roles.headcount_max", "the roles need {count} volunteers; at most {max}", "分工共需 {count} 人，最多 {max} 人";

    // ---- nouns (what was not found) ----
    NOT_FOUND = "not_found", "{what} not found", "找不到该{what}";
    NOUN_ROUTE = "noun.route", "route", "页面或接口";
    NOUN_PAGE = "noun.page", "page", "页面";
    NOUN_SHIFT = "noun.shift", "shift", "班次";
    NOUN_CLIENT = "noun.client", "client", "接入系统";
    NOUN_DELIVERY = "noun.delivery", "delivery", "推送记录";
    NOUN_VOLUNTEER = "noun.volunteer", "volunteer", "志愿者";
    NOUN_RECORD = "noun.record", "record", "记录";
    NOUN_ORDER = "noun.order", "order", "订单";
    NOUN_TEAM = "noun.team", "team", "队伍";
    NOUN_ACCOUNT = "noun.account", "account", "账号";
    NOUN_OFFER = "noun.offer", "offer", "派单";
    NOUN_SLIP = "noun.slip", "slip", "警单";
    NOUN_PUSH_SUBSCRIPTION = "noun.push_subscription", "push subscription", "推送订阅";
    NOUN_NOTIFICATION = "noun.notification", "notification", "通知";
    NOUN_CERTIFICATE = "noun.certificate", "certificate", "证明";
    NOUN_VOLUNTEER_RECORD = "noun.volunteer_record", "volunteer record", "志愿者档案";
    NOUN_POINTS = "noun.points", "points", "积分";
    NOUN_SERVICE_HOURS = "noun.service_hours", "service hours", "服务时长";

    // ---- words (states shown inside sentences) ----
    STATUS_OPEN = "status.open", "open", "派单中";
    STATUS_ESCALATED = "status.escalated", "escalated", "无人接单";
    STATUS_ASSIGNED = "status.assigned", "assigned", "已接单";
    STATUS_IN_PROGRESS = "status.in_progress", "in progress", "处理中";
    STATUS_COMPLETED = "status.completed", "completed", "待确认";
    STATUS_CONFIRMED = "status.confirmed", "confirmed", "已确认";
    STATUS_CLOSED = "status.closed", "closed", "已关闭";
    STATUS_CANCELLED = "status.cancelled", "cancelled", "已取消";
    ASTATE_OFFERED = "astate.offered", "offered", "已派发";
    ASTATE_ACCEPTED = "astate.accepted", "accepted", "已接单";
    ASTATE_DECLINED = "astate.declined", "declined", "已拒绝";
    ASTATE_EXPIRED = "astate.expired", "expired", "已超时";
    ASTATE_WITHDRAWN = "astate.withdrawn", "withdrawn", "已撤回";
    ASTATE_ARRIVED = "astate.arrived", "on scene", "已到场";
    ASTATE_COMPLETED = "astate.completed", "completed", "已完成";
    ASTATE_CANCELLED = "astate.cancelled", "cancelled", "已取消";
    ASTATE_REMOVED = "astate.removed", "removed", "已移除";
    ASTATE_LEFT = "astate.left", "left", "已退出";
    ROLE_RESIDENT = "role.resident", "resident", "居民";
    ROLE_VOLUNTEER = "role.volunteer", "volunteer", "志愿者";
    ROLE_COORDINATOR = "role.coordinator", "coordinator", "协调员";
    ROLE_ADMIN = "role.admin", "admin", "管理员";
    HOURS_PENDING = "hours.pending", "pending", "待确认";
    HOURS_CONFIRMED = "hours.confirmed", "confirmed", "已确认";
    HOURS_CORRECTED = "hours.corrected", "corrected", "已更正";
    ACTION_ESCALATE = "action.escalate", "be escalated", "转人工处理";
    ACTION_REDISPATCH = "action.redispatch", "be sent out again", "重新派单";
    ACTION_FILL = "action.fill", "be filled", "满员";
    ACTION_UNFILL = "action.unfill", "lose a volunteer", "减员";
    ACTION_ARRIVE = "action.arrive", "take a check-in", "签到";
    ACTION_COMPLETE = "action.complete", "be completed", "完成";
    ACTION_CONFIRM = "action.confirm", "be confirmed", "确认";
    ACTION_AUTO_CLOSE = "action.auto_close", "be closed", "关闭";
    ACTION_CANCEL = "action.cancel", "be cancelled", "取消";

    // ---- the protocol ----
    WS_UNREADABLE = "ws.unreadable", "unreadable message", "无法读取的消息";
    WS_TOO_MANY_POSITIONS = "ws.too_many_positions", "too many position reports; slow down", "位置上报过于频繁，请放慢";
    WS_POSITION_NOT_STORED = "ws.position_not_stored", "position not stored", "位置未能保存";
    WS_UNKNOWN_TYPE = "ws.unknown_type", "unknown message type", "未知的消息类型";
    FIELD_REQUIRED = "field.required", "is required", "此项必填";
    FIELD_TYPE = "field.type", "has the wrong type: {detail}", "类型不正确（{detail}）";
    FIELD_VALUE = "field.value", "has a value this field does not take: {detail}", "取值不正确（{detail}）";
    FIELD_VARIANT = "field.variant", "is not one of the values this field takes: {detail}", "不是本项可选的值（{detail}）";
    MALFORMED = "malformed", "the request is malformed: {reason}", "请求格式有误：{reason}";
    MALFORMED_STATUS = "malformed.status", "the request was refused ({status})", "请求被拒绝（{status}）";
    MALFORMED_UPLOAD = "malformed.upload", "reading the upload failed: {reason}", "读取上传内容失败：{reason}";
    METHOD_NOT_ALLOWED = "method_not_allowed", "this route does not answer this method", "此接口不支持该请求方法";
    REQUEST_TIMEOUT = "request_timeout", "the request body did not arrive in time", "请求内容未能及时送达，请重试";
    TOO_LARGE = "too_large", "the request body is too large", "请求内容过大";
    TOO_LARGE_LIMIT = "too_large.limit", "the request body is larger than {limit} bytes", "请求内容超过 {limit} 字节";
    MEDIA_TYPE = "media_type", "expected {expected}", "内容类型须为 {expected}";
    RATE_LIMITED = "rate_limited", "too many attempts, retry in {seconds}s", "尝试次数过多，请 {seconds} 秒后再试";
    INTERNAL = "internal", "something went wrong on our side; it has been logged", "系统出错了，我们已记录，请稍后再试";
    DATABASE_UNREACHABLE = "unavailable.database", "the database is unreachable", "数据库暂时无法连接，请稍后再试";
    DATABASE_DID_NOT_ANSWER_TIME = "unavailable.database_slow", "the database did not answer in time", "数据库响应超时，请稍后再试";
    CERTIFICATES_NO_CHINESE_FONT_INSTALLED = "unavailable.font", "certificates (no Chinese font is installed: fonts-wqy-microhei, or set hours.font_path)", "暂时无法生成证明（服务器未安装中文字体）";
    DUPLICATE_ORDER = "order.duplicate", "you placed the same request a moment ago: order {code} (GET /api/v1/orders/{order_id})", "你刚刚已提交过相同的求助：订单 {code}（/api/v1/orders/{order_id}）";
    MUST_1_255_VISIBLE_ASCII = "idempotency.key_format", "must be 1 to 255 visible ASCII characters (a UUID is a good key)", "须为 1 到 255 个可见 ASCII 字符（建议使用 UUID）";
    REQUEST_IDEMPOTENCY_KEY_STILL_BEING = "idempotency.busy", "a request with this Idempotency-Key is still being processed; retry shortly", "使用此 Idempotency-Key 的请求仍在处理中，请稍后重试";
    KEY_WAS_USED_ANOTHER_REQUEST = "idempotency.key_reused", "this key was used for another request; use a new key for a new request", "此键已用于另一请求；新请求请使用新键";

    // ---- who may do what ----
    BEARER_TOKEN_REQUIRED = "auth.token_required", "a bearer token is required", "请先登录";
    TOKEN_INVALID_EXPIRED = "auth.token_invalid", "the token is invalid or has expired", "登录已失效，请重新登录";
    TOKEN_BEEN_REVOKED = "auth.token_revoked", "the token has been revoked", "登录已被撤销，请重新登录";
    ACCOUNT_NO_LONGER_EXISTS = "auth.account_gone", "the account no longer exists", "该账号已不存在";
    ACCOUNT_DISABLED = "auth.account_disabled", "the account is disabled", "该账号已停用";
    WRONG_PHONE_PASSWORD = "auth.wrong_password", "wrong phone or password", "手机号或密码错误";
    ONLY_COORDINATORS_ADMINS = "auth.staff_only", "only coordinators and admins may do this", "仅协调员和管理员可以执行此操作";
    ONLY_ADMINS = "auth.admin_only", "only admins may do this", "仅管理员可以执行此操作";
    ONLY_VOLUNTEERS = "auth.volunteer_only", "only volunteers may do this", "仅志愿者可以执行此操作";
    NOT_COORDINATE_TEAM = "auth.not_your_team", "you do not coordinate this team", "你不是这支队伍的协调员";
    OWN_ONLY = "auth.own_only", "you may only see your own {what}", "你只能查看自己的{what}";
    TOKEN_DOES_NOT_CARRY_SCOPE = "client.scope_missing", "this token does not carry the scope for this route", "此令牌没有访问该接口的权限范围";
    ROUTE_STATION_SYSTEMS_USE_CLIENT = "client.token_required", "this route is for station systems: use a client token", "此接口供警务站系统调用，请使用接入令牌";
    CLIENT_NO_LONGER_EXISTS = "client.gone", "the client no longer exists", "该接入系统已不存在";
    CLIENT_DISABLED = "client.disabled", "the client is disabled", "该接入系统已停用";
    CLIENT_ID_CLIENT_SECRET_REQUIRED = "client.credentials_required", "client_id and client_secret are required", "须提供 client_id 和 client_secret";
    CLIENT_ID_SECRET_WRONG_CLIENT = "client.credentials_wrong", "the client id or secret is wrong, or the client is disabled", "接入编号或密钥错误，或该接入系统已停用";
    GRANT_TYPE = "client.grant_type", "only client_credentials is supported", "仅支持 client_credentials";
    SCOPE_NOT_HELD = "client.scope_not_held", "this client does not hold the scope `{scope}`", "该接入系统没有权限范围“{scope}”";
    TOKEN_REQUEST = "client.token_request", "the body is not a token request: {reason}", "请求内容不是令牌请求：{reason}";
    RESIDENTS_CANNOT_SEE_ROSTER = "auth.roster_staff_only", "residents cannot see the roster", "居民无法查看花名册";
    EXPORT_ONLY_TEAMS_COORDINATE = "auth.export_own_teams", "you may export only the teams you coordinate", "你只能导出自己协调的队伍";
    ONLY_VOLUNTEERS_SHIFTS = "auth.shifts_volunteers", "only volunteers are on shifts", "只有志愿者参加排班";
    ONLY_RESIDENTS_DELETE_THEIR_OWN = "auth.erase_residents", "only residents delete their own account; volunteers ask their coordinator", "只有居民可以自行注销账号；志愿者请联系所在队伍的协调员";
    ONLY_VOLUNTEERS_RECEIVE_TEAM_BROADCASTS = "auth.broadcasts_volunteers", "only volunteers receive team broadcasts", "只有志愿者接收队内通知";
    ONLY_VOLUNTEERS_OFFERS_DUTY_POSITION = "auth.volunteer_self", "only volunteers have offers, duty and a position", "只有志愿者有派单、在岗状态和位置";
    ONLY_VOLUNTEERS_RECEIVE_OFFERS_PUSH = "auth.push_volunteers", "only volunteers receive offers by push", "只有志愿者通过推送接收派单";
    ONLY_VOLUNTEERS_RECORD_SERVICE_HOURS = "auth.hours_volunteers", "only volunteers record service hours", "只有志愿者记录服务时长";
    ONLY_RESIDENT_COORDINATOR_CANCEL = "auth.cancel", "only the resident or a coordinator may cancel", "只有下单的居民或协调员可以取消";
    ONLY_RESIDENT_WHO_PLACED_ORDER = "auth.confirm", "only the resident who placed the order confirms it", "只有下单的居民可以确认完成";
    VOLUNTEERS_PLACE_ORDERS_THROUGH_COORDINA = "auth.volunteers_place", "volunteers place orders through a coordinator or a resident account", "志愿者请通过协调员或居民账号下单";
    ONLY_TAKE_VOLUNTEERS_OWN_TEAMS = "auth.remove_own_teams", "you may only take volunteers of your own teams off an order", "你只能把自己队伍的志愿者撤下订单";
    COORDINATOR_ORDER_SCOPE = "auth.order_scope", "coordinators may change escalated orders, orders sent to their teams, orders their teams' volunteers are on, and orders they placed", "协调员只能处理无人接单的订单、派给本队的订单、本队志愿者参与的订单和自己下的订单";
    VOLUNTEER_OTHER_TEAM = "auth.volunteer_other_team", "{phone} is a volunteer of a team you do not coordinate", "{phone} 是你不协调的队伍的志愿者";

    // ---- accounts and roster ----
    REQUIRED_NEW_ACCOUNT = "account.password_required", "required for a new account", "新账号须设置密码";
    PHONE_REGISTERED = "account.phone_taken", "{phone} is already registered", "{phone} 已注册";
    PHONE_OTHER_ROLE = "account.phone_other_role", "{phone} belongs to a {role} account", "{phone} 已是{role}账号";
    PHONE_RESIDENT = "account.phone_resident", "{phone} already has a resident account; an admin can make it a volunteer with `promote: true`", "{phone} 已有居民账号；管理员可用 promote: true 将其转为志愿者";
    PHONE_VOLUNTEER = "account.phone_volunteer", "a volunteer with phone {phone} already exists", "手机号为 {phone} 的志愿者已存在";
    NO_SUCH_VOLUNTEER = "roster.no_volunteer", "no such volunteer", "没有这名志愿者";
    NO_SUCH_TEAM = "roster.no_team", "no such team", "没有这支队伍";
    NO_TEAM_WITH_ID = "roster.no_team_id", "no team with id {id}", "没有编号为 {id} 的队伍";
    TEAM_NAME_TAKEN = "roster.team_name_taken", "a team named {name} already exists", "名为“{name}”的队伍已存在";
    NOT_TEAM_MEMBER = "roster.not_member", "{id} is not a volunteer of this team", "{id} 不是这支队伍的志愿者";
    CSV_HEADER = "roster.csv_header", "cannot read the header line: {reason}", "无法读取表头：{reason}";
    CSV_COLUMN = "roster.csv_column", "missing column `{column}`", "缺少列“{column}”";
    CERT_MISSING = "roster.cert_missing", "{skill} needs a certificate: without one it does not count for dispatch", "{skill} 需要证书：没有证书不参与派单";
    CERT_EXPIRED = "roster.cert_expired", "the {skill} certificate expired on {date}: it does not count for dispatch", "{skill} 证书已于 {date} 过期：不参与派单";
    CSV_SAME_PHONE = "roster.csv_same_phone", "the same phone is already on line {line}", "同一手机号已出现在第 {line} 行";
    CSV_TEAM_NOT_YOURS = "roster.csv_team_not_yours", "you do not coordinate team `{team}`", "你不是队伍“{team}”的协调员";
    CSV_TEAM_UNKNOWN = "roster.csv_team_unknown", "unknown team `{team}`", "没有队伍“{team}”";
    CSV_CERT_DATE = "roster.csv_cert_date", "`{item}`: the date must be YYYY-MM-DD", "“{item}”：日期须为 年-月-日 格式";
    CSV_CERT_FORMAT = "roster.csv_cert_format", "`{item}`: write skill:YYYY-MM-DD", "“{item}”：请写成 技能:年-月-日";
    CSV_WHOLE_NUMBER = "roster.csv_whole_number", "`{value}` is not a whole number", "“{value}”不是整数";
    CSV_YES_NO = "roster.csv_yes_no", "`{value}` is not yes/no", "“{value}”不是 yes/no（是/否）";
    CSV_NUMBER = "roster.csv_number", "`{value}` is not a number", "“{value}”不是数字";
    CERT_WITHOUT_SKILL = "roster.cert_without_skill", "a certificate is given for a skill not in `skills`", "为未填写的技能提供了证书";
    BOTH_COORDINATES = "roster.both_coordinates", "{field} is required when {other} is given", "填写了 {other} 时须同时填写 {field}";
    CSV_LINE = "roster.csv_line", "unreadable CSV: {reason}", "这一行无法读取：{reason}";
    VOLUNTEER_TASKS_IN_HAND = "privacy.volunteer_busy", "the volunteer has {count} task(s) in hand; take them off first", "该志愿者还有 {count} 个进行中的任务，请先撤下";
    REQUESTS_RUNNING = "privacy.requests_running", "{count} of your requests are still running; cancel them or wait until they are done", "你还有 {count} 个求助在进行中；请先取消或等待完成";

    // ---- orders ----
    ORDER_IS = "order.is", "order {code} is {status}", "订单 {code} {status}";
    ORDER_FULL = "order.full", "order {code} is {status} and has no free place", "订单 {code} {status}，已没有空位";
    ORDER_CANNOT = "order.cannot", "order {code} is {status}: it cannot {action}", "订单 {code} {status}，不能{action}";
    ORDER_CHANGED = "order.changed", "order {code} changed meanwhile; reload and retry", "订单 {code} 刚刚有了变化，请刷新后重试";
    ORDER_NOT_ASSIGNED = "order.not_assigned", "order {code} is {status}; check-in is for assigned orders", "订单 {code} {status}；只有已接单的订单可以签到";
    ORDERS_RECORDS_WERE_ERASED_AFTER = "order.erased", "this order's records were erased after the retention period", "此订单的记录已在保留期满后删除";
    SLIP_CLOSED = "slip.closed", "slip {slip} is closed already", "警单 {slip} 已办结";
    STAFF_FIELDS = "order.staff_fields", "only coordinators may set resident_phone, station or target_team_id", "只有协调员可以填写居民电话、警务站或目标队伍";
    HEADCOUNT_SUM = "order.headcount_sum", "is {headcount}, but the roles need {sum}: give their sum or leave headcount out", "人数为 {headcount}，但各分工合计 {sum} 人：请填合计数或不填";
    RESIDENT_SOURCE = "order.resident_source", "residents place their own orders", "居民只能以自己的名义下单";
    OPEN_ORDERS_MAX = "order.too_many_open", "you have {count} requests still running (at most {max}); wait for one to finish or cancel one", "你有 {count} 个求助在进行中（最多 {max} 个）；请等待完成或取消一个";
    COORDINATORS_MUST_GIVE_REASON = "order.reason_required", "coordinators must give a reason", "协调员须填写原因";
    CORRECTION_NEEDS_REASON = "hours.reason_required", "a correction needs a reason", "更正须填写原因";

    // ---- offers, claims and the field ----
    OFFER_CHANGED_MEANWHILE = "offer.changed", "the offer changed meanwhile", "派单刚刚有了变化";
    OFFER_EXPIRED = "offer.expired", "this offer has expired", "此派单已超时";
    OFFER_IS = "offer.is", "this offer is {state}", "此派单{state}";
    VOLUNTEER_ALREADY_ORDER = "claim.already_on", "the volunteer is already on this order", "该志愿者已在此订单上";
    VOLUNTEER_NO_FREE_CAPACITY = "claim.no_capacity", "the volunteer has no free capacity", "该志愿者手头任务已满";
    ROLES_NOT_HELD = "claim.roles_not_held", "the volunteer holds (a valid certificate for) none of the roles this needs: {roles}", "该志愿者不具备所需分工的（有效证书）：{roles}";
    ROLE_FULL = "claim.role_full", "every place in the role {roles} of order {code} is taken", "订单 {code} 的分工 {roles} 已满员";
    PART_CANNOT_BECOME = "claim.transition", "this part of the order is {from}; it cannot become {to}", "你在此订单中的状态是“{from}”，不能变为“{to}”";
    VOLUNTEER_LACKS_VALID_CERTIFICATE_REQUIR = "claim.lacks_skills", "this volunteer lacks (a valid certificate for) the required skills", "该志愿者不具备所需技能（或证书已过期）";
    NOT_HOLD_VALID_CERTIFICATE_SKILLS = "claim.you_lack_skills", "you do not hold (a valid certificate for) the skills this task needs", "你不具备此任务所需的技能（或证书已过期）";
    THAT_VOLUNTEER_NOT_ORDER_ALREADY = "claim.not_on_order", "that volunteer is not on this order (or already on scene)", "该志愿者不在此订单上（或已到场）";
    THAT_VOLUNTEERS_PART_CHANGED_MEANWHILE = "claim.their_part_changed", "that volunteer's part changed meanwhile; reload and retry", "该志愿者的状态刚刚有了变化，请刷新后重试";
    ASSIGNMENT_CHANGED_MEANWHILE = "field.assignment_changed", "your assignment changed meanwhile", "你的任务刚刚有了变化";
    PART_CHANGED_MEANWHILE_RELOAD_RETRY = "field.part_changed", "your part changed meanwhile; reload and retry", "你的状态刚刚有了变化，请刷新后重试";
    PART_NOT_ACCEPTED = "field.not_accepted", "your part in this order is {state}, not accepted", "你在此订单中的状态是“{state}”，不是已接单";
    PART_NOT_WITHDRAWABLE = "field.not_withdrawable", "your part in this order is {state}: only a volunteer on it may withdraw", "你在此订单中的状态是“{state}”：只有在任务中的志愿者可以退出";
    CHECK_IN_FIRST = "field.check_in_first", "check in first (your part is {state})", "请先签到（你的状态是“{state}”）";
    ONLY_ONE_ON_SCENE = "field.only_on_scene", "you are the only volunteer on scene: complete the task, or ask a coordinator to reassign it", "你是现场唯一的志愿者：请完成任务，或请协调员改派";
    TOO_FAR_TO_CHECK_IN = "field.too_far", "you are {distance} m from the order; check in within {limit} m", "你距离求助地点 {distance} 米；须在 {limit} 米以内签到";
    TOO_FAST = "field.too_fast", "this position is {km} km from your last report {seconds} s ago, faster than {speed} m/s; share your position on the way first", "此位置距你 {seconds} 秒前上报的位置 {km} 公里，超过每秒 {speed} 米；请在途中持续共享位置";
    SHARE_POSITION_WAY_PUT_API = "field.share_position", "share your position on the way (PUT /api/v1/me/location) before checking in", "签到前请在途中共享你的位置";
    GO_DUTY_BEFORE_TAKING_TASK = "grab.go_on_duty", "go on duty before taking a task", "请先上岗再接任务";
    REPORT_POSITION_FIRST_PUT_API = "grab.position_first", "report your position first (PUT /api/v1/me/location)", "请先上报你的位置";
    POSITION_STALE = "grab.position_stale", "your last position is {minutes} minutes old; report where you are first", "你的位置是 {minutes} 分钟前上报的，请先更新位置";
    CAPACITY_FULL = "grab.capacity_full", "you already have {held} of {capacity} tasks in hand", "你手头已有 {held} 个任务（上限 {capacity} 个）";
    GRAB_TOO_FAR = "grab.too_far", "the task is {km} km away; you may take tasks within {limit} km", "任务距你 {km} 公里；你只能接 {limit} 公里以内的任务";

    // ---- shifts, hours, points ----
    SHIFT_ALREADY_ENDED = "shift.ended", "this shift has already ended", "该班次已结束";
    ALREADY_LEFT_SHIFT = "shift.left", "you have already left this shift", "你已退出该班次";
    SHIFT_ENDED_STAYS_RECORD_WHO = "shift.ended_kept", "this shift has ended; it stays as the record of who was on it", "该班次已结束，作为在岗记录保留，不能删除";
    SHIFT_LASTS_AT_MOST_24 = "shift.max_24h", "a shift lasts at most 24 hours", "一个班次最长 24 小时";
    MUST_FROM_FIRST_SHIFTS_DAY = "shift.repeat_range", "must be from the first shift's day to a year after it", "须在首个班次当天到一年之后之间";
    SHIFT_KIND = "shift.kind", "must be duty or patrol", "须为 duty（值守）或 patrol（巡逻）";
    HOURS_ALREADY = "hours.already", "this record is already {status}", "这条记录已{status}";
    HOURS_SPAN = "hours.span", "must be at most {span}, the record's span", "不能超过这条记录的时长 {span} 分钟";
    RECORD_CHANGED_MEANWHILE_RELOAD = "hours.changed", "this record changed meanwhile; reload it", "这条记录刚刚有了变化，请刷新";
    MUST_PENDING_COUNTED = "hours.status_filter", "must be pending or counted", "须为 pending（待确认）或 counted（已计入）";
    VERIFICATION_CODE_16_LETTERS_DIGITS = "certificate.code_format", "a verification code is 16 letters and digits", "验证码为 16 位字母和数字";
    BALANCE_TOO_LOW_REDEMPTION = "points.balance_low", "the balance is too low for this redemption", "积分余额不足，无法兑换";
    REDEMPTION_SPENDS_POINTS_USE_NEGATIVE = "points.redemption_negative", "a redemption spends points: use a negative amount", "兑换会扣减积分，请填写负数";
    POINTS_AMOUNT = "points.amount", "must be between -1000 and 1000 and not 0", "须在 -1000 到 1000 之间且不为 0";
    POINTS_KIND = "points.kind", "must be adjustment or redemption", "须为 adjustment（调整）或 redemption（兑换）";
    NOT_DELIVERY_ID = "webhook.delivery_id", "not a delivery id", "不是有效的推送记录编号";

    // ---- points history reasons ----
    REASON_TASK = "points.reason.task", "{code} ({minutes} min on task)", "{code}（服务 {minutes} 分钟）";
    REASON_RATED = "points.reason.rated", "{code} rated {rating}", "{code} 获评 {rating} 星";
}

/// The word for a state's `code` of a `kind` (`status` of an order,
/// `astate` of a volunteer's part, `role`, `hours`, `action`), or the code as
/// it is when the phrasebook has none.
pub fn word(kind: &str, code: &str) -> super::Arg {
    let key = format!("{kind}.{code}");
    match ALL.iter().copied().find(|p| p.code == key) {
        Some(p) => super::Arg::Word(p),
        None => super::Arg::Plain(code.to_owned()),
    }
}
