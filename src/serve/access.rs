//! Who may call the server, and how often, LibreTranslate's way: API keys from a keys file
//! (each with an optional requests-per-minute and characters-per-request), a per-IP rate limit,
//! the client's address (from `X-Forwarded-For` only behind a trusted proxy), and which other
//! origins' web pages may call (CORS).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

use super::error::ApiError;

/// LibreTranslate's answer to a key that is not in the keys file (403).
pub const INVALID_KEY: &str = "Invalid API key";
/// LibreTranslate's answer to a request without a key where keys are required (403).
pub const MISSING_KEY: &str = "Please contact the server operator to get an API key";

/// Per-IP rate-limit states kept before idle ones are dropped (bounds memory under a flood of
/// addresses; an address idle long enough to be back at a full allowance loses nothing).
const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// An API keys file that cannot be used, naming the file and, where one is to blame, the line.
#[derive(Debug, thiserror::Error)]
pub enum KeysFileError {
    /// The file could not be read.
    #[error("{}: cannot read the API keys file: {source}", path.display())]
    Read {
        /// The keys file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Not TOML of the expected shape (the message gives line and column).
    #[error("{}: {message}", path.display())]
    Parse {
        /// The keys file.
        path: PathBuf,
        /// The TOML parser's message.
        message: String,
    },
    /// A key entry breaks a rule.
    #[error("{}:{line}: {problem}", path.display())]
    Invalid {
        /// The keys file.
        path: PathBuf,
        /// 1-based line of the entry's `key`.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// One entry of the keys file:
///
/// ```toml
/// [[key]]
/// key = "4d5e0c1f-6b8a-4f57-9a43-1c2d3e4f5a6b"   # at least 16 characters, no spaces
/// name = "alice"                                  # optional, for the logs
/// requests_per_minute = 60                        # optional; none: no rate limit
/// chars_per_request = 5000                        # optional; none: the server's limits
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    key: toml::Spanned<String>,
    name: Option<String>,
    requests_per_minute: Option<u32>,
    chars_per_request: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    key: Vec<KeyEntry>,
}

/// An API key's allowance.
#[derive(Debug)]
struct KeyState {
    name: String,
    chars_per_request: Option<usize>,
    limiter: Option<DefaultDirectRateLimiter>,
}

/// The API keys of a server, read from a keys file (see [`ApiKeys::load`]).
#[derive(Debug, Default)]
pub struct ApiKeys {
    keys: HashMap<String, KeyState>,
}

impl ApiKeys {
    /// Reads a keys file: TOML with one `[[key]]` table per key (`key`, and optional `name`,
    /// `requests_per_minute`, `chars_per_request`).
    ///
    /// Errors: [`KeysFileError`] for an unreadable file, malformed TOML or an unknown field
    /// (with line and column), no keys, or a key shorter than 16 characters, holding
    /// whitespace, listed twice, or with a zero limit (naming its line).
    pub fn load(path: &Path) -> Result<Self, KeysFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeysFileError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// [`ApiKeys::load`] on the text of `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, KeysFileError> {
        let file: KeysFile = toml::from_str(text).map_err(|e| KeysFileError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        if file.key.is_empty() {
            return Err(KeysFileError::Parse {
                path: path.into(),
                message: "no [[key]] entries".into(),
            });
        }
        let mut keys = HashMap::new();
        let mut lines = HashMap::new();
        for entry in file.key {
            let line = 1 + text[..entry.key.span().start].matches('\n').count();
            let invalid = |problem: String| KeysFileError::Invalid {
                path: path.into(),
                line,
                problem,
            };
            let key = entry.key.into_inner();
            if key.chars().count() < 16 || key.chars().any(char::is_whitespace) {
                return Err(invalid(
                    "a key must have at least 16 characters and no whitespace".into(),
                ));
            }
            if let Some(first) = lines.insert(key.clone(), line) {
                return Err(invalid(format!(
                    "this key is listed twice (first at line {first})"
                )));
            }
            if entry.requests_per_minute == Some(0) || entry.chars_per_request == Some(0) {
                return Err(invalid(
                    "requests_per_minute and chars_per_request must be at least 1".into(),
                ));
            }
            let limiter = entry
                .requests_per_minute
                .and_then(NonZeroU32::new)
                .map(|n| RateLimiter::direct(Quota::per_minute(n)));
            let name = entry.name.unwrap_or_else(|| format!("key at line {line}"));
            let chars_per_request = entry.chars_per_request;
            keys.insert(
                key,
                KeyState {
                    name,
                    chars_per_request,
                    limiter,
                },
            );
        }
        Ok(Self { keys })
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Which other origins' web pages may call the server from a browser (CORS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// None: only the server's own page (same origin; no CORS headers are sent).
    #[default]
    SameOrigin,
    /// Any origin (`*`), only when asked for.
    Any,
    /// These origins (`scheme://host[:port]`).
    List(Vec<String>),
}

impl CorsOrigins {
    /// `--cors-origins`: empty → same origin only; `*` → any; else each `scheme://host[:port]`.
    ///
    /// Errors: [`crate::error::Error::Input`] naming an origin that is not `http(s)://host[:port]`.
    pub fn parse(origins: &[String]) -> Result<Self, crate::error::Error> {
        if origins.is_empty() {
            return Ok(Self::SameOrigin);
        }
        if origins.iter().any(|o| o == "*") {
            return Ok(Self::Any);
        }
        for o in origins {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            let ok = rest.is_some_and(|r| !r.is_empty() && !r.contains(['/', ' ', '?', '#']));
            if !ok {
                return Err(crate::error::Error::Input(format!(
                    "--cors-origins: {o:?} is not an origin like https://example.org or \
                     http://localhost:8080 (no path, no trailing slash)"
                )));
            }
        }
        Ok(Self::List(origins.to_vec()))
    }
}

/// Everything [`Access`] is made from.
#[derive(Debug, Default)]
pub struct AccessPolicy {
    /// API keys; `Some`: every translation and detection request needs one.
    pub keys: Option<ApiKeys>,
    /// Requests per minute from one client address to the translation and detection routes,
    /// for requests not made with a valid key (`--req-limit`); `None`: no limit.
    pub requests_per_minute_per_ip: Option<NonZeroU32>,
    /// Take the client address from `X-Forwarded-For` (its last entry, the one the proxy in
    /// front appended) instead of the socket's peer.
    pub trust_proxy: bool,
    /// `/metrics` needs a valid key too (as `Authorization: Bearer KEY`).
    pub protect_metrics: bool,
    /// Which other origins' pages may call.
    pub cors: CorsOrigins,
}

/// Admission by key and rate; one per server, shared by every route.
#[derive(Debug)]
pub struct Access {
    keys: Option<ApiKeys>,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Whether `X-Forwarded-For` is believed.
    pub trust_proxy: bool,
    /// Whether `/metrics` needs a key.
    pub protect_metrics: bool,
    /// Which other origins' pages may call.
    pub cors: CorsOrigins,
}

/// What an admitted request may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowance {
    /// The key's name, when the request came with a valid key.
    pub key_name: Option<String>,
    /// Most characters over all of the request's texts, when its key sets it.
    pub chars_per_request: Option<usize>,
}

impl Default for Access {
    fn default() -> Self {
        Self::new(AccessPolicy::default())
    }
}

impl Access {
    /// Admission under `policy`.
    pub fn new(policy: AccessPolicy) -> Self {
        Self {
            keys: policy.keys,
            per_ip: policy
                .requests_per_minute_per_ip
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            trust_proxy: policy.trust_proxy,
            protect_metrics: policy.protect_metrics,
            cors: policy.cors,
        }
    }

    /// Whether requests need an API key.
    pub fn keys_required(&self) -> bool {
        self.keys.is_some()
    }

    /// The client's address: the last `X-Forwarded-For` entry when the proxy is trusted and
    /// the header parses, else the socket's peer (unspecified when unknown, as in tests that
    /// call the router directly).
    pub fn client_ip(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> IpAddr {
        let forwarded = || {
            let value = headers.get("x-forwarded-for")?.to_str().ok()?;
            value.rsplit(',').next()?.trim().parse().ok()
        };
        let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip());
        if self.trust_proxy {
            forwarded().unwrap_or(peer)
        } else {
            peer
        }
    }

    /// Admits a request from `ip` with `key` (from the body's `api_key` or the `Authorization:
    /// Bearer` header). A valid key is limited by its own rate; a request without a valid key
    /// by the per-IP rate (so guessing keys is rate-limited too).
    ///
    /// Errors: 429 with `Retry-After` over a rate; 403 [`INVALID_KEY`] for a key not in the
    /// file, 403 [`MISSING_KEY`] for no key where keys are required.
    pub fn admit(&self, key: Option<&str>, ip: IpAddr) -> Result<Allowance, ApiError> {
        let known = key.and_then(|k| self.keys.as_ref()?.keys.get(k));
        if let Some(state) = known {
            if let Some(limiter) = &state.limiter {
                limiter.check().map_err(|w| {
                    slow_down(w.wait_time_from(limiter.clock().now()), "this API key")
                })?;
            }
            return Ok(Allowance {
                key_name: Some(state.name.clone()),
                chars_per_request: state.chars_per_request,
            });
        }
        if let Some(limiter) = &self.per_ip {
            if limiter.len() > MAX_TRACKED_ADDRESSES {
                limiter.retain_recent();
            }
            limiter
                .check_key(&ip)
                .map_err(|w| slow_down(w.wait_time_from(limiter.clock().now()), "this address"))?;
        }
        match (&self.keys, key) {
            (None, _) => Ok(Allowance::default()),
            (Some(_), Some(_)) => Err(ApiError::new(StatusCode::FORBIDDEN, INVALID_KEY)),
            (Some(_), None) => Err(ApiError::new(StatusCode::FORBIDDEN, MISSING_KEY)),
        }
    }

    /// Whether `headers` carry a valid key as `Authorization: Bearer KEY`.
    pub fn has_valid_bearer(&self, headers: &HeaderMap) -> bool {
        let keys = self.keys.as_ref().map(|k| &k.keys);
        bearer(headers).is_some_and(|k| keys.is_some_and(|keys| keys.contains_key(k)))
    }
}

/// The key of an `Authorization: Bearer KEY` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

/// 429 with `Retry-After` (whole seconds, at least 1) for a rate `who` went over, `wait`
/// (read on the limiter's own clock) before the next request would be admitted.
fn slow_down(wait: Duration, who: &str) -> ApiError {
    let retry_after = (wait.as_secs_f64().ceil() as u64).max(1);
    ApiError {
        retry_after: Some(retry_after),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Slowdown: too many requests from {who}; retry in {retry_after} s"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str = "[[key]]\nkey = \"aaaaaaaaaaaaaaaa\"\nrequests_per_minute = 2\n\n\
                        [[key]]\nkey = \"bbbbbbbbbbbbbbbb\"\nchars_per_request = 10\n";

    fn access(text: &str, per_ip: Option<u32>) -> Access {
        Access::new(AccessPolicy {
            keys: Some(ApiKeys::parse(text, Path::new("keys.toml")).unwrap()),
            requests_per_minute_per_ip: per_ip.and_then(NonZeroU32::new),
            ..Default::default()
        })
    }

    #[test]
    fn missing_wrong_and_right_keys() {
        let a = access(KEYS, None);
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(a.admit(None, ip).unwrap_err().message, MISSING_KEY);
        assert_eq!(
            a.admit(Some("nope"), ip).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        let ok = a.admit(Some("bbbbbbbbbbbbbbbb"), ip).unwrap();
        assert_eq!(ok.chars_per_request, Some(10));
    }

    #[test]
    fn a_key_over_its_rate_gets_429_with_retry_after_and_another_key_is_served() {
        let a = access(KEYS, None);
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for _ in 0..2 {
            a.admit(Some("aaaaaaaaaaaaaaaa"), ip).unwrap();
        }
        let e = a.admit(Some("aaaaaaaaaaaaaaaa"), ip).unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!((1..=30).contains(&e.retry_after.unwrap()), "{e:?}");
        for _ in 0..5 {
            a.admit(Some("bbbbbbbbbbbbbbbb"), ip).unwrap();
        }
    }

    #[test]
    fn requests_without_a_valid_key_count_against_their_address() {
        let a = access(KEYS, Some(1));
        let (one, two) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert_eq!(
            a.admit(Some("wrong"), one).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        let e = a.admit(Some("wrong"), one).unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            a.admit(None, two).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_behind_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut a = Access::default();
        assert_eq!(a.client_ip(Some(peer), &headers), peer.ip());
        a.trust_proxy = true;
        assert_eq!(a.client_ip(Some(peer), &headers).to_string(), "5.6.7.8");
    }

    #[test]
    fn a_bad_keys_file_names_its_line() {
        let short = "[[key]]\nkey = \"aaaaaaaaaaaaaaaa\"\n[[key]]\nkey = \"short\"\n";
        let e = ApiKeys::parse(short, Path::new("k.toml"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "k.toml:4: a key must have at least 16 characters and no whitespace"
        );
        let twice = "[[key]]\nkey = \"aaaaaaaaaaaaaaaa\"\n[[key]]\nkey = \"aaaaaaaaaaaaaaaa\"\n";
        let e = ApiKeys::parse(twice, Path::new("k.toml"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "k.toml:4: this key is listed twice (first at line 2)");
        let unknown = "[[key]]\nkey = \"aaaaaaaaaaaaaaaa\"\nrequests = 3\n";
        let e = ApiKeys::parse(unknown, Path::new("k.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("k.toml: TOML parse error at line 3"), "{e}");
    }

    #[test]
    fn cors_origins_parse_and_refuse_paths() {
        assert_eq!(CorsOrigins::parse(&[]).unwrap(), CorsOrigins::SameOrigin);
        assert_eq!(CorsOrigins::parse(&["*".into()]).unwrap(), CorsOrigins::Any);
        assert!(CorsOrigins::parse(&["https://a.org/".into()]).is_err());
        assert!(CorsOrigins::parse(&["a.org".into()]).is_err());
    }
}
