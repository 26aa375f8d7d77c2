//! Who may ask what, and how many at once: every request passes here before a handler sees it.
//!
//! - **Host and Origin.** The API answers only requests addressed to it: a `Host` that is an IP
//!   address, `localhost`, or a name the operator allowed (`--allowed-host`). A page of another
//!   site that rebinds its own domain name to this machine's address (DNS rebinding) sends its
//!   own name as `Host` and is refused; so is a write whose `Origin` is another site's.
//! - **The token** on every request but GET and HEAD, before the body is read.
//! - **How many at once:** requests in flight and open event streams are bounded; past the bound
//!   the answer is 503 at once, not a queue.
//! - **Headers** on every answer: a Content-Security-Policy the dashboard passes with no inline
//!   script or style, `nosniff`, no framing, no referrer.

use crate::Api;
use crate::handlers::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Requests a server handles at once by default (event streams are counted apart).
pub const DEFAULT_MAX_REQUESTS: usize = 64;
/// Event streams a server keeps open at once by default.
pub const DEFAULT_MAX_STREAMS: usize = 256;

/// The Content-Security-Policy of every answer: the page loads only its own scripts, styles and
/// data, and no other site may frame it.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

/// The host names a server answers for, besides IP addresses and `localhost`.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    names: Vec<String>,
    any: bool,
}

impl AllowedHosts {
    /// IP addresses, `localhost`, and `names` (case-insensitive; `*` allows any name, which
    /// gives up the protection against DNS rebinding).
    pub fn new<S: AsRef<str>>(names: &[S]) -> AllowedHosts {
        let names: Vec<String> = names
            .iter()
            .map(|n| n.as_ref().trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        AllowedHosts {
            any: names.iter().any(|n| n == "*"),
            names,
        }
    }

    /// Whether a `Host` header's value (a name or address, with or without a port) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        self.any
            || name == "localhost"
            || name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok()
            || self.names.contains(&name)
    }
}

/// The name or address of `host`, without its port (`[::1]:8080` → `[::1]`).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(h, _)| &host[..=h.len()]);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// Refuses requests addressed to a host this server does not answer for, and writes from
/// another site's page.
pub(crate) async fn addressed_to_us(
    State(api): State<Api>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(refusal) = misdirected(&api, &request) {
        return refusal;
    }
    next.run(request).await
}

/// Why `request` is refused as not addressed to this server, if it is.
fn misdirected(api: &Api, request: &Request) -> Option<Response> {
    let header_text = |name: HeaderName| {
        request
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("(not text)").to_string())
    };
    // A request without `Host` comes from no browser (HTTP/1.0 tools, tests): nothing to
    // rebind.
    if let Some(host) = header_text(header::HOST)
        && !api.allowed_hosts.allows(&host)
    {
        let name = host_name(&host).to_string();
        let message = format!(
            "this server does not answer for host `{name}`; if that is its name, start it with \
             --allowed-host {name} (or MCP_ALLOWED_HOSTS)"
        );
        return Some(ApiError::new(StatusCode::FORBIDDEN, message).into_response());
    }
    let write = !matches!(*request.method(), Method::GET | Method::HEAD);
    if write && let Some(origin) = header_text(header::ORIGIN) {
        let host = origin.split_once("://").map_or("", |(_, h)| h);
        if origin == "null" || !api.allowed_hosts.allows(host) {
            let message = format!(
                "a page of `{origin}` may not change anything here; use the dashboard this \
                 server serves, or the API without a browser"
            );
            return Some(ApiError::new(StatusCode::FORBIDDEN, message).into_response());
        }
    }
    None
}

/// Refuses writes without the token, before their body is read.
pub(crate) async fn require_token(
    State(api): State<Api>,
    request: Request,
    next: Next,
) -> Response {
    use subtle::ConstantTimeEq;
    let Some(token) = &api.token else {
        return next.run(request).await;
    };
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        return next.run(request).await;
    }
    let message = if given.is_empty() {
        "this needs the server's token: send `Authorization: Bearer TOKEN` (the token is printed \
         when the server starts, or set with --token / MCP_TOKEN)"
    } else {
        "wrong token: use the one the server printed when it started, or its --token / MCP_TOKEN"
    };
    ApiError::new(StatusCode::UNAUTHORIZED, message).into_response()
}

/// Answers 503 at once when the server already handles its most requests.
pub(crate) async fn bounded(State(api): State<Api>, request: Request, next: Next) -> Response {
    let Ok(_permit) = api.requests.clone().try_acquire_owned() else {
        let message = format!(
            "this server is handling {} requests already; try again in a moment",
            api.max_requests
        );
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    };
    next.run(request).await
}

/// Adds the security headers to every answer.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_localhost_and_allowed_names_pass_other_names_do_not() {
        let hosts = AllowedHosts::new(&["mcp.example.com"]);
        for host in [
            "127.0.0.1:8080",
            "10.0.0.7",
            "[::1]:8080",
            "[fe80::1]",
            "localhost:8080",
            "LOCALHOST",
            "mcp.example.com:443",
            "MCP.example.com",
        ] {
            assert!(hosts.allows(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "",
        ] {
            assert!(!hosts.allows(host), "{host}");
        }
        assert!(AllowedHosts::new(&["*"]).allows("anything.example"));
        assert_eq!(host_name("[::1]:8080"), "[::1]");
        assert_eq!(host_name("example.com:80"), "example.com");
    }
}
