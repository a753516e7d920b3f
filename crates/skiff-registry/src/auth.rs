//! Registry authentication: parsing `WWW-Authenticate` challenges, and the tokens of the
//! Docker token flow (`Bearer realm=…,service=…,scope=…`), cached per scope for the length
//! of one operation.

use std::collections::HashMap;
use std::sync::Mutex;

/// A parsed `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic {
        realm: String,
    },
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `Basic realm="x"` or `Bearer realm="x",service="y",scope="a b"`. Unknown schemes
/// give `None`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(params);
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic {
            realm: get("realm").unwrap_or_default(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    } else {
        None
    }
}

/// `k="v", k2=v2`: values may be quoted (with `\` escapes) and hold commas.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if chars.next().is_none() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}

/// Bearer tokens by scope (`repository:library/busybox:pull`, or several scopes joined
/// by spaces as a challenge lists them).
#[derive(Debug, Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<String, String>>,
}

impl TokenCache {
    pub fn get(&self, scope: &str) -> Option<String> {
        self.tokens
            .lock()
            .expect("token cache lock")
            .get(scope)
            .cloned()
    }
    pub fn put(&self, scope: &str, token: String) {
        self.tokens
            .lock()
            .expect("token cache lock")
            .insert(scope.to_owned(), token);
    }
    pub fn forget(&self, scope: &str) {
        self.tokens.lock().expect("token cache lock").remove(scope);
    }
}

/// The token server's answer (`token`, or OAuth2's `access_token`).
#[derive(serde::Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
}

impl TokenResponse {
    pub fn into_token(self) -> Option<String> {
        self.token.or(self.access_token).filter(|t| !t.is_empty())
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The token request URL: `realm?service=…&scope=…&scope=…` (one `scope` per space-separated
/// scope, as the token spec wants).
pub fn token_url(realm: &str, service: Option<&str>, scope: Option<&str>) -> String {
    let mut url = realm.to_owned();
    let mut sep = if realm.contains('?') { '&' } else { '?' };
    if let Some(service) = service {
        url.push_str(&format!("{sep}service={}", query_escape(service)));
        sep = '&';
    }
    for s in scope.unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
        url.push_str(&format!("{sep}scope={}", query_escape(s)));
        sep = '&';
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="basic-realm""#),
            Some(Challenge::Basic {
                realm: "basic-realm".into()
            })
        );
        assert_eq!(
            parse_challenge(
                r#"bearer realm="http://a/t", scope="repository:a:pull,push repository:b:pull",error="insufficient_scope""#
            ),
            Some(Challenge::Bearer {
                realm: "http://a/t".into(),
                service: None,
                scope: Some("repository:a:pull,push repository:b:pull".into()),
            })
        );
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(
            parse_challenge(r#"Basic realm="a\"b""#),
            Some(Challenge::Basic {
                realm: "a\"b".into()
            })
        );
    }

    #[test]
    fn token_urls() {
        assert_eq!(
            token_url("http://h/token", Some("reg istry"), Some("repository:a/b:pull,push repository:c:pull")),
            "http://h/token?service=reg%20istry&scope=repository%3Aa%2Fb%3Apull%2Cpush&scope=repository%3Ac%3Apull"
        );
        assert_eq!(token_url("http://h/t?x=1", None, None), "http://h/t?x=1");
    }
}
