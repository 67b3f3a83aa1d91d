//! Browser origins as `--cors-origins` takes them, checked once at start-up.
//!
//! A browser sends `Origin: scheme://host[:port]`, lower case, without a path and without the
//! scheme's default port. A configured value that can never equal such a header (a trailing
//! slash, a path, a wildcard in the middle of a name) used to be accepted and then silently
//! refused every request; here it stops the gateway with a message naming the flag instead.
//! Values are normalised the way browsers write origins (lower case, default port dropped).
//!
//! Accepted: `*` (any origin), `https://admin.contoso.example`, `http://localhost:5173`,
//! `http://localhost:*` (any port) and `https://*.contoso.example` (any subdomain).

use std::fmt;
use std::net::Ipv6Addr;

/// Longest origin kept or compared; real origins are far shorter.
const MAX_ORIGIN_LEN: usize = 512;

/// The host part of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// This host exactly.
    Exact(String),
    /// Any subdomain of this domain (not the domain itself).
    Subdomains(String),
}

/// The port part of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    /// The scheme's default port (no port in the origin).
    Default,
    Exact(u16),
    Any,
}

/// One allowed origin, or a family of them (`:*` ports, `*.` subdomains).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    host: Host,
    port: Port,
}

/// An `Origin` header a browser sent, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    /// `None`: the scheme's default port.
    port: Option<u16>,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

fn valid_scheme(scheme: &str) -> bool {
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

/// A DNS name or IPv4 address: non-empty labels of letters, digits and `-`.
fn valid_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

/// Splits `scheme://rest` into its lower-cased scheme and the rest, or says what is wrong.
fn split_scheme(text: &str) -> Result<(String, &str), String> {
    let (scheme, rest) = text.split_once("://").ok_or_else(|| {
        format!("`{text}` is not an origin: write scheme://host[:port], e.g. http://localhost:5173")
    })?;
    let scheme = scheme.to_ascii_lowercase();
    if !valid_scheme(&scheme) {
        return Err(format!("`{text}` has no valid scheme (e.g. http or https)"));
    }
    Ok((scheme, rest))
}

/// Splits `host[:port]` (the host possibly a bracketed IPv6 address) into host and port text.
fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let (host, rest) = authority.split_at(authority.find(']')? + 1);
        return match rest {
            "" => Some((host, None)),
            _ => rest.strip_prefix(':').map(|port| (host, Some(port))),
        };
    }
    Some(match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// A host as browsers write it: lower case; a bracketed IPv6 address in its compact form.
fn normal_host(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    if let Some(inside) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inside
            .parse::<Ipv6Addr>()
            .ok()
            .map(|address| format!("[{address}]"));
    }
    valid_host_name(&host).then_some(host)
}

fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|port| *port > 0)
}

impl OriginPattern {
    /// Parses one `--cors-origins` value (not `*`), or says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        const WILDCARDS: &str = "a wildcard may stand only for the whole value (`*`), the port \
                                 (`http://localhost:*`) or leading subdomains \
                                 (`https://*.contoso.example`)";
        if text.len() > MAX_ORIGIN_LEN {
            return Err(format!("an origin is at most {MAX_ORIGIN_LEN} characters"));
        }
        if text.eq_ignore_ascii_case("null") {
            return Err(
                "`null` is the origin of sandboxed and file:// pages, which any site can \
                        create; allow the real origin the app is served from instead"
                    .to_owned(),
            );
        }
        let (scheme, authority) = split_scheme(text)?;
        if let Some(at) = authority.find(['/', '?', '#']) {
            let bare = format!("{scheme}://{}", &authority[..at]);
            let what = if &authority[at..] == "/" {
                "a trailing slash"
            } else {
                "a path"
            };
            return Err(format!(
                "`{text}` has {what}: browsers send origins without one, so it would never \
                 match; write `{bare}`"
            ));
        }
        if authority.contains('@') {
            return Err(format!("`{text}` has user information; an origin has none"));
        }
        let (host, port) = split_port(authority)
            .ok_or_else(|| format!("`{text}` is not an origin: its IPv6 host is not bracketed"))?;
        let port = match port {
            None => Port::Default,
            Some("*") => Port::Any,
            Some(port) if port.contains('*') => return Err(format!("`{text}`: {WILDCARDS}")),
            Some(port) => match parse_port(port) {
                Some(port) if Some(port) == default_port(&scheme) => Port::Default,
                Some(port) => Port::Exact(port),
                None => {
                    return Err(format!(
                        "`{text}` has an invalid port `{port}` (1 to 65535)"
                    ));
                }
            },
        };
        let host = match host.strip_prefix("*.") {
            Some(domain) if !domain.contains('*') => normal_host(domain)
                .filter(|d| !d.starts_with('['))
                .map(Host::Subdomains),
            _ if host.contains('*') => return Err(format!("`{text}`: {WILDCARDS}")),
            _ => normal_host(host).map(Host::Exact),
        }
        .ok_or_else(|| format!("`{text}` has no valid host name"))?;
        Ok(OriginPattern { scheme, host, port })
    }

    /// Whether a browser page at `origin` is one this pattern allows.
    pub fn matches(&self, origin: &Origin) -> bool {
        let host = match &self.host {
            Host::Exact(host) => *host == origin.host,
            Host::Subdomains(domain) => origin
                .host
                .strip_suffix(domain.as_str())
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        };
        let port = match self.port {
            Port::Any => true,
            Port::Default => origin.port.is_none(),
            Port::Exact(port) => origin.port == Some(port),
        };
        self.scheme == origin.scheme && host && port
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        match &self.host {
            Host::Exact(host) => f.write_str(host)?,
            Host::Subdomains(domain) => write!(f, "*.{domain}")?,
        }
        match self.port {
            Port::Default => Ok(()),
            Port::Exact(port) => write!(f, ":{port}"),
            Port::Any => f.write_str(":*"),
        }
    }
}

impl Origin {
    /// Parses an `Origin` header; `None` for `null` or anything that is not an origin.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() > MAX_ORIGIN_LEN {
            return None;
        }
        let (scheme, authority) = split_scheme(text).ok()?;
        if authority.contains(['/', '?', '#', '@', '*']) {
            return None;
        }
        let (host, port) = split_port(authority)?;
        let port = match port {
            None => None,
            Some(port) => Some(parse_port(port)?).filter(|p| Some(*p) != default_port(&scheme)),
        };
        Some(Origin {
            host: normal_host(host)?,
            scheme,
            port,
        })
    }

    /// Whether this origin is the site at `host` (a `Host` header: `name[:port]`) itself, over
    /// `http` or `https`.
    pub fn is_host(&self, host: &str) -> bool {
        let Some((name, port)) = split_port(host) else {
            return false;
        };
        let port = match port {
            None => None,
            Some(port) => match parse_port(port) {
                Some(port) => Some(port).filter(|p| Some(*p) != default_port(&self.scheme)),
                None => return false,
            },
        };
        matches!(self.scheme.as_str(), "http" | "https")
            && normal_host(name).is_some_and(|name| name == self.host)
            && port == self.port
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// The clap value parser of `--cors-origins`: `*`, or one origin pattern, normalised.
pub fn flag_value(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text == "*" {
        return Ok(text.to_owned());
    }
    // An empty value (`GPO_GATEWAY_CORS_ORIGINS=` in a compose file) means "not set".
    if text.is_empty() {
        return Ok(String::new());
    }
    OriginPattern::parse(text).map(|pattern| pattern.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(pattern: &str, origin: &str) -> bool {
        let pattern = OriginPattern::parse(pattern).expect("a valid pattern");
        Origin::parse(origin).is_some_and(|origin| pattern.matches(&origin))
    }

    #[test]
    fn values_are_normalised_as_browsers_write_origins() {
        assert_eq!(
            flag_value("HTTPS://Admin.Contoso.Example:443"),
            Ok("https://admin.contoso.example".into())
        );
        assert_eq!(
            flag_value(" http://localhost:5173 "),
            Ok("http://localhost:5173".into())
        );
        assert_eq!(
            flag_value("http://[::1]:8080"),
            Ok("http://[::1]:8080".into())
        );
        assert_eq!(flag_value("*"), Ok("*".into()));
        assert_eq!(flag_value(""), Ok(String::new()), "empty: as if not set");
    }

    #[test]
    fn values_that_could_never_match_are_refused_with_the_fix() {
        let slash = flag_value("http://localhost:5173/").expect_err("trailing slash");
        assert!(
            slash.contains("trailing slash") && slash.contains("`http://localhost:5173`"),
            "{slash}"
        );
        assert!(
            flag_value("https://a.example/app")
                .expect_err("path")
                .contains("a path")
        );
        for bad in [
            "localhost:5173",
            "://x",
            "http://",
            "http://local*host",
            "http://*",
            "http://a.*.example",
            "http://localhost:5*",
            "http://localhost:0",
            "http://localhost:65536",
            "http://user@host",
            "http://exa mple.com",
            "null",
            "1http://a",
        ] {
            assert!(flag_value(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn patterns_match_the_origins_they_name_and_no_others() {
        assert!(allows("http://localhost:*", "http://localhost:5173"));
        assert!(allows("http://localhost:*", "http://localhost"));
        assert!(!allows("http://localhost:*", "https://localhost:5173"));
        assert!(!allows(
            "http://localhost:*",
            "http://localhost.evil.example:5173"
        ));
        assert!(allows(
            "https://*.contoso.example",
            "https://admin.contoso.example"
        ));
        assert!(!allows(
            "https://*.contoso.example",
            "https://contoso.example"
        ));
        assert!(!allows(
            "https://*.contoso.example",
            "https://evilcontoso.example"
        ));
        assert!(allows(
            "https://admin.contoso.example",
            "https://admin.contoso.example"
        ));
        assert!(allows(
            "https://admin.contoso.example",
            "https://admin.contoso.example:443"
        ));
        assert!(!allows(
            "https://admin.contoso.example",
            "https://admin.contoso.example:8443"
        ));
        assert!(!allows("http://127.0.0.1:4000", "null"));
    }

    #[test]
    fn an_origin_is_its_host_only_with_the_same_name_and_port() {
        let origin = Origin::parse("http://127.0.0.1:4000").expect("origin");
        assert!(origin.is_host("127.0.0.1:4000"));
        assert!(!origin.is_host("127.0.0.1:4001"));
        assert!(!origin.is_host("localhost:4000"));
        let origin = Origin::parse("https://gw.contoso.example").expect("origin");
        assert!(origin.is_host("gw.contoso.example"));
        assert!(origin.is_host("gw.contoso.example:443"));
    }
}
