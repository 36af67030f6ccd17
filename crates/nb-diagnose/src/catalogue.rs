//! The pattern catalogue: every literal the engine looks for, here and in
//! `catalogue/signals.rs`.
//!
//! Each [`Entry`] maps case-insensitive literals (provider error codes, SDK
//! exception names, message phrases in English and Chinese) to a category
//! and a sub-category suffix. All literals of all entries, plus the
//! evidence [`SIGNALS`] and user rules, are compiled into one Aho-Corasick
//! automaton (the few non-ASCII ones into a second, small one), so a body is
//! read once whatever the size of the catalogue.
//!
//! When several entries match, the highest `priority` wins (then the longest
//! literal, then the earliest entry). The scale:
//!
//! | priority | meaning |
//! |---|---|
//! | 85..=95 | a provider's own error code or an unmistakable phrase |
//! | 60..=84 | a specific phrase |
//! | 40..=59 | a generic phrase that still beats the HTTP status |
//! | 30 | the HTTP status alone (see [`status_rule`]) |
//! | 10..=29 | generic words that only decide when no status does |
//!
//! User rules ([`crate::Rule`]) share the scale; 100 and above beat every
//! built-in entry.

use crate::ErrorCategory::{self, *};
use crate::Provider::{self, *};

mod signals;

pub(crate) use signals::{KEY_PREFIXES, MODEL_MISSING_SPAN, SIGNALS, Signal};

/// One catalogue entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) category: ErrorCategory,
    /// Sub-category suffix; the provider's name is prefixed (`dashscope_rate_limit`).
    pub(crate) sub: &'static str,
    pub(crate) priority: u8,
    pub(crate) patterns: &'static [&'static str],
    /// The provider whose vocabulary this is; it names the provider when the
    /// context does not.
    pub(crate) provider: Option<Provider>,
    /// Overrides the category's default retryability.
    pub(crate) retryable: Option<bool>,
    /// The request is too large for this model: shrink it or re-route.
    pub(crate) shrink: bool,
    /// Only meaningful when no error status was received (a 2xx, or none):
    /// JSON-decoding and stream errors.
    pub(crate) success_only: bool,
    /// The literal must not touch a letter, digit or `_` on either side.
    pub(crate) word: bool,
    /// The literal must end the text (whitespace aside) and stand at its
    /// start or after a separator (`:`, `-`, `：`); it implies its own
    /// boundary, so `word` is not also set.
    pub(crate) last: bool,
    /// An invalid request about the target's setup, not the request's content
    /// ([`Diagnosis::about_target`](crate::Diagnosis::about_target)).
    pub(crate) target: bool,
    /// A relay's wrapper words ("Upstream request failed"): they name no
    /// cause, so the error's own type decides before the status does.
    pub(crate) wrapper: bool,
}

const fn e(
    category: ErrorCategory,
    sub: &'static str,
    priority: u8,
    patterns: &'static [&'static str],
) -> Entry {
    Entry {
        category,
        sub,
        priority,
        patterns,
        provider: None,
        retryable: None,
        shrink: false,
        success_only: false,
        word: false,
        last: false,
        target: false,
        wrapper: false,
    }
}

impl Entry {
    const fn of(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }
    const fn no_retry(mut self) -> Self {
        self.retryable = Some(false);
        self
    }
    const fn shrink(mut self) -> Self {
        self.shrink = true;
        self
    }
    const fn success_only(mut self) -> Self {
        self.success_only = true;
        self
    }
    const fn word(mut self) -> Self {
        self.word = true;
        self
    }
    const fn last(mut self) -> Self {
        self.last = true;
        self
    }
    const fn target(mut self) -> Self {
        self.target = true;
        self
    }
    const fn wrapper(mut self) -> Self {
        self.wrapper = true;
        self
    }
}

/// The sub-category of the ambiguous "exceeded your current quota": OpenAI
/// means billing by it, Google sends it for every `RESOURCE_EXHAUSTED`, so the
/// engine turns it into a rate limit when the text shows a resettable window
/// (a retry delay or a per-minute/per-day metric) and no zero limit.
pub(crate) const AMBIGUOUS_QUOTA: &str = "exceeded_current_quota";

/// The sub-category of a browser's CORS refusal: a network failure no retry
/// cures, even when the browser prints the 200 it withheld.
pub(crate) const CORS_BLOCKED: &str = "cors_blocked";

/// The sub-category of a failure in this program before anything was sent
/// (a library missing or clashing): `unknown`, and no provider's.
pub(crate) const LOCAL_SETUP: &str = "local_setup";

/// The sub-category of an error object this program read without having
/// it: the cause was lost, so `unknown`, and no provider's.
pub(crate) const ERROR_UNREADABLE: &str = "error_unreadable";

/// The sub-category of an app's own words put in place of a failure,
/// naming no cause (an assistant's apology, an agent's "terminated due to
/// error"): `unknown`, and no provider's.
pub(crate) const CAUSE_HIDDEN: &str = "cause_hidden";

/// The sub-category of a model served only to newer versions of the app
/// that asked for it: that app must be upgraded, other models still work.
pub(crate) const CLIENT_TOO_OLD: &str = "client_too_old";

/// The sub-category of a model a local server's version cannot run.
pub(crate) const VERSION_TOO_OLD: &str = "version_too_old";

/// The catalogue.
#[rustfmt::skip]
pub(crate) static CATALOGUE: &[Entry] = &[
    // ---------------------------------------------------------------- rate_limit
    e(RateLimit, "rate_limit", 92, &["throttling.ratequota", "throttling.burstrate", "请求速度超限", "请求频率超限"]).of(DashScope),
    e(RateLimit, "rate_limit", 80, &["requests throttling triggered", "过于频繁", "请求太频繁", "请求频率过高", "频率超限", "速率限制", "限流", "请求次数超", "流控", "调用次数超过限制", "限速", "请求速度过快", "访问频率", "每日限制", "明天再试"]).of(DashScope),
    // Zhipu's "frequency too high": any provider's words, not DashScope's alone.
    e(RateLimit, "rate_limit", 80, &["频率过高"]),
    e(RateLimit, "allocation_quota", 78, &["throttling.allocationquota"]).of(DashScope),
    e(RateLimit, "token_rate_limit", 72, &["allocated quota exceeded", "error-code#token-limit"]).of(DashScope),
    e(RateLimit, "rate_limit", 90, &["rate_limit_exceeded", "rate_limit_reached"]),
    e(RateLimit, "rate_limit", 90, &["rate_limit_error"]).of(Anthropic),
    e(RateLimit, "throttling", 90, &["throttlingexception"]).of(Bedrock),
    e(RateLimit, "service_quota", 85, &["servicequotaexceededexception"]).of(Bedrock),
    e(RateLimit, "rate_limited", 82, &["rate_limited"]).of(Mistral),
    e(RateLimit, "rate_limit", 80, &["rate limit reached for", "enqueued token limit", "exceeded token rate limit", "exceeded call rate limit", "token rate limit", "ratelimitreached", "requests rate limit exceeded"]),
    e(RateLimit, "rate_limit", 85, &["limit_requests", "requests_rate_limit_exceeded"]).of(DashScope),
    e(RateLimit, "tokens_per_period", 82, &["too many tokens per", "too many requests per"]),
    e(RateLimit, "rate_limit", 72, &["rate limit exceeded", "too many requests", "toomanyrequests", "ratelimiterror", "ratelimitexceeded", "please wait before trying again", "reduce your request rate"]),
    // A router (LiteLLM) with every deployment cooling down after 429s: it
    // raises a rate-limit error, and the cooldown ends by itself.
    e(RateLimit, "no_deployment_available", 70, &["no models available", "no deployments available", "model_cooldown", "are cooling down"]),
    e(RateLimit, "qps_limit", 85, &["qps request limit reached", "qps limit"]),
    // A usage window that resets (a five-hour or a weekly plan window).
    e(RateLimit, "usage_window", 70, &["hour limit reached", "weekly limit reached", "hit your usage limit", "reached your usage limit", "are currently limited", "hit your session limit", "hit your weekly limit", "exhausted your capacity"]),
    // iFlytek's per-second flow control (`AppIdQpsOverFlowError`).
    e(RateLimit, "qps_limit", 84, &["qps over flow", "qpsoverflow"]),
    e(RateLimit, "daily_limit", 76, &["daily request limit", "daily limit reached", "daily quota", "daily limit exceeded", "day limit reached", "per-day limit", "daily free allocation", "今日调用次数限额"]),
    // A per-minute window names a rate limit, above a vague "too many tokens".
    e(RateLimit, "rate_limit", 65, &["requests per minute", "tokens per minute", "tokens per min", "requests per min", "quota will be replenished in", "tpm limit", "rpm limit"]),
    e(RateLimit, "rate_limit", 75, &["trial key, which is limited to"]).of(Cohere),
    e(RateLimit, "concurrency_limit", 65, &["concurrency limit", "high concurrency", "too many concurrent", "concurrent requests limit", "concurrency exceeded", "并发超限", "并发数超", "并发数过高", "并发过高", "并发限制"]),
    // An account's own limit on open connections, above a server's "too many
    // connections" (overloaded).
    e(RateLimit, "connection_limit", 82, &["too many websocket connections", "connection_limit_reached"]),
    e(RateLimit, "request_limit", 70, &["request limit exceeded", "server limit exceeded", "frequency limit", "conn limit", "job num exceed", "频率限制", "超过限额", "任务数过多"]),
    e(RateLimit, "rate_limit", 55, &["rate limit", "usage limit", "ratelimit", "rate-limit", "request rate", "requests too quickly", "requests per day", "tokens per day", "quota exceeded for quota metric", "quota exceeded for metric", "resource has been exhausted"]),
    e(RateLimit, "resource_exhausted", 50, &["resource_exhausted", "resource exhausted"]),
    e(RateLimit, "throttled", 45, &["throttled", "throttling", "slow down"]),
    // A single request larger than the per-minute budget: waiting will not help.
    e(RateLimit, "request_exceeds_rate_limit", 95, &["request too large for"]).no_retry().shrink(),
    // ----------------------------------------------------------- quota_exhausted
    // A free trial or a safety cap set on the account: waiting does not
    // bring it back.
    e(QuotaExhausted, "trial_exhausted", 90, &["free trial quota", "trial quota", "exhausted its free", "set inference limit"]),
    // A plan's token allowance (watsonx's Lite plan); a window named with it
    // makes it a rate limit.
    e(QuotaExhausted, "token_quota", 80, &["storage quota", "token_quota_reached", "token quota limit", "token quota", "charge resource exhaust", "计费资源已耗尽"]),
    // iFlytek Spark's token allowance for the app is used up.
    e(QuotaExhausted, "token_allowance", 86, &["tokens.total"]),
    e(QuotaExhausted, "insufficient_quota", 92, &["insufficient_quota"]).of(OpenAi),
    e(QuotaExhausted, "billing_hard_limit", 92, &["billing_hard_limit_reached", "billing hard limit", "billing_not_active", "billing is not active"]).of(OpenAi),
    // OpenAI's and Google's words, and an app's "Reached your quota": above
    // an SDK's `RateLimitError` class (72), which they come in, the words
    // decide, and a window named with them makes a rate limit.
    e(QuotaExhausted, AMBIGUOUS_QUOTA, 74, &["exceeded your current quota", "reached your quota"]),
    e(QuotaExhausted, "arrearage", 92, &["arrearage", "arrears", "overdue-payment", "good standing", "欠费"]).of(DashScope),
    e(QuotaExhausted, "free_quota_exhausted", 90, &["free allocated quota exceeded", "allocationquota.freetieronly", "free tier of the model has been exhausted", "免费额度"]).of(DashScope),
    e(QuotaExhausted, "free_quota_exhausted", 86, &["free tier quota exceeded", "have a free quota tier", "free quota exceeded"]),
    e(QuotaExhausted, "insufficient_quota", 88, &["配额不足", "余额不足", "额度不足", "额度已用完", "额度已用尽"]).of(DashScope),
    // A relay's (one-api, new-api) and a coding plan's allowance, used up or
    // lapsed.
    e(QuotaExhausted, "insufficient_quota", 86, &["pre_consume_token_quota_failed", "no active token plan", "no active subscription", "not have enough quota", "preconsumedquota", "remainquota", "remaincount", "pre-consume quota failed", "package has expired", "plan has expired", "subscription has expired", "subscription expired", "套餐已过期", "套餐已到期"]),
    e(QuotaExhausted, "insufficient_balance", 88, &["insufficient balance", "insufficient_balance"]).of(DeepSeek),
    e(QuotaExhausted, "credit_balance_too_low", 92, &["credit balance is too low", "credit balance too low", "billing_error"]).of(Anthropic),
    e(QuotaExhausted, "insufficient_credits", 86, &["requires more credits", "insufficient credits", "insufficient_credits", "out of credits", "not enough credits", "any credits", "no credits left", "no credits remaining", "credit limit", "credits are depleted", "prepayment credits"]),
    e(QuotaExhausted, "billing", 80, &["insufficient funds", "balance is $0", "balance is 0", "balance is not sufficient", "余额过低", "insufficient account funds", "spending limit", "spend limit", "budget exceeded", "budget has been exceeded", "budget_exceeded", "budgetexceedederror", "exceeded your monthly", "monthly limit", "quota is not enough", "insufficient_user_quota", "insufficient user quota", "payment method", "add a payment", "quota exhausted", "quota has been exhausted", "billing account", "spending cap", "spend cap", "balance is insufficient", "please recharge", "api usage limits", "you will regain access", "key limit exceeded", "api calls / month"]),
    e(QuotaExhausted, "quota_exceeded", 88, &["exceeded_current_quota_error"]),
    e(QuotaExhausted, "billing_disabled", 90, &["billing_disabled", "requires billing to be enabled", "billing to be enabled", "billing has been disabled", "billing is disabled"]),
    e(QuotaExhausted, "payment_required", 60, &["payment required", "payment_required", "payment_method_required"]),
    // A limit with no window to wait out: the plan's total, or usage the account must buy.
    e(QuotaExhausted, "account_overdue", 88, &["account overdue", "overdue account", "account is overdue", "account has an overdue", "balance is overdue", "serviceoverdue", "overdue payment", "overdue bill", "accountoverdue"]),
    // Prepaid resource packs and plans that run out, and billing cycles.
    e(QuotaExhausted, "resource_pack_exhausted", 86, &["resource pack exhausted", "resource package run out", "package run out", "not purchased", "billing cycle", "bill is overdue", "资源包", "余量已用尽", "剩余额度", "预扣费额度失败"]),
    e(QuotaExhausted, "total_limit", 80, &["open api total request limit", "total limit reached", "lifetime limit"]),
    e(QuotaExhausted, "extra_usage_required", 93, &["extra usage is required", "out of extra usage", "usage credits are required", "credits are required", "requires extra usage", "extra usage required"]),
    e(QuotaExhausted, "credits_balance", 88, &["credits_balance", "credits balance"]),
    // A service paused at an account's own spending cap (Volcengine's "Safe Experience Mode").
    e(QuotaExhausted, "service_paused", 85, &["model service has been paused", "safe experience mode"]),
    // ---------------------------------------------------------------------- auth
    e(Auth, "invalid_api_key", 92, &["invalid_api_key", "incorrect api key", "incorrect_api_key", "incorrect access key"]),
    e(Auth, "invalid_api_key", 90, &["invalidapikey", "invalid api-key", "invalidcredential", "凭证无效", "无效的api", "api-key无效", "api key无效", "密钥无效"]).of(DashScope),
    e(Auth, "invalid_api_key", 92, &["api_key_invalid", "api key not valid", "api key expired", "api_key_expired"]).of(Gemini),
    e(Auth, "authentication_error", 90, &["invalid x-api-key"]).of(Anthropic),
    e(Auth, "authentication_error", 88, &["authentication_error"]),
    e(Auth, "authentication_failed", 86, &["authentication fails"]).of(DeepSeek),
    e(Auth, "invalid_subscription_key", 88, &["invalid subscription key"]).of(AzureOpenAi),
    e(Auth, "invalid_security_token", 90, &["unrecognizedclientexception", "security token included in the request is invalid", "token included in the request is invalid", "expiredtokenexception", "invalidsignatureexception"]).of(Bedrock),
    e(Auth, "invalid_api_key", 85, &["invalid api key", "invalid signature", "invalid api token", "invalid_api_token", "invalid authentication", "invalid_authentication", "api key is invalid", "key 不正确", "key不正确", "key 错误", "key无效", "key 无效", "authentication required", "api key is missing", "missing api key", "api_key is not set", "api key is not set", "could not load credentials", "set an auth method", "could not refresh access token", "application_default_credentials", "'authorization' header", "no api key provided", "key is not provided", "api key not provided", "api key was not provided", "didn't provide an api key", "api key not found", "api key could not be found", "invalid credentials", "api key has been revoked", "reported as leaked", "key was leaked", "token has expired", "incorrect model credentials", "authorization header is missing", "api key appears to be invalid"]),
    e(Auth, "missing_api_key", 85, &["access token missing", "api_key client option must be set", "could not resolve authentication method", "no api key", "no valid api key", "unregistered callers", "openai_api_key environment variable", "couldn't find a secret", "missing subscription key", "no auth credentials", "missing bearer", "default credentials were not found", "defaultcredentialserror", "unable to locate credentials", "api key not configured", "api key is not configured", "api key must be provided", "api key not set", "api_key is not present", "failed to resolve bearer token", "api_key must be set", "could not load the default credentials", "could not resolve api token"]),
    // google-auth's failure to get a token; a network failure named with it decides.
    e(Auth, "token_refresh_failed", 60, &["refresherror"]),
    // A credential withdrawn by whoever issued it (a certificate revoked is
    // the TLS layer's).
    e(Auth, "revoked_key", 70, &["key has been revoked", "token has been revoked", "key was revoked", "token was revoked", "you provided has been revoked"]),
    e(Auth, "account_deactivated", 85, &["account_deactivated", "account has been deactivated"]),
    e(Auth, "invalid_access_token", 85, &["access token invalid", "invalid access token", "invalid_access_token", "access token is invalid", "access token expired", "access token has expired", "api key has expired", "令牌已过期"]),
    e(Auth, "authentication_error", 80, &["authentication error", "authorization failed", "authorisation failed", "无法进行身份验证", "身份验证信息不正确", "token非法", "token过期"]),
    // Also a TLS handshake's and a wrapper's word: any cause named with it,
    // and any status, decides.
    e(Auth, "authentication_failed", 29, &["authentication failed", "认证失败", "身份验证失败", "鉴权失败"]),
    e(Auth, "authentication_error", 65, &["authenticationerror", "unauthenticated"]),
    e(Auth, "unauthorized", 42, &["unauthorized", "unauthorised"]),
    // A relay's (one-api, new-api) word for a key it does not know.
    e(Auth, "invalid_token", 70, &["invalid token", "security token is invalid", "api token is invalid", "auth token is invalid", "bearer token is invalid", "authentication token is invalid", "token invalid", "token seems invalid"]).word(),
    // Baidu's failures to authenticate the app; MiniMax's 1004 words.
    e(Auth, "authentication_failed", 80, &["iam certification failed", "could not find credential", "get service token failed", "auth failure", "signature expire", "signature we calculated does not match", "session token not found"]),
    e(Auth, "unauthorized", 44, &["not authorized", "not authorised", "未授权", "token not match group"]),
    // An app asking for a valid key: it refused one, below any cause
    // printed beside it.
    e(Auth, "invalid_api_key", 50, &["enter a valid api key", "provide a valid api key", "enter a valid gemini api key", "enter a valid openai api key", "enter a valid anthropic api key"]),
    // A key said to be required or missing, below a rate limit or a spent
    // allowance named with it ("an API key is required for higher limits").
    e(Auth, "missing_api_key", 60, &["api key is required", "api key missing", "auth token is required", "no credentials for", "credential is required"]),
    // Gemini CLI's sign-in without the Cloud project its credentials need.
    e(Auth, "missing_project", 60, &["no project id found for gemini cli", "凭证缺少 project id"]),
    // A key the client never sent, in an app's words: it decides only where
    // no status does ("You need to use an API key for higher limits" under
    // a 429 is the limit).
    e(Auth, "missing_api_key", 29, &["need to use an api key"]),
    // An app or an extension that has no signed-in account to call with;
    // any status decides (a 403's "please log in to the console").
    e(Auth, "not_signed_in", 29, &["not signed in", "not logged in", "please sign in", "please log in"]).word(),
    e(Auth, "unknown_account", 80, &["account does not exist", "account not found", "账号不存在", "账户不存在"]),
    e(Auth, "expired_token", 86, &["security token included in the request is expired", "token is expired", "token expired", "expired token", "not authenticated", "credentials have expired"]),
    e(Auth, "reauthentication_needed", 86, &["reauthentication is needed", "token is missing"]),
    // An app that could not renew its sign-in, below any cause it names
    // for that (a connection that failed, an answer it could not read).
    e(Auth, "expired_token", 40, &["failed to refresh auth token", "failed to refresh access token", "failed to refresh token"]),
    // An OAuth 2.0 token endpoint's refusal (RFC 6749 section 5.2), as the
    // credential flows of Google, Azure and Baidu return it: the client or
    // the grant it showed (a refresh token, a signed assertion) is not good.
    e(Auth, "oauth_rejected", 85, &["invalid_client", "invalid_grant"]).word(),
    // A proxy between the caller and the provider wants its own credentials.
    e(Auth, "proxy_auth_required", 90, &["proxy authentication required", "proxy-authenticate", "authenticate with proxy"]).no_retry(),
    // ---------------------------------------------------------------- permission
    e(Permission, "permission_error", 90, &["permission_error"]).of(Anthropic),
    e(Permission, "access_denied", 88, &["accessdeniedexception", "model access is denied"]).of(Bedrock),
    e(Permission, "access_denied", 88, &["accessdenied.unpurchased", "model.accessdenied", "workspace.accessdenied"]).of(DashScope),
    e(Permission, "unsupported_region", 90, &["unsupported_country_region_territory", "country, region, or territory not supported", "unsupported country, region, or territory", "user location is not supported", "not available in region", "not available in your country", "not available in your region", "not available in your location", "not currently available in your location", "not available in this country"]),
    e(Permission, "api_disabled", 85, &["service_disabled", "has not been used in project", "organization has been disabled", "to be enabled in your firebase project"]),
    // Google's refusal of an API a key is restricted from ("Requests to this API
    // … are blocked."): its code and the method named blocked, its bare words only
    // where no status decides (a 429 "for requests to this API" is a rate limit).
    e(Permission, "api_key_blocked", 85, &["api_key_service_blocked", "generatecontent are blocked"]),
    e(Permission, "api_key_blocked", 29, &["requests to this api"]),
    e(Permission, "organization_restricted", 85, &["organization_restricted", "organization has been restricted", "account has been suspended", "account is suspended", "account_suspended", "has been suspended"]),
    e(Permission, "permission_denied", 80, &["iam_permission_denied", "lacks the required", "operation not allowed", "not authorized to invoke", "outbound network access is restricted", "denied on resource", "not authorized to perform", "not authorised to perform", "insufficient permissions", "permissiondeniederror", "权限不足", "无权限", "没有权限", "无权访问", "拒绝访问"]),
    e(Permission, "terms_required", 85, &["requires terms acceptance", "accept the terms"]),
    // A good OAuth client not allowed this grant (RFC 6749 section 5.2), or a
    // good token without the scope (RFC 6750 section 3.1, whose
    // `insufficient_scope` is with `not_subscribed` below).
    e(Permission, "unauthorized_client", 85, &["unauthorized_client"]).word(),
    e(Permission, "insufficient_scope", 85, &["insufficient authentication scopes"]),
    // The account must be vetted before it may use the model.
    e(Permission, "verification_required", 88, &["organization must be verified", "verify organization", "use case details have not been submitted", "use case details form", "use-case form", "use case form"]),
    e(Permission, "account_blocked", 80, &["unavailable for account"]),
    e(Permission, "usage_policy_restricted", 88, &["fair usage policy", "fair use policy"]),
    // A feature or model switched off for this user or account, not for everyone.
    e(Permission, "not_enabled", 82, &["not enabled for this user", "not enabled for your account", "not enabled for this account", "not enabled for your organization"]),
    e(Permission, "not_activated", 82, &["service not activated", "not activated", "no permission to use", "no permission to access", "未实名", "实名认证", "服务未开通"]),
    // google-api-core's class name for a 403, below any cause its message names.
    e(Permission, "permission_denied", 45, &["permissiondenied"]),
    e(Permission, "permission_denied", 78, &["not allowed to access", "not allowed to sample", "request is not allowed", "blocked by security policy", "attention required! | cloudflare", "client challenge required", "challenge_required", "not allowed for your account", "not allowed for this user", "not allowed for organization", "not allowed for your organization", "not allowed for this organization", "not authorized to access", "not authorized to use", "not authorised to access", "not authorised to use", "is not allowed to use", "not allowed for this project", "let them know you were blocked"]),
    // Said of a project or a key, above the `model_not_found` code OpenAI
    // sends with it.
    e(Permission, "model_access_denied", 92, &["not have access to model", "no access to model"]),
    // Below a model said not to exist with it ("no access to this model or
    // the model does not exist").
    e(Permission, "model_access_denied", 75, &["have access to this model"]),
    // Bedrock's words for a model the account may not use, sent under
    // `ValidationException` too (its Rerank operation), which they outrank.
    e(Permission, "model_access_denied", 80, &["have access to the model with"]),
    // The subscription does not include the model or feature.
    e(Permission, "not_in_plan", 92, &["does not yet include access", "plan does not include", "on your current token plan", "on your current plan", "does not work with your current plan", "not included in your plan", "not available on your plan", "not available in your plan", "requires a pro subscription"]),
    // An account locked or disabled for a reason other than payment, under
    // whatever status (Zhipu sends 429), and a key limited to some networks.
    // A provider that says it locked or restricted the account: above any
    // quota code a relay sends it with.
    e(Permission, "account_blocked", 93, &["locked your account", "restricted your ability to use", "resource has been temporarily blocked", "has been disabled in this account"]),
    e(Permission, "account_blocked", 82, &["account has been locked", "account is locked", "account is currently inactive", "account is inactive", "account has been disabled", "account is disabled", "account has been banned", "has been banned", "irregular activities", "已被封禁", "已被禁用", "账号已冻结", "账户已冻结", "账号被封", "指定网段", "user is inactive"]),
    // A credential valid only for another product (a Claude Code token).
    e(Permission, "credential_restricted", 85, &["only authorized for use with", "only available to", "only available for", "free tier can only be used in", "free tier can only be used from within"]),
    // A model kept from how the app signed in (Codex with a ChatGPT account).
    e(Permission, "credential_restricted", 92, &["not supported when using codex with a chatgpt account"]),
    e(Permission, "model_disabled", 82, &["has been deactivated", "model_disabled", "已被锁定", "暂未开放"]),
    e(Permission, "not_subscribed", 80, &["request a subscription to use", "consumed scope", "insufficient scope", "insufficient_scope"]),
    // iFlytek Spark's 11200: this app id has no licence for the feature.
    e(Permission, "not_licensed", 80, &["appidnoautherror", "not have a valid license"]),
    e(Permission, "permission_denied", 55, &["permission_denied", "permission denied", "do not have permission", "does not have permission", "does not have the permission to", "do not have access to", "does not have access to", "don't have access to", "don’t have access to"]),
    e(Permission, "forbidden", 42, &["forbidden", "accessdenied", "access denied"]),
    // The AWS SDKs print "when calling the X operation: <message>"; a message
    // of "Access denied" is a refusal whatever exception carries it (Bedrock
    // sends it as a ResourceNotFoundException or a ValidationException).
    e(Permission, "access_denied", 85, &["operation: access denied"]),
    // ----------------------------------------------------------- model_not_found
    e(ModelNotFound, "model_not_found", 90, &["model_not_found", "modelnotfound", "model not found", "model_not_exist", "model not exist", "modelnotexist", "模型不存在", "模型未找到", "no model found", "nomodelmatchingquery", "unavailable_model", "unavailable model"]),
    e(ModelNotFound, "deployment_not_found", 92, &["deploymentnotfound", "deployment not found", "deployment for this resource does not exist", "deployment for the resource does not exist"]).of(AzureOpenAi),
    e(ModelNotFound, "model_not_found", 86, &["does not exist or you do not have access", "not found or your project does not have access", "is not found for api version", "no such model", "unable to access model", "unknown model", "invalid model", "model is not valid", "model_decommissioned", "has been decommissioned", "model is not supported", "model not supported", "unsupported model", "not a valid model", "issue with the selected model (", "is no longer available. please switch to claude", "no 'model_name' with this string"]),
    e(ModelNotFound, "model_not_pulled", 92, &["not found, try pulling", "no longer compatible with your version of ollama"]).of(Ollama),
    e(ModelNotFound, VERSION_TOO_OLD, 92, &["not supported by your version of ollama", "requires a newer version of ollama"]).of(Ollama),
    e(ModelNotFound, "no_endpoints", 88, &["no endpoints found"]).of(OpenRouter),
    e(ModelNotFound, "no_provider", 86, &["not supported by any provider", "unknown provider for model", "find inference provider"]),
    e(ModelNotFound, "model_not_available", 88, &["model_not_available", "dedicated_endpoint_not_running", "non-serverless model", "dedicated endpoint for"]).of(Together),
    e(ModelNotFound, "resource_not_found", 80, &["resourcenotfoundexception"]).of(Bedrock),
    e(ModelNotFound, "invalid_model_id", 90, &["could not resolve the foundation model"]).of(Bedrock),
    e(ModelNotFound, "invalid_model_id", 86, &["model identifier is invalid", "invalid_model", "model id is invalid"]),
    // Said of whatever the text names: without a model named it is a
    // feature or an endpoint (see `classify`).
    e(ModelNotFound, "model_deprecated", 75, &["has been taken offline", "has been deprecated", "model_deprecated", "is deprecated"]),
    // Bedrock refuses a model its provider marked Legacy with "Access denied."
    // inside a ResourceNotFoundException: the model is gone, above the refusal.
    e(ModelNotFound, "model_deprecated", 89, &["marked by provider as legacy", "marked as legacy"]),
    // Relays say it of models, often by name alone.
    e(ModelNotFound, "model_retired", 75, &["已下线", "已弃用", "已废弃"]),
    // One-API / New-API relays: no upstream channel serves this model.
    e(ModelNotFound, "no_channel", 86, &["no available channel for model", "无可用渠道", "不支持所选模型", "不支持该模型", "倍率或价格未配置", "ratio or price not set"]),
    e(ModelNotFound, "model_not_found", 86, &["not supported model", "model disabled", "allowed now, your model", "incorrect model id", "supported models are", "supported api model names", "not found the model", "too large to be loaded automatically", "check the model you provided", "does not support this api", "模型名字错误", "模型名称错误", "make sure the bot exists"]),
    // A local server (LM Studio) with no model loaded to answer.
    e(ModelNotFound, "no_model_loaded", 85, &["no models loaded"]),
    e(ModelNotFound, "no_deployment", 85, &["no deployment matched", "not found for account"]),
    // Hosts that serve each model from an endpoint the account creates
    // (Volcengine Ark, StreamLake): one missing or stopped serves no model.
    e(ModelNotFound, "endpoint_not_found", 86, &["targeted an endpoint that does not exist", "endpoint has been stopped"]),
    e(ModelNotFound, "not_found", 70, &["not_found_error"]).of(Anthropic),
    // Anthropic's not-found message is the model's name alone ("model: claude-x").
    e(ModelNotFound, "not_found", 75, &[": model: claude"]).of(Anthropic),
    // Word-bounded: `ModuleNotFoundError` is not an SDK's `NotFoundError`.
    e(ModelNotFound, "not_found", 55, &["notfounderror", "does not exist"]).word(),
    e(ModelNotFound, "not_found", 45, &["not_found"]),
    // Go's net/http default 404 body: a route the server does not have,
    // whatever model a caller's log names beside it.
    e(InvalidRequest, "not_found", 82, &["404 page not found"]).target(),
    // ------------------------------------------------------------ context_length
    e(ContextLength, "context_length_exceeded", 92, &["context_length_exceeded", "maximum context length", "prompt is too long", "maximum prompt length", "exceeds the context window", "context window exceeded", "range of input length", "input length should be", "tokens + `max_new_tokens` must be", "input token count", "input length should not exceed", "model token limit", "上下文长度", "超出最大长度", "输入长度超", "输入过长"]),
    e(ContextLength, "context_length_exceeded", 80, &["context window", "context overflow", "context the overflows", "context size", "context length", "context limit", "contextwindowexceeded", "input is too long", "too many input tokens", "total number of tokens", "reduce the length of the messages", "exceeds the maximum number of tokens", "超长"]),
    e(ContextLength, "context_length_exceeded", 60, &["too many tokens", "prompt too long", "input too long"]),
    e(ContextLength, "context_length_exceeded", 80, &["max input characters", "input token limit", "messages is too long", "too_many_prompt_tokens", "input_length_error", "text-too-long"]),
    // Chinese providers' "token count over the limit", "input too long".
    e(ContextLength, "context_length_exceeded", 80, &["컨텍스트 길이", "文字过长", "token数量超过", "tokens数量超过", "token数超过", "输入长度超过", "超过最大长度"]),
    e(ContextLength, "context_length_exceeded", 85, &["maximum model length", "max model length", "than max_model_len", "max length of current question", "current question is too long"]),
    // Other servers' wording (Moonshot, Zhipu, llama.cpp's KV cache, Hugging Face TGI's `inputs`).
    e(ContextLength, "context_length_exceeded", 84, &["maximum length of the model", "inputs must have less than", "exceeds the model's maximum", "model max length", "prompt exceeds max length", "too big compared to kv size", "`inputs` must have less than", "`inputs` tokens + `max_new_tokens`"]),
    // ------------------------------------------------------------ content_filter
    e(ContentFilter, "content_filter", 92, &["content_filter", "content_policy_violation", "responsibleaipolicyviolation", "content management policy", "content filtering policy", "cyber_policy"]).word(),
    e(ContentFilter, "data_inspection_failed", 92, &["data_inspection_failed", "datainspectionfailed", "inappropriate content", "inappropriate-content", "内容安全", "敏感内容", "不安全内容", "不当内容", "违规内容"]).of(DashScope),
    e(ContentFilter, "safety_block", 88, &["blocked due to safety", "prohibited_content", "prohibitedcontent", "blocked by safety", "safety settings", "blockedpromptexception"]).of(Gemini),
    e(ContentFilter, "safety_system", 85, &["safety system", "safeguards flagged", "blocked for safety", "usage policies", "usage policy", "content policy", "flagged as potentially", "was flagged by", "flagged for possible", "content filter triggered", "guardrail intervened", "blocklist", "blocked by our content filters"]),
    e(ContentFilter, "moderation", 88, &["requires moderation", "input was flagged"]),
    e(ContentFilter, "content_risk", 88, &["content exists risk"]).of(DeepSeek),
    // `inappropriate_content` is a type other gateways send too; DashScope's
    // sentence ("may contain inappropriate content") names DashScope, above.
    e(ContentFilter, "sensitive_content", 84, &["sensitive content", "inappropriate_content", "sensitive chat", "new_sensitive", "sensitive information", "illegal detected", "is unsafe", "审核不通过", "违法违规"]),
    e(ContentFilter, "safety_block", 86, &["due to recitation", "nsfw content", "nsfw detected", "failed_precondition: generation blocked", "the prompt was blocked"]),
    e(ContentFilter, "safety_block", 85, &["blocked for reason: safety", "reason: recitation", "reason: safety", "blocked due to other", "blocked for reason: other", "blockreason", "response was blocked"]),
    // An SDK's printout of Gemini's block or finish reason (Python, PHP).
    e(ContentFilter, "safety_block", 85, &["blockedreason.", "block_reason=<", "block_reason: safety", "block_reason: other", "block_reason: prohibited_content", "block_reason: blocklist", "finishreason::safety", "finishreason::recitation", "finishreason::prohibited_content", "finishreason::blocklist", "finishreason::spii", "finishreason.safety", "finishreason.recitation", "finishreason.prohibited_content"]),
    // Below the status: under a 403 it is a gateway refusing the caller.
    e(ContentFilter, "guardrail", 29, &["your request was blocked"]),
    e(ContentFilter, "moderation", 60, &["moderation"]),
    // google-generativeai's exception for any stop but a natural one: below a reason
    // named beside it (a malformed function call is retried).
    e(ContentFilter, "candidate_stopped", 70, &["stopcandidateexception"]).of(Gemini),
    // GitHub Copilot's filter of answers that repeat public code, and its
    // Responsible AI Service's.
    e(ContentFilter, "public_code", 85, &["matched public code"]),
    e(ContentFilter, "safety_system", 85, &["filtered by the responsible ai service"]),
    // ModelScope's words for DashScope's `data_inspection_failed`.
    e(ContentFilter, "data_inspection_failed", 88, &["content security inspection failed"]),
    // A gateway's guardrails (Portkey, Kong's prompt guard, LiteLLM).
    e(ContentFilter, "guardrail", 80, &["content policies", "match any allowed prompts", "prompt guard"]),
    // Whole words: `nemoguardrails` is a package's name, not a verdict.
    e(ContentFilter, "guardrail", 80, &["guardrail", "guardrails", "guardrail_intervened"]).word(),
    e(ContentFilter, "sensitive_content", 84, &["violation information", "considered high risk", "敏感信息", "finish_reason: sensitive", "content audit failed", "审核失败", "blocked input", "blocked output", "potential violation", "content check failed", "sensitive words", "sensitive_words", "prompt_blocked", "prompt blocked", "敏感词"]),
    // ----------------------------------------------------------- invalid_request
    e(InvalidRequest, "invalid_parameter", 70, &["unrecognized request argument", "invalid temperature", "doesn't support tool", "missing reasoning_content", "invalid params", "unsupported_parameter", "invalid_json_line", "is not supported with", "does not support /", "missing a required parameter", "cors requests must set", "cannot be combined with", "parameter is illegal", "llm provider not provided", "参数非法", "\"invalid_request\"", "unsupported param", "unsupported_value", "extra inputs are not permitted", "failed to deserialize", "missing required parameter", "could not parse the json body", "we could not parse", "参数错误", "参数有误", "must alternate", "is not recognized by the service", "参数无效", "无效参数", "参数不合法", "extra parameters [", "must provide a model parameter", "tools in your request", "improperly formed request", "request was malformed and could not be processed", "only support stream", "must be followed by tool messages", "expected 'content' to be a string or an array"]),
    // OpenAI's missing objects; other wordings are caught by Signal::Resource.
    e(InvalidRequest, "resource_not_found", 50, &["no such file", "no such thread", "no such assistant", "no such vector store", "no such upload", "no such batch", "no such container", "no thread found", "no assistant found", "no vector store found"]),
    e(InvalidRequest, "unsupported_api_version", 80, &["unsupported api-version", "unsupported_api_version", "invalidapiversion", "api version not supported", "api version is not supported", "invalid api version", "invalid api-version", "enabled only for api versions"]).of(AzureOpenAi),
    // What the request asks for, not the model: a wrong path, an object that
    // does not exist, an unsupported mode, a payload over a byte limit.
    e(InvalidRequest, "invalid_url", 85, &["invalid url (", "no route for that uri", "route get:/", "route post:/", "unknown request url", "could not route to"]).target(),
    // A web server's own 404 page (Google's front end, Apache: "The
    // requested URL /v1/… was not found on this server"): the path is not
    // the API's, whatever model it names. Anchored on the path it quotes,
    // so a server's "The model x was not found on this server" is not it.
    e(InvalidRequest, "invalid_url", 85, &["the requested url /", "the requested url <code>/"]).target(),
    e(InvalidRequest, "resource_not_found", 85, &["previous_response_not_found", "previous response with id"]),
    e(InvalidRequest, "resource_not_found", 75, &["no batch found", "or it may not exist", "cachedcontent not found", "cached content not found", "failed to retrieve resource because it doesn't exist"]),
    // No provider serves this model under the account's settings: another
    // model may be served.
    e(ModelNotFound, "provider_policy", 95, &["matching your data policy", "guardrail restrictions", "no allowed providers are available"]).of(OpenRouter),
    // A model served on another endpoint of the same API.
    e(InvalidRequest, "operation_not_supported", 85, &["is only supported in", "route only supports"]).target(),
    e(InvalidRequest, "operation_not_supported", 84, &["operationnotsupported", "does not work with the specified model"]).of(AzureOpenAi).target(),
    e(InvalidRequest, "unsupported_throughput", 90, &["on-demand throughput isn't supported", "on-demand throughput isn’t supported"]).target(),
    e(InvalidRequest, "not_supported", 80, &["not_supported_error", "this server does not support"]).target(),
    // A mode the model lacks (streaming), not a model that is missing.
    e(InvalidRequest, "not_supported", 88, &["does not support tools", "does not support images", "does not support vision", "does not support the stream", "does not support stream", "not support streaming", "不支持流式", "当前模型不支持sse", "当前模型不支持 sse"]),
    e(InvalidRequest, "request_too_large", 82, &["request_too_large", "maximum allowed number of bytes", "request entity too large", "request is too large", "payload size exceeds", "payload too large", "entity too large"]),
    // One field over its own limit, however long the context.
    e(InvalidRequest, "string_too_long", 93, &["string_above_max_length", "string too long"]),
    e(InvalidRequest, "validation_error", 50, &["input validation error", "is greater than the maximum", "is less than the minimum", "invalid '", "issue with your request", "check your inputs", "invalid value", "invalid type", "is not valid under any of the given schemas", "is a required property", "] is too short", "' is too short", "\" is too short", "should be non-empty", "has non-unique elements", "is less than or equal to the minimum of", "is greater than or equal to the maximum of", "is valid under each of", "' is a dependency of '", "does not have enough properties", "has too many properties", "should not be valid under"]),
    // Below the context phrases a validationException may carry ("input is too long").
    e(InvalidRequest, "validation_error", 78, &["validationexception"]).of(Bedrock),
    e(InvalidRequest, "invalid_request", 25, &["invalid_request_error", "invalidparameter", "invalid_argument", "invalidargument", "badrequesterror", "bad request", "invalid request", "unprocessable", "invalid parameter", "invalid argument"]),
    // A server or relay that does not implement what the request asks.
    e(InvalidRequest, "not_implemented", 50, &["not implemented"]),
    // gRPC's UNIMPLEMENTED: a method the server lacks; under a 5xx, the server's own failure.
    e(InvalidRequest, "not_implemented", 29, &["unimplemented"]),
    // gRPC's UNIMPLEMENTED as gRPC clients print it (Python, C core, Go, Java,
    // .NET): the method or route is not there. gRPC maps no HTTP 5xx to it.
    e(InvalidRequest, "not_implemented", 60, &["statuscode.unimplemented", "grpc_status:12", "\"grpc_status\":12", "code = unimplemented", "statusruntimeexception: unimplemented", "statuscode=\"unimplemented\"", "connecterror: [unimplemented]"]).target(),
    // A server's complaint about the request's own JSON, above a parser's words.
    e(InvalidRequest, "invalid_body", 80, &["invalid json body"]),
    e(InvalidRequest, "unsupported_method", 70, &["unsupported openapi method", "unsupported method", "request method 'get' not supported", "request method 'post' not supported", "request method 'get' is not supported", "request method 'post' is not supported", "httprequestmethodnotsupportedexception"]).target(),
    // The words of a validation message: they decide only when no status does
    // (an error object in a 200).
    e(InvalidRequest, "invalid_characters", 80, &["invisible character", "invalid_prompt", "extra_forbidden"]),
    // DashScope's "InternalError.Algo.InvalidParameter": the last part says
    // what is wrong, and it is the request.
    e(InvalidRequest, "invalid_parameter", 80, &["algo.invalidparameter"]).of(DashScope),
    // The output a request asks for is over the model's own bound.
    e(InvalidRequest, "output_limit", 72, &["maximum output for this model", "max tokens must be", "max_tokens is too large", "max_tokens must be", "invalid max_tokens value"]),
    // A request the endpoint or the model does not take, in generic words:
    // they decide only where no status does (a 403 or a 404 says more).
    e(InvalidRequest, "unsupported", 28, &["unsupported", "not supported", "does not support", "not enabled", "is mandatory", "does not match", "only one of", "no longer supported. please upgrade"]),
    // The Responses API's cancel of a response that cannot be cancelled.
    e(InvalidRequest, "not_cancellable", 75, &["cannot cancel response", "no active response to cancel", "response_cancel_not_active"]),
    // A WebSocket closed for the request's sake: a policy violation, or a
    // session that reached its maximum duration.
    e(InvalidRequest, "policy_violation", 70, &["1008 (policy violation)"]),
    e(InvalidRequest, "session_limit", 75, &["hit the maximum duration"]),
    // Gemini's words for a request body it could not read (not a broken answer).
    e(InvalidRequest, "invalid_payload", 90, &["invalid json payload received"]).of(Gemini),
    e(InvalidRequest, "validation_error", 50, &["unexpected role", "unexpected value", "without its required", "no tool call found", "no tool output found", "code = invalidargument"]),
    // Reasoning models' signed thinking, sent back altered or without its signature.
    e(InvalidRequest, "thinking_signature", 88, &["thought signature", "signature in thinking block"]),
    // Servers' words for a request body they could not read, above a parser's alone.
    e(InvalidRequest, "invalid_body", 82, &["deserialize the json body", "request body exceeded", "failed to parse the request json", "invalid request: unexpected end of json", "bind_request_body_failed"]),
    // OpenAI's reasoning items sent back with content it cannot verify.
    e(InvalidRequest, "encrypted_content", 80, &["encrypted content for item", "encrypted content could not be"]),
    // FastAPI's body for a path it does not have; any status decides.
    e(InvalidRequest, "not_found", 28, &[r#""detail":"not found""#, r#""detail": "not found""#, "'detail': 'not found'"]).target(),
    // A 404's words printed without it (Azure's, Qianfan's): a path or
    // resource the server does not have; any status decides.
    e(InvalidRequest, "not_found", 29, &["resource not found"]).target(),
    // An AWS endpoint without the operation asked of it (a wrong service or
    // endpoint): the target, not the model.
    e(InvalidRequest, "unknown_operation", 85, &["unknownoperationexception"]).target(),
    // Bedrock's guardrail refusing the request's shape, not its content.
    e(InvalidRequest, "validation_error", 85, &["input is in incorrect format"]),
    // A parameter deprecated for the model named, not the model.
    e(InvalidRequest, "feature_deprecated", 80, &["deprecated for this model"]),
    e(InvalidRequest, "validation_error", 26, &["must be", "has to be", "is required", "is missing", "is not specified", "should be", "must not", "can't be blank", "不能为空", "invalid format", "cannot be blank", "can't be empty", "cannot be empty", "must contain"]),
    // Turns in an order or shape a provider's rules or a server's chat template
    // refuse (Anthropic, Gemini, llama.cpp, LM Studio, vLLM), under any status.
    e(InvalidRequest, "template_error", 75, &["roles must alternate", "prompt must start with", "should alternate with", "successive user or assistant messages", "raise_exception(", "error rendering prompt", "jinja exception", "cannot pass both", "error parsing chat history", "no user/tool message found", "please use a valid role", "blocks can only be in", "while applying chat template"]),
    e(InvalidRequest, "invalid_url", 85, &["unexpected endpoint", "instance name not found", "the resource you are requesting could not be found", "verify your api base", "relay endpoint is incompatible", "dedicated endpoint cannot be accessed"]).target(),
    // A client library called with arguments it does not take (Python's
    // TypeError): the code that builds the request must change. Not a
    // missing keyword-only argument: SDKs' own error constructors take those
    // (`APIStatusError.__init__()`), and one failing hides the real error.
    e(InvalidRequest, "call_signature", 70, &["unexpected keyword argument", "got multiple values for", "required positional argument", "positional arguments but"]),
    // Validators' words for a request field (pydantic, zod, name rules):
    // they decide only where no status does.
    e(InvalidRequest, "validation_error", 28, &["field required", "unknown parameter", "unrecognized key", "missing required", "may only contain", "can only contain", "validation failed", "failed validation", "is not allowed when", "ensure this value is", "extra fields not permitted", "value is not a valid", "must have required property", "additional properties are not allowed", "is not one of [", "is not of type '", "error:field validation for", "\" is not allowed", "should not be empty", "should not exist", "unknown field `", "json: unknown field", "out of the range of valid values", "is not accessible", "value is not provided for the", "only allowed for string type"]),
    e(InvalidRequest, "invalid_input", 60, &["invalid image", "invalid_image", "invalid content type", "error while downloading", "allowed formats are"]),
    // Reasoning models that want their thinking sent back with the tool calls it led to.
    e(InvalidRequest, "thinking_required", 70, &["reasoning_content is missing", "thinking is enabled but"]),
    // A model that could not form the tool call its request asked for (Groq's `tool_use_failed`).
    e(InvalidRequest, "tool_use_failed", 65, &["tool_use_failed", "failed to call a function"]),
    // An API retired (openai-python's 0.x calls, the Realtime beta); an app too old for a model.
    e(InvalidRequest, "removed_api", 80, &["apiremovedinv1", "no longer supported in openai", "api is no longer supported"]),
    e(InvalidRequest, CLIENT_TOO_OLD, 90, &["model_not_supported_in_version", "not supported in this vs code version", "requires a newer version of codex"]).target(),
    // A feature a model does not offer ("data retention mode … is not
    // available for this model"), below any status: capacity "not available
    // for this model right now" under a 503 is the status's.
    e(InvalidRequest, "not_supported", 28, &["is not available for this model"]),
    // The Vercel AI SDK's own check of the call's arguments, before any request.
    e(InvalidRequest, "invalid_argument", 80, &["ai_invalidargumenterror"]),
    // axios's codes for an answer with a 4xx or a 5xx status, quoted where
    // the status itself was not kept.
    e(InvalidRequest, "client_error_status", 60, &["err_bad_request"]).word().success_only(),
    e(ServerError, "server_error_status", 60, &["err_bad_response"]).word().success_only(),
    e(InvalidRequest, "file_too_large", 70, &["too large file", "file too large", "file is too large", "image too large", "image is too large", "image exceeds", "max pages", "文件太大", "页数限制"]),
    // --------------------------------------------------------------- server_error
    e(ServerError, "upstream_failed", 80, &["failed to get response from provider", "trouble connecting to the model provider"]),
    // A relay's wrapper words: the cause named after them decides, else the
    // error's type ("server_error", "invalid_request_error"), else the status
    // ("upstream error (400)": the upstream refused the request).
    e(ServerError, "upstream_failed", 29, &["upstream request failed"]).wrapper(),
    // Azure's content filter failing, not filtering.
    e(ServerError, "content_filter_failed", 95, &["contents are not filtered"]),
    // Quoted: Anthropic's error type, not `one_api_error` or `cohere.core.api_error`.
    e(ServerError, "api_error", 50, &["\"api_error\"", "'api_error'"]).of(Anthropic),
    e(ServerError, "internal_error", 85, &["internalserverexception", "dependencyfailedexception", "modelerrorexception"]).of(Bedrock),
    // Memory other loaded models hold is freed when they unload: the same
    // request can succeed later.
    e(ServerError, "insufficient_memory", 85, &["requires more system memory", "oom when allocating"]),
    // Ollama's "error parsing tool call: raw='…'": the server could not
    // read its own model's output. A client that could not read a tool
    // call's arguments says so below (`unparsable_answer`).
    e(ServerError, "model_error", 80, &["error was encountered while running the model", "error parsing tool call"]),
    e(MalformedResponse, "unparsable_answer", 82, &["error parsing tool call arguments"]).success_only(),
    e(ServerError, "model_crashed", 80, &["model has crashed", "model crashed", "probability tensor contains", "illegal memory access was encountered"]),
    e(ServerError, "runner_terminated", 88, &["llama runner process has terminated", "llama runner process no longer running"]).of(Ollama),
    // Ollama's scheduler found no runner able to take the model now (all
    // busy, or none fits the memory left): the server's, retried as one.
    e(ServerError, "no_runner", 80, &["no suitable llama servers"]).of(Ollama),
    e(ServerError, "internal_error", 75, &["the server had an error", "系统异常", "encountered a temporary error", "encountered an unexpected error", "error occurred on the server", "worker threw exception", "web server is returning an unknown error", "out of memory", "内部错误", "服务器错误", "系统错误", "went wrong on our end"]),
    // OpenAI's server error in full, also after a stream's cut (its first
    // sentence alone is every wrapper's, and names no cause).
    e(ServerError, "internal_error", 62, &["an error occurred while processing your request. you can retry", "you can retry your request, or contact us"]),
    // Ollama's server failing inside: its model runner, a loopback hop,
    // cut the call (above the reset, refusal or EOF it reports), or the
    // model's template could not be rendered (where no status decides).
    e(ServerError, "internal_error", 83, &["post predict"]).of(Ollama),
    e(ServerError, "internal_error", 29, &["template: :"]).of(Ollama),
    // Flask's (werkzeug's) page for an unhandled exception and Cloudflare's 520,
    // whose hedges name an overload they cannot know of.
    e(ServerError, "internal_error", 84, &["either the server is overloaded or there is an error", "returned an invalid or incomplete response to cloudflare"]),
    // A WebSocket (Realtime, Live) the provider closed with 1011 (a client
    // that sends 1011 itself is reporting its own keepalive timeout).
    e(ServerError, "internal_error", 70, &["received 1011 (internal error)"]),
    // A local server that could not load the model it was asked for;
    // word-bounded, as "Error loading models" is a list that failed.
    e(ServerError, "model_load_failed", 82, &["failed to load model", "could not load model", "error loading model", "refusing to load model", "model load failed"]).word(),
    // vLLM's engine died under the request.
    e(ServerError, "engine_dead", 85, &["enginedeaderror", "engine loop is not running", "prediction interrupted"]),
    // A proxy's words for its upstream: under a status, the status decides
    // (Envoy's 503 is capacity, its 502 a failure).
    e(ServerError, "upstream_error", 29, &["upstream connect error", "upstream error"]).wrapper(),
    e(ServerError, "upstream_error", 50, &["bad gateway", "bad_gateway"]),
    // Squid titles every error page so: where no status came, a gateway
    // answered ("Connection reset by peer" behind it). Its own cause lines
    // decide above it: a read deadline, a too-large request, and an access
    // rule of the caller's own proxy, which no retry cures.
    e(ServerError, "upstream_error", 85, &["the requested url could not be retrieved"]).success_only(),
    e(Timeout, "read_timeout", 86, &["a timeout occurred while waiting to read data from the network"]),
    e(InvalidRequest, "request_too_large", 86, &["the request or reply is too large"]),
    e(Network, "local_policy", 86, &["access control configuration prevents your request"]).no_retry(),
    e(ServerError, "internal_error", 45, &["internalerror", "internal_server_error", "internal_error"]),
    e(ServerError, "internal_error", 25, &["internal server error", "internalservererror", "server_error", "server error", "internal error"]),
    // A server's log of a request its application failed (uvicorn), and a
    // client's word for a failure it retries; any status decides.
    e(ServerError, "internal_error", 28, &["exception in asgi application", "transient api error"]),
    // TGI's words for a failure mid-generation: the cause after them
    // decides ("Out of available cache blocks"), not a word of it such as
    // "must be".
    e(ServerError, "generation_failed", 40, &["request failed during generation"]),
    // ---------------------------------------------------------------- overloaded
    e(Overloaded, "overloaded", 92, &["overloaded_error"]).of(Anthropic).word(),
    e(Overloaded, "model_not_ready", 90, &["modelnotreadyexception", "not ready to serve"]).of(Bedrock),
    e(Overloaded, "service_unavailable", 85, &["serviceunavailableexception"]).of(Bedrock),
    e(Overloaded, "model_unavailable", 85, &["modelunavailable", "model is unavailable", "服务不可用", "模型不可用"]).of(DashScope),
    // FastChat's words for every server error: the cause after them decides,
    // and alone they say the servers are busy (above "network error").
    e(Overloaded, "busy", 55, &["network error due to high traffic"]),
    // A queue the caller waits in: the provider's capacity, not a limit of the caller's.
    e(Overloaded, "queued", 65, &["queue position", "in the queue at position"]),
    // A site closed for maintenance comes back by itself; under an error
    // status the status decides (a 500 saying so is the server's failure).
    e(Overloaded, "maintenance", 28, &["under maintenance", "down for maintenance", "undergoing maintenance", "scheduled maintenance"]),
    e(Overloaded, "overloaded", 80, &["overloaded", "queue_exceeded", "out of available cache blocks", "capacity exceeded", "at capacity", "out of capacity", "upstream overload", "insufficient capacity", "exceeds capacity", "server busy", "server is busy", "no healthy upstream", "are busy", "服务繁忙", "服务忙", "系统繁忙", "服务器繁忙", "满载", "负载过高", "负载已饱和", "maximum pending requests", "load_shed", "load shed", "model is loading", "currently loading", "unavailable_error"]),
    // A server warming a model up ("Loading model"); word-bounded, as
    // "Error loading models" is a list that failed.
    e(Overloaded, "overloaded", 80, &["loading model"]).word(),
    // Below "rate limit exceeded": a 429 may say both (OpenRouter's free models).
    e(Overloaded, "overloaded", 70, &["high demand", "experiencing high"]),
    // OpenAI's 503 "Slow Down": capacity, not the caller's rate.
    e(Overloaded, "slow_down", 73, &["slow_down"]),
    // Capacity, however it is phrased (often under a 429).
    e(Overloaded, "model_busy", 80, &["model is busy", "model busy", "model_busy", "model is currently busy"]),
    e(Overloaded, "model_busy", 80, &["too busy", "temporarily limiting requests", "not your usage limit", "worker local total request limit"]),
    e(Overloaded, "too_many_connections", 80, &["too many connections"]),
    // Vertex's shared capacity.
    // llama.cpp's and Ollama's busy slots, NVIDIA's degraded functions.
    e(Overloaded, "capacity", 85, &["no slots available", "llm busy", "degraded function", "resource exhausted, please try again later", "no more data centers", "no capacity available", "capacity temporarily exceeded", "访问量过大", "当前api请求过多", "open api request limit reached"]),
    // Below the HTTP status: "temporarily unavailable" in a 500 is a server error.
    e(Overloaded, "service_unavailable", 28, &["serviceunavailable", "service unavailable", "service_unavailable", "temporarily unavailable"]),
    e(Overloaded, "unavailable", 27, &["unavailable"]).word(),
    // ("Please try again later" names no cause: it is not read as one.)

    // ------------------------------------------------------------------- timeout
    e(Timeout, "model_timeout", 90, &["modeltimeoutexception"]).of(Bedrock),
    e(Timeout, "timeout", 90, &["timeout_error"]).of(Anthropic),
    e(Timeout, "internal_timeout", 88, &["internalerror.timeout"]).of(DashScope),
    e(Timeout, "deadline_exceeded", 80, &["deadline exceeded", "deadline expired", "batch expired", "did not respond in time", "did not receive a timely response", "exceeded while calling target function", "deadline reached", "超时", "秒未响应", "秒内未响应"]),
    // gRPC's status code, above the phases it lists ("name resolution: 0.27s").
    e(Timeout, "deadline_exceeded", 88, &["deadline_exceeded"]),
    e(Timeout, "read_timeout", 70, &["readtimeout", "read timeout", "read timed out", "read operation timed out", "timeouterror", "request timeout", "gateway timeout", "gateway time-out", "took too long", "upstream request timeout"]),
    e(Timeout, "connect_timeout", 76, &["tls handshake timeout"]),
    // A service that stopped answering, below a failure to reach it named
    // with it, and below any status.
    e(Timeout, "not_responding", 29, &["is not responding"]),
    // A stream that never sent its first event: a deadline before the answer began.
    e(Timeout, "first_byte_timeout", 80, &["waiting for the first event", "waiting for the first token", "waiting for first token", "generate first token"]),
    e(Timeout, "read_timeout", 70, &["socket timeout", "http timeout", "pool timeout", "write timeout"]),
    e(Timeout, "connect_timeout", 74, &["connecttimeout", "connect timeout", "connection timed out", "connection timeout", "etimedout", "request connection took longer than"]),
    // undici's connect timeout, above the read timeouts its words also name.
    e(Timeout, "connect_timeout", 86, &["connect timeout error", "und_err_connect_timeout"]),
    e(Timeout, "read_timeout", 70, &["err_timed_out", "err_connection_timed_out", "esockettimedout"]),
    // Windows' connect timeout (WSAETIMEDOUT) in any locale, and .NET's and
    // Java's timeout exceptions, above the resets they wrap.
    e(Timeout, "connect_timeout", 78, &["winerror 10060", "os error 10060", "没有正确答复", "连接方在一段时间后", "wsaetimedout", "did not properly respond after a period of time"]),
    e(Timeout, "read_timeout", 78, &["timeoutexception", "exceeded the configured timeout", "networktimeout"]),
    // Elixir's Mint and Req.
    e(Timeout, "timeout", 80, &["reason: :timeout"]),
    // A stream that sent nothing for too long, named as a timeout.
    e(Timeout, "read_timeout", 70, &["idle timeout"]),
    // Node's undici: the body or the headers stopped arriving in time.
    e(Timeout, "read_timeout", 85, &["und_err_body_timeout", "bodytimeouterror", "und_err_headers_timeout", "headerstimeouterror", "headers timeout error"]),
    e(Timeout, "timeout", 45, &["timed out", "timeout", "time out"]),
    // Above "network error" beside it; in a stream, still a vague deadline (a cut).
    e(Timeout, "timeout", 58, &["request timed out"]),
    // A gateway that held the request in its queue until its deadline.
    e(Timeout, "queue_timeout", 61, &["queue timeout"]),
    // Rust's `io::ErrorKind::TimedOut`, as reqwest's printed error names
    // its source.
    e(Timeout, "timeout", 45, &["timedout"]).word(),
    // ------------------------------------------------------------------- network
    e(Network, "tls_certificate", 92, &["certificate verify failed", "certificate has been revoked", "certificate revoked", "pkix path validation failed", "certificate verification failed", "certificate_verify_failed", "self-signed certificate", "self signed certificate", "unable to get local issuer certificate", "invalid peer certificate", "unknownissuer", "certificate has expired", "cert_has_expired", "unable_to_verify_leaf_signature", "wrong version number", "remotecertificatenamemismatch", "the remote certificate is invalid", "err_tls_cert_altname_invalid", "does not match certificate's altnames", "certificate signed by unknown authority", "pkix path building failed", "unable to find valid certification path", "failed to verify certificate", "certificate is valid for", "err_cert_"]).no_retry(),
    // Node's certificate codes and messages, Java's name mismatch, OpenSSL's plain-HTTP reply.
    // A protocol the two ends do not share (Windows' SEC_E_ILLEGAL_MESSAGE,
    // an HTTP/2 frame too large): it fails the same way every time.
    e(Network, "protocol_error", 92, &["nghttp2_frame_size_error", "os error -2146893018", "接收到的消息异常", "fatal alert: protocol_version", "alert protocol version", "alert_protocol_version", "tls: protocol version not supported"]).no_retry(),
    e(Network, "tls_certificate", 92, &["unable to verify the first certificate", "unable_to_get_issuer_cert", "self_signed_cert_in_chain", "depth_zero_self_signed_cert", "no subject alternative names", "no subject alternative dns name", "wrong_version_number", "fatal alert: bad_certificate", "fatal alert: certificate_unknown", "fatal alert: unknown_ca", "fatal alert: certificate_expired"]).no_retry(),
    // Node's code, not the end of Bedrock's `ResourceNotFoundException`.
    e(Network, "dns", 85, &["enotfound"]).word(),
    e(Network, "dns", 85, &["name resolution", "getaddrinfo", "name or service not known", "nodename nor servname", "dns error", "failed to lookup address", "no such host", "could not resolve host", "unable to resolve host", "eai_again", "dnserror"]),
    e(Network, "dns", 85, &["unknownhostexception", "err_name_not_resolved", "unresolvedaddressexception", "nxdomain", "hostname could not be found", "err_name_resolution_failed"]),
    // Go's resolver: the DNS server answered badly.
    e(Network, "dns", 80, &["server misbehaving"]),
    e(Network, "dns", 84, &["failed host lookup", "erefused"]),
    // Go's resolver failing, whatever the reason it gives.
    e(Network, "dns", 84, &["dial tcp: lookup"]),
    // The same failures in the C library's other locales (glibc's de, fr,
    // es, it, pt_BR, ru, zh_CN, zh_TW, ja and ko translations, old wording
    // and new) and as localised Windows prints its socket errors. Letters
    // outside ASCII match only as written, so a capital that opens a
    // message ("Сеть недоступна") is left out of its literal.
    e(Network, "connect_refused", 82, &["verbindungsaufbau abgelehnt", "connexion refusée", "conexión rehusada", "connessione rifiutata", "conexão recusada", "соединении отказано", "拒绝连接", "连接被拒绝", "連線被拒絕", "接続を拒否されました", "연결이 거부됨", "积极拒绝", "denegó expresamente dicha conexión", "l’a expressément refusée", "l'a expressément refusée", "отверг запрос на подключение"]),
    e(Timeout, "connect_timeout", 74, &["die wartezeit für die verbindung ist abgelaufen", "expiration du délai d'attente", "expiró el tiempo de conexión", "connessione scaduta", "timeout della connessione", "tempo esgotado para conexão", "ожидания соединения истекло", "连接超时", "連線超過時間", "接続タイムアウト", "接続がタイムアウトしました", "연결 시간 초과", "응답이 없어 연결하지 못했거나"]),
    e(Network, "connection_reset", 72, &["vom kommunikationspartner zurückgesetzt", "ré-initialisée par le correspondant", "reinicializada por la máquina remota", "abbattuta dal corrispondente", "interrotta dal corrispondente", "fechada pela outra ponta", "сброшено другой стороной", "разорвано другой стороной", "连接被对方重置", "連線被對方重設", "からリセットされました", "상대편에 의해 끊어짐", "상대편이 연결을 끊음", "强迫关闭了一个现有的连接", "リモート ホストに強制的に切断されました", "interrupción de una conexión existente por el host remoto", "принудительно разорвал", "원격 호스트에 의해 강제로 끊겼습니다"]),
    e(Network, "unreachable", 80, &["keine route zum zielrechner", "das netzwerk ist nicht erreichbar", "aucun chemin d'accès pour atteindre l'hôte", "le réseau n'est pas accessible", "ninguna ruta hasta el", "la red es inaccesible", "route verso l'host", "nessun instradamento per l'host", "la rete non è raggiungibile", "não há rota para o host", "a rede está fora de alcance", "找不到通往該主機的路由路徑", "無法接觸網路", "ホストへの経路がありません", "ネットワークに届きません", "没有到主机的路由", "网络不可达", "пути до хоста", "маршрута до узла", "еть недоступна", "호스트로 갈 루트가 없음", "네트워크가 접근 불가능", "attempted to an unreachable host", "attempted to an unreachable network", "无法连接的网络尝试了一个套接字操作"]),
    e(Network, "dns", 85, &["der name oder der dienst ist nicht bekannt", "fehler bei der namensauflösung", "zu diesem hostnamen gehört keine adresse", "nom ou service inconnu", "temporaire dans la résolution du nom", "aucune adresse associée avec le nom", "nombre o servicio desconocido", "fallo temporal en la resolución del nombre", "ninguna dirección asociada al nombre", "nome o servizio sconosciuto", "errore temporaneo nella risoluzione del nome", "nessun indirizzo associato al nome", "nome ou serviço desconhecido", "na resolução de nome", "não há endereço associado com o nome", "имя или служба", "сбой в разрешении имен", "не связано ни одного адреса", "名称或服务未知", "域名解析出现暂时性错误", "没有与主机名关联的地址", "名稱或服務未知", "解析名稱時發生暫時性錯誤", "沒有位址關聯至此主機名稱", "名前またはサービスが不明です", "名前解決に一時的に失敗しました", "ホスト名にアドレスが割り当てられていません", "이름 혹은 서비스를 알 수 없습니다", "name resolution에서 일시적인 실패", "대응되는 주소가 없음"]),
    // curl's own messages (curl_easy_strerror), in the wording of every
    // release since 7.17.
    e(Network, "dns", 85, &["couldn't resolve host", "could not resolve proxy", "couldn't resolve proxy", "no address associated with hostname"]),
    e(Network, "tls_certificate", 92, &["ssl peer certificate", "peer certificate cannot be authenticated", "problem with the ssl ca cert", "problem with the local ssl certificate"]).no_retry(),
    e(Network, "tls", 62, &["ssl connect error"]),
    e(Network, "connection_reset", 75, &["failure when receiving data from the peer", "failed sending data to the peer", "server returned nothing (no headers, no data)"]),
    e(StreamInterrupted, "stream_interrupted", 80, &["transferred a partial file"]),
    e(InvalidRequest, "invalid_url", 85, &["url using bad/illegal format"]).target(),
    // A base URL no request can be built from, as other stacks word it
    // (requests, httpx, browsers' and Node's URL parser, Go, Rust's url).
    // Only in this program's words: a server's body saying so may be about
    // a URL the request carries (an image's).
    e(InvalidRequest, "invalid_url", 85, &["no scheme supplied", "is missing an 'http://' or 'https://' protocol", "failed to construct 'url'", "err_invalid_url", "unsupported protocol scheme", "relative url without a base"]).target().success_only(),
    e(Network, "connect_refused", 82, &["connection refused", "econnrefused", "actively refused", "connect call failed", "connection was refused", "err_connection_refused"]),
    e(Network, "unreachable", 80, &["network is unreachable", "no route to host", "ehostunreach", "enetunreach", "host is unreachable"]),
    e(Network, "connection_reset", 72, &["connection reset", "connection closed", "unexpected end of stream", "econnreset", "reset by peer", "socket hang up", "other side closed", "server disconnected", "remotedisconnected", "peer closed connection", "connection closed before", "connection aborted", "broken pipe", "epipe", "incomplete chunked read", "incompleteread", "remoteprotocolerror", "unexpected eof", "connection was reset", "received rst_stream", "connection dropped", "socket connection was closed unexpectedly", "proxy connect aborted"]),
    e(Network, "connection_reset", 80, &["prematurely closed before response", "prematurely closed the connection", "stream error: stream id", "closed connection before returning", "stream error received"]),
    // Bun's refused connection.
    e(Network, "connect_refused", 80, &["typo in the url or port"]),
    // An HTTP/2 stream reset (OkHttp, curl) or a connection lost as Apple's,
    // Ruby's and Dart's stacks word it.
    e(Network, "connection_reset", 80, &["response body closed", "stream was reset", "streamresetexception", "http2 framing layer", "network connection was lost", "end of file reached", "connection closed while"]),
    e(Network, "offline", 80, &["connection appears to be offline"]),
    e(Network, "connection_reset", 55, &["connection lost", "connection was lost", "connection to remote host was lost"]).word(),
    // A browser that would not let the page read the answer (Chromium,
    // Firefox and Safari's words for a CORS refusal): the server's
    // configuration, or the caller's origin, must change first. (A proxy's
    // passing 502 without CORS headers reads the same; the page cannot
    // tell.) Firefox's "CORS request did not succeed" is a connection that
    // failed, which a retry may cure.
    e(Network, CORS_BLOCKED, 85, &["blocked by cors policy", "access to fetch at '", "access to xmlhttprequest at '", "cross-origin request blocked", "not allowed by access-control-allow-origin", "due to access control checks"]).no_retry(),
    e(Network, "connect_failed", 86, &["cors request did not succeed"]),
    // WebKit's word for a fetch that never got an answer ("TypeError: Load
    // failed"), as apps pass it on alone; any status decides.
    e(Network, "connect_failed", 28, &["load failed"]).word(),
    // HTTP/2's GOAWAY: the server closed the connection (Go, gRPC, Node).
    e(Network, "connection_reset", 70, &["server sent goaway", "received goaway", "goaway"]).word(),
    e(Network, "connection_reset", 75, &["unexpected end of stream on", "empty reply from server", "forcibly closed by the remote host", "unable to read data from the transport connection"]),
    // Below "timed out": reqwest says both for a timeout, and so do curl and Spring
    // ("Failed to connect to … port 443: Timed out").
    e(Network, "connect_failed", 44, &["error sending request for url", "failed to connect", "reqwest::error { kind: request", "resourceaccessexception", "i/o error on post request", "aggregateerror"]),
    e(Network, "connect_failed", 84, &["failed to connect to all addresses", "all connection attempts failed"]),
    e(Network, "connection_reset", 70, &["received no bytes"]),
    // A client's exception name for a closed socket, below any cause named with it.
    e(Network, "connection_reset", 45, &["connectionclosed"]),
    // A WebSocket client closing a connection that stopped answering its pings.
    e(Network, "connection_reset", 75, &["keepalive ping timeout"]),
    // A client retrying a dropped stream says so and no more.
    e(Network, "connection_reset", 40, &["reconnecting..."]),
    e(Network, "connect_failed", 58, &["transport error", "failed to fetch"]),
    // node-fetch's `request to … failed, reason: …`.
    e(Network, "connect_failed", 55, &["failed, reason:"]),
    // The words of HTTP stacks' exception classes, as exception names are
    // spelled (`SocketTimeoutException`, `ClientConnectorError`).
    e(Network, "connect_failed", 58, &["connect exception", "client connector", "connection closed error", "closed channel", "eof exception"]),
    e(Network, "tls", 62, &["ssl exception", "ssl error"]),
    e(Network, "tls", 70, &["ssl_error_syscall"]),
    e(Network, "tls", 82, &["cannot decrypt peer's message"]),
    // openai-python 0.x's APIConnectionError.
    e(Network, "connect_failed", 60, &["error communicating with"]),
    // This host ran out of descriptors or ports (the transport's
    // `LocalResource`, in words), or its own policy (a firewall, a
    // sandbox) refused the socket (`LocalPolicy`, in Go's words), so
    // nothing reached the provider. Under an error status they are the
    // server's own.
    e(Network, "local_resource", 95, &["too many open files", "emfile", "eaddrnotavail", "cannot assign requested address", "no buffer space available", "enobufs"]).word().success_only(),
    // Axios's code for a request that got no response, and Chromium's for a
    // network that changed or slept under it; whole codes, so no longer
    // `ERR_NETWORK_*` code is read as these.
    e(Network, "connect_failed", 55, &["err_network", "err_network_changed", "err_network_io_suspended"]).word(),
    // Chromium's refusal by a firewall or policy on this machine: the
    // network, and no retry cures it.
    e(Network, "local_policy", 86, &["err_network_access_denied"]).no_retry(),
    e(Network, "local_policy", 95, &["connect: operation not permitted", "connect: permission denied", "connect eperm", "connect eacces"]).word().success_only().no_retry(),
    // This program could not load a library it needs (Python's
    // ModuleNotFoundError, Node's "Cannot find module"), or two of its
    // libraries do not fit (an SDK building its HTTP client with the
    // `proxies` argument httpx 0.28 removed): nothing was sent. Read only
    // in a message; in a response's body the words are the server's.
    e(ErrorCategory::Unknown, LOCAL_SETUP, 90, &["modulenotfounderror", "no module named", "cannot find module", "cannot find package", "sdk is not installed", "got an unexpected keyword argument 'proxies'"]).success_only(),
    // This program read a field of an error object it did not get
    // (JavaScript's "Cannot read properties of undefined (reading
    // 'error')"): the cause was lost before it could be named. Reading a
    // part of an answer ('choices', '0') is a broken answer, above.
    // ('message' is left out: `choices[0].message` of an empty list reads
    // it too.)
    e(ErrorCategory::Unknown, ERROR_UNREADABLE, 76, &["(reading 'error')", "(reading 'status')", "(reading 'body')", "(reading 'code')", "field 'error' (a nil value)", "index a nil value (field 'error')", "field 'status' (a nil value)", "index a nil value (field 'status')", "field 'body' (a nil value)", "index a nil value (field 'body')", "field 'code' (a nil value)", "index a nil value (field 'code')"]).success_only(),
    // An app's own words put in place of a failure it caught, naming no
    // cause: NeMo Guardrails' apology, an agent's "terminated due to
    // error". Just above the words they carry ("internal error",
    // "terminated"), below any cause printed after them; read only where
    // no error status came, which otherwise decides.
    e(ErrorCategory::Unknown, CAUSE_HIDDEN, 51, &["i'm sorry, an internal error has occurred", "execution terminated due to error"]).success_only(),
    // Connect's error with its code `unknown` (`ConnectError: [unknown]
    // …`) names no cause: above its class name, below any cause after it.
    e(ErrorCategory::Unknown, CAUSE_HIDDEN, 54, &["connecterror: [unknown]"]).success_only(),
    // httpx's and Connect's class name: a connect failure when nothing
    // more specific follows (Connect's codes that map to a status are read
    // as that status; `[unavailable]`, like a failed connection, is not).
    e(Network, "connect_failed", 53, &["connecterror"]),
    // .NET's HttpRequestException: the request never got an answer.
    e(Network, "connect_failed", 60, &["an error occurred while sending the request"]),
    // Browsers' and Chromium-based stacks' codes; Bun's fetch and Node's
    // parser on an answer that is not HTTP.
    e(Network, "connection_reset", 75, &["err_connection_closed", "und_err_socket", "err_connection_reset", "err_empty_response", "err_http2_protocol_error", "invalidhttpresponse", "parse error: invalid status code", "parse error: expected http/"]),
    // curl's receive failure (in any locale), hyper's closed request channel.
    e(Network, "connection_reset", 74, &["recv failure", "连接被对方重设", "channelclosed"]),
    // Go's `Post "https://...": EOF`: the server closed the connection.
    e(Network, "connection_reset", 60, &[": eof", "： eof"]),
    e(Network, "tls", 62, &["[ssl:", "sslerror", "ssl handshake", "remote party sent a tls alert", "authentication failed because the remote party", "无法建立到该服务器的安全连接", "a secure connection to the server cannot be made", "eof occurred in violation of protocol", "ssl connection could not be established", "tls handshake", "handshake failure", "tlsv1 alert", "received fatal alert", "handshake_failure", "remote host terminated the handshake"]),
    e(Network, "proxy_error", 60, &["proxyerror", "proxy error", "tunnel connection failed"]),
    e(Network, "connect_failed", 55, &["failed to establish a new connection", "network problem", "网络错误", "cannot connect to", "could not connect", "couldn't connect", "unable to connect", "error trying to connect", "tcp connect error", "connection error", "connection failed", "fetch failed", "socket disconnected", "connectionerror", "apiconnectionerror", "network error", "network request failed", "请检查网络", "是否可以正常访问", "check your firewall", "net::err_failed", "typeerror: load failed", "typeerror:load failed", "could not be reached", "check your network", "unable to reach", "无法连接到"]),
    // -------------------------------------------------------- malformed_response
    e(MalformedResponse, "invalid_json", 85, &["json_validate_failed", "failed to generate json. please"]).of(Groq),
    e(MalformedResponse, "invalid_json", 75, &["expecting value", "unexpected end of json", "jsondecodeerror", "is not valid json", "invalid json", "eof while parsing", "expected value at line", "json parse error", "could not parse response", "could not parse http response", "malformed json", "unexpected token", "unexpected json token", "unserializableresponse", "unterminated string"]).success_only(),
    // Gemini's finish reason for a tool call it could not form, above the SDK's
    // StopCandidateException (content_filter, below).
    e(MalformedResponse, "malformed_function_call", 80, &["malformed function call", "malformed_function_call"]),
    // A client's parser or schema failing on a body or a chunk (JavaScript,
    // Python, pydantic, the AI SDK, Safari).
    e(MalformedResponse, "invalid_json", 74, &["after json at position", "json.parse", "json.loads", "syntaxerror", "zoderror", "expected array, received", "type validation failed", "validation error for", "validation errors for", "is not an object (evaluating", "typevalidationerror"]).success_only(),
    // An agent's parser rejecting what the model answered (LangChain's
    // output parser, pydantic-ai's `UnexpectedModelBehavior`), or a relay
    // saying so of a provider's reply.
    e(MalformedResponse, "unparsable_answer", 72, &["parsing llm output", "parse llm output", "unexpectedmodelbehavior", "returned neither content nor", "no content generated", "returned no content", "no content to map", "could not extract json", "arguments are not valid json", "error parsing function arguments", "unparseable reply", "unparsable reply", "unparseable response", "unparsable response", "produced an invalid tool call", "no valid xml found"]).success_only(),
    // An answer with nothing in it, events out of order, or one a client could not read.
    e(MalformedResponse, "unexpected_body", 72, &["contained no choices", "unexpected content type", "invalid content-type", "unexpected return from", "content field missing", "decoding response", "no attribute 'choices'", "unexpected line format", "noobjectgeneratederror", "did not provide any assistant messages", "响应格式不正确", "no content in", "no output found in response", "no candidates returned", "error: 'choices'", "expected object, received", "contained no message", "no completion choice", "no parts in", "empty response detected", "response empty", "too many empty messages", "unexpected event order", "extra data: line", "list index out of range", "expecting property name", "model returned no response", "error parsing chunk", "failed to process successful response", "expected to have received", "nonetype' object has no attribute 'usage'", "str' object has no attribute 'usage'", "dict' object has no attribute 'usage'", "nonetype' object has no attribute 'total_tokens'", "nonetype' object has no attribute 'prompt_tokens'", "nonetype' object has no attribute 'completion_tokens'", "响应格式错误", "响应格式无效", "without a current message", "nonetype' object has no attribute 'replace'", "nonetype' object has no attribute 'strip'", "解析流式输出", "response does not contain", "no tool call found in response", "error thrown while processing a json"]).success_only(),
    // Apple Shortcuts reading a part of an answer that is not there.
    e(MalformedResponse, "unexpected_body", 72, &["for dictionary \"choices\"", "for dictionary key \"choices\"", "for dictionary key 'choices'", "for dictionary \"candidates\"", "for dictionary key \"candidates\"", "for dictionary key 'candidates'", "for dictionary \"parts\"", "for dictionary key \"parts\"", "for dictionary key 'parts'", "for dictionary \"tool_calls\"", "for dictionary key \"tool_calls\"", "for dictionary key 'tool_calls'"]).success_only(),
    // Python's KeyError over a part of an answer, printed as Python prints
    // it: the field's name alone, quoted, ending the text, alone or after a
    // separator ("Error generating response: 'choices'"). Only keys no
    // caller's own data uses: 'text', 'content' or 'output' may be a
    // prompt template's or a dataset's, 'message' an error object's, and
    // 'delta' is a stream's (guessed, not read). An answer Gemini sends
    // without 'candidates' or 'parts' (a blocked prompt) is unusable as
    // sent, as the labels read any answer a client could not use.
    e(MalformedResponse, "unexpected_body", 72, &["'choices'", "'candidates'", "'parts'", "'tool_calls'"]).success_only().last(),
    // A client's parser failing on a chunk (Go's encoding/json, JavaScript's
    // JSON.parse, Lua's cjson in Neovim, an SDK's own wording).
    e(MalformedResponse, "invalid_json", 75, &["looking for beginning of value", "error decoding streaming response", "chunk parse error", "failed to parse stream", "stream was invalid", "cannot unmarshal", "failed to unmarshal response", "requires an element of type", "isn't in the correct format", "does not adhere to the format", "malformed response", "invalid sse", "error parsing json", "incorrect response", "mismatched type with value", "attempt to decode json with unexpected mimetype", "contenttypeerror", "received incorrect json from", "expected value but found"]).success_only(),
    // Serde's and other decoders' words for a chunk of the wrong shape.
    e(MalformedResponse, "invalid_json", 75, &["deserialize", "missing field `", "did not match any variant", "parse chunk", "ollama chunk", "keyerror", "null value for", "body was empty", "doesn't return any data", "did not return any data", "invalid response stream", "formatexception", "decodingerror", "keynotfound(", "expected ident at line", "trailing characters at line", "object is not subscriptable", "is not iterable", "cannot read properties of undefined", "jsonexception", "json deserialization", "after top-level value", "error unmarshalling", "failed to parse jsonl", "failed to parse json", "'utf-8' codec can't decode", "jsonconvertexception", "jsondecodingexception", "jsonsyntaxexception", "mismatchedinputexception", "openaiinvaliddataexception", "proto: (line", "proto: syntax error", "cannot read properties of null", "attempt to index", "is not a subtype of type", "attempt to decode a blank string", "is an invalid start of a value", "e474: unexpected end of input"]).success_only(),
    // Serde's words for a body whose first byte is not JSON, which a cut
    // could not cause: above reqwest's "error decoding response body".
    e(MalformedResponse, "invalid_json", 82, &["expected value at line 1 column 1", "error(\"expected value\", line: 1, column: 1"]).success_only(),
    // Firebase's AI SDKs on a response of a shape they do not know, and
    // a client's Chinese for a response it could not parse.
    e(MalformedResponse, "unexpected_body", 75, &["unhandled format for", "无法解析返回", "无法解析响应"]).success_only(),
    // Google's web responses (their anti-hijacking prefix, their envelope), printed
    // whole by a client that could not read them, and answers empty or of no
    // use ("AI 返回了空响应": the AI returned an empty answer; a Swift client's
    // dump of an answer with `choices: nil`); any cause named beside decides.
    e(MalformedResponse, "unexpected_body", 50, &["wrb.fr", "choices: nil", "response error: )]}", "unexpected character", "failed to parse", "invalid response", "unexpected response", "empty response", "empty body", "ai 返回了空响应"]).success_only(),
    // -------------------------------------------------------- stream_interrupted
    e(StreamInterrupted, "stream_error", 85, &["modelstreamerrorexception"]).of(Bedrock),
    // A body cut mid-read, as HTTP stacks word it.
    e(StreamInterrupted, "stream_interrupted", 80, &["transfer closed with outstanding read data", "was not closed cleanly", "response payload is not completed", "clientpayloaderror", "end of file before message length", "error decoding response body", "chunkedencodingerror", "invalidchunklength", "provider disconnected"]),
    // Whole words: "upstream error" is not a stream error.
    e(StreamInterrupted, "stream_error", 70, &["during streaming", "error in stream", "stream error"]).word(),
    e(StreamInterrupted, "stream_interrupted", 75, &["stream ended", "stream closed", "stream interrupted", "premature close", "prematurely", "ended without", "without [done]", "incomplete stream"]).success_only(),
    e(StreamInterrupted, "stream_interrupted", 50, &["terminated"]).success_only().word(),
];

/// Declares [`Sub`]: one variant per sub-category suffix, with its name.
macro_rules! subs {
    ($($variant:ident => $name:literal,)*) => {
        /// The sub-category suffix of a verdict that no catalogue entry
        /// gives (an HTTP status alone, a transport failure, a body that is
        /// not an answer); the provider's name goes in front.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Sub {
            $(
                #[doc = $name]
                $variant,
            )*
        }

        impl Sub {
            /// How many there are (variants are numbered from 0).
            pub(crate) const COUNT: usize = [$($name),*].len();

            /// Every suffix, in declaration order.
            #[cfg(test)]
            pub(crate) const ALL: [Sub; Self::COUNT] = [$(Self::$variant),*];

            /// The `snake_case` suffix.
            pub(crate) const fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

subs! {
    BadRequest => "bad_request",
    Unauthorized => "unauthorized",
    ProxyAuthRequired => "proxy_auth_required",
    PromptTooLong => "prompt_too_long",
    PaymentRequired => "payment_required",
    Forbidden => "forbidden",
    UnavailableForLegalReasons => "unavailable_for_legal_reasons",
    NotFound => "not_found",
    RequestTimeout => "request_timeout",
    Conflict => "conflict",
    RequestTooLarge => "request_too_large",
    UnprocessableRequest => "unprocessable_request",
    RateLimit => "rate_limit",
    QuotaWindow => "quota_window",
    BillingPeriod => "billing_period",
    RequestExceedsLimit => "request_exceeds_rate_limit",
    FeatureDeprecated => "feature_deprecated",
    CapacityExceeded => "capacity_exceeded",
    InternalError => "internal_error",
    BadGateway => "bad_gateway",
    ServiceUnavailable => "service_unavailable",
    GatewayTimeout => "gateway_timeout",
    CdnUnknownError => "cdn_unknown_error",
    OriginUnreachable => "origin_unreachable",
    CdnConnectionTimeout => "cdn_connection_timeout",
    CdnOriginTimeout => "cdn_origin_timeout",
    OriginTlsError => "origin_tls_error",
    Overloaded => "overloaded",
    ClientError => "client_error",
    ServerError => "server_error",
    EmptyBody => "empty_body",
    EmptyAnswer => "empty_answer",
    SafetyBlock => "safety_block",
    BrokenJson => "broken_json",
    HtmlPage => "html_page",
    UnexpectedBody => "unexpected_body",
    ErrorInSuccessResponse => "error_in_success_response",
    TruncatedEvent => "truncated_event",
    NoFinishSignal => "no_finish_signal",
    ConnectionClosedMidResponse => "connection_closed_mid_response",
    ConnectRefused => "connect_refused",
    Dns => "dns",
    Tls => "tls",
    ConnectionReset => "connection_reset",
    StreamCut => "stream_cut",
    TransportError => "transport_error",
    LocalResource => "local_resource",
    LocalPolicy => "local_policy",
    ConnectTimeout => "connect_timeout",
    FirstByteTimeout => "first_byte_timeout",
    IdleTimeout => "idle_timeout",
    TotalTimeout => "total_timeout",
    StreamInterrupted => "stream_interrupted",
    Unrecognised => "unrecognised",
    GuessedFromWords => "guessed_from_words",
    ChunkGuessedFromWords => "chunk_guessed_from_words",
    ModelNotFound => "model_not_found",
    ResourceNotFound => "resource_not_found",
    InvalidApiKey => "invalid_api_key",
    ZeroQuotaLimit => "zero_quota_limit",
    ResourceExhausted => "resource_exhausted",
    ValidationFailed => "validation_failed",
    SuccessResponse => "success_response",
}

/// The verdict of an HTTP status alone: (category, sub-category suffix).
pub(crate) fn status_rule(status: u16) -> Option<(ErrorCategory, Sub)> {
    Some(match status {
        400 => (InvalidRequest, Sub::BadRequest),
        401 => (Auth, Sub::Unauthorized),
        402 => (QuotaExhausted, Sub::PaymentRequired),
        403 => (Permission, Sub::Forbidden),
        404 => (ModelNotFound, Sub::NotFound),
        407 => (Auth, Sub::ProxyAuthRequired),
        408 => (Timeout, Sub::RequestTimeout),
        409 => (ServerError, Sub::Conflict),
        413 => (InvalidRequest, Sub::RequestTooLarge),
        422 => (InvalidRequest, Sub::UnprocessableRequest),
        429 => (RateLimit, Sub::RateLimit),
        // Refused where the caller is (RFC 7725): this account, from here.
        451 => (Permission, Sub::UnavailableForLegalReasons),
        498 => (Overloaded, Sub::CapacityExceeded),
        500 => (ServerError, Sub::InternalError),
        502 => (ServerError, Sub::BadGateway),
        503 => (Overloaded, Sub::ServiceUnavailable),
        504 => (Timeout, Sub::GatewayTimeout),
        520 => (ServerError, Sub::CdnUnknownError),
        // A CDN's own response arrived over HTTP: the hop behind it failed.
        521 | 523 => (ServerError, Sub::OriginUnreachable),
        522 => (Timeout, Sub::CdnConnectionTimeout),
        524 => (Timeout, Sub::CdnOriginTimeout),
        525 | 526 => (ServerError, Sub::OriginTlsError),
        529 => (Overloaded, Sub::Overloaded),
        405..=499 => (InvalidRequest, Sub::ClientError),
        501..=599 => (ServerError, Sub::ServerError),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
