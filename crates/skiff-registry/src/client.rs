//! One registry, for the length of one operation: HTTP requests with authentication
//! (anonymous, Basic, or Bearer tokens fetched from the challenge's realm and cached per
//! scope), retries of transient failures (connection errors, 5xx, 429) with backoff, and the
//! typed calls of the distribution API.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Mutex;
use std::time::Duration;

use skiff_image::digest::Digest;
use skiff_image::manifest::media_type;
use ureq::http::{Request, Response, StatusCode};

use crate::auth::{parse_challenge, token_url, Challenge, TokenCache, TokenResponse};
use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::RegistryError;

/// Attempts per request when the failure looks transient.
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Manifests and tokens are small; refuse absurd ones.
const MAX_MANIFEST: u64 = 8 << 20;
const USER_AGENT: &str = concat!("skiff/", env!("CARGO_PKG_VERSION"));

/// How the registry wants to be authenticated, learned from `GET /v2/`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Scheme {
    Anonymous,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// A request body that can be sent again on retry.
#[derive(Clone, Copy)]
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// `len` bytes of `file` from `offset`.
    File {
        file: &'a File,
        offset: u64,
        len: u64,
    },
}

/// The access scope a request needs, as the token spec writes it.
pub fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}
pub fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

pub struct Client {
    endpoint: Endpoint,
    agent: ureq::Agent,
    credentials: Option<Credentials>,
    scheme: Mutex<Option<Scheme>>,
    tokens: TokenCache,
}

/// A manifest as the registry served it.
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    /// The registry's `Docker-Content-Digest`, if it sent one.
    pub digest: Option<String>,
}

/// What a mount attempt did.
pub enum Mount {
    Mounted,
    /// The registry could not mount and opened an upload instead (at this location).
    Upload(String),
}

impl Client {
    pub fn new(endpoint: Endpoint, credentials: Option<Credentials>) -> Client {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(USER_AGENT)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            // A stalled body (no byte for this long) is a failed transfer.
            .timeout_per_read(Some(Duration::from_secs(60)))
            .max_idle_connections_per_host(8);
        if endpoint.loopback {
            config = config.proxy(None);
        }
        Client {
            endpoint,
            agent: config.build().into(),
            credentials,
            scheme: Mutex::new(None),
            tokens: TokenCache::default(),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint.base, path)
    }

    /// Resolves an upload `Location` (absolute or relative to the registry).
    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else if location.starts_with('/') {
            self.url(location)
        } else {
            self.url(&format!("/{location}"))
        }
    }

    // ---- transport -------------------------------------------------------------------

    /// Sends one request, retrying transient failures. No authentication.
    fn raw(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, String)],
        body: Body,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut builder = Request::builder().method(method).uri(url);
            for (k, v) in headers {
                builder = builder.header(*k, v);
            }
            let result = match body {
                Body::Empty if method == "GET" || method == "HEAD" => self
                    .agent
                    .run(builder.body(()).map_err(|e| self.bad_url(url, e))?),
                Body::Empty => self.agent.run(
                    builder
                        .header("Content-Length", "0")
                        .body(())
                        .map_err(|e| self.bad_url(url, e))?,
                ),
                Body::Bytes(b) => self
                    .agent
                    .run(builder.body(b).map_err(|e| self.bad_url(url, e))?),
                Body::File { file, offset, len } => {
                    let mut reader = FileRange {
                        file,
                        pos: offset,
                        end: offset + len,
                    };
                    let req = builder
                        .header("Content-Length", len.to_string())
                        .body(ureq::SendBody::from_reader(&mut reader))
                        .map_err(|e| self.bad_url(url, e))?;
                    self.agent.run(req)
                }
            };
            match result {
                Ok(resp) => {
                    let status = resp.status();
                    let transient =
                        status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
                    if !transient {
                        return Ok(resp);
                    }
                    if attempt >= ATTEMPTS {
                        return Err(RegistryError::ServerError {
                            registry: self.endpoint.registry.clone(),
                            url: url.to_owned(),
                            status: status.as_u16(),
                            attempts: attempt,
                        });
                    }
                    let wait = retry_after(&resp).unwrap_or_else(|| backoff(attempt));
                    tracing::debug!(
                        url,
                        status = status.as_u16(),
                        ?wait,
                        "transient registry error; retrying"
                    );
                    std::thread::sleep(wait);
                }
                Err(e) => {
                    if !is_transient(&e) || attempt >= ATTEMPTS {
                        return Err(RegistryError::Unreachable {
                            registry: self.endpoint.registry.clone(),
                            url: url.to_owned(),
                            reason: describe(&e),
                        });
                    }
                    tracing::debug!(url, error = %e, "transient connection error; retrying");
                    std::thread::sleep(backoff(attempt));
                }
            }
        }
    }

    fn bad_url(&self, url: &str, e: impl std::fmt::Display) -> RegistryError {
        RegistryError::BadResponse {
            registry: self.endpoint.registry.clone(),
            what: format!("building a request for {url}"),
            reason: e.to_string(),
        }
    }

    /// Sends an authenticated request for `scope`: credentials or a token go along from the
    /// start when the registry's scheme is known; a 401 fetches a fresh token for the
    /// challenge's scope and retries once.
    pub fn send(
        &self,
        method: &'static str,
        url: &str,
        scope: &str,
        headers: &[(&str, String)],
        body: Body,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        self.ensure_scheme()?;
        let mut refreshed = false;
        loop {
            let mut all: Vec<(&str, String)> = headers.to_vec();
            if let Some(auth) = self.authorization(scope)? {
                all.push(("Authorization", auth));
            }
            let resp = self.raw(method, url, &all, body)?;
            if resp.status() != StatusCode::UNAUTHORIZED || refreshed {
                return Ok(resp);
            }
            refreshed = true;
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_challenge);
            match challenge {
                Some(Challenge::Bearer {
                    realm,
                    service,
                    scope: wanted,
                }) => {
                    *self.scheme.lock().expect("scheme lock") =
                        Some(Scheme::Bearer { realm, service });
                    // The registry may want more than we asked for (a mount's source repository).
                    let wanted = wanted.unwrap_or_else(|| scope.to_owned());
                    let token = self.fetch_token(&wanted)?;
                    self.tokens.put(scope, token);
                }
                Some(Challenge::Basic { .. }) if self.credentials.is_some() => {
                    *self.scheme.lock().expect("scheme lock") = Some(Scheme::Basic);
                }
                _ => return Ok(resp),
            }
        }
    }

    /// Learns the registry's auth scheme from `GET /v2/` (once per client).
    fn ensure_scheme(&self) -> Result<(), RegistryError> {
        if self.scheme.lock().expect("scheme lock").is_some() {
            return Ok(());
        }
        let url = self.url("/v2/");
        let resp = self.raw("GET", &url, &[], Body::Empty)?;
        let scheme = match resp.status().as_u16() {
            200..=299 => Scheme::Anonymous,
            401 => match resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_challenge)
            {
                Some(Challenge::Bearer { realm, service, .. }) => Scheme::Bearer { realm, service },
                Some(Challenge::Basic { .. }) => Scheme::Basic,
                None => {
                    return Err(RegistryError::BadResponse {
                        registry: self.endpoint.registry.clone(),
                        what: format!("GET {url}"),
                        reason: "401 without a usable WWW-Authenticate challenge (Basic or Bearer)"
                            .into(),
                    })
                }
            },
            404 => {
                return Err(RegistryError::BadResponse {
                    registry: self.endpoint.registry.clone(),
                    what: format!("GET {url}"),
                    reason: "404: this is not a registry speaking the v2 API; check the address"
                        .into(),
                })
            }
            status => return Err(self.http_error("GET", &url, status, resp)),
        };
        *self.scheme.lock().expect("scheme lock") = Some(scheme);
        Ok(())
    }

    /// The `Authorization` header for `scope` under the known scheme.
    fn authorization(&self, scope: &str) -> Result<Option<String>, RegistryError> {
        let scheme = self.scheme.lock().expect("scheme lock").clone();
        match scheme {
            None | Some(Scheme::Anonymous) => Ok(None),
            Some(Scheme::Basic) => Ok(self.credentials.as_ref().map(Credentials::basic)),
            Some(Scheme::Bearer { .. }) => {
                if let Some(token) = self.tokens.get(scope) {
                    return Ok(Some(format!("Bearer {token}")));
                }
                let token = self.fetch_token(scope)?;
                self.tokens.put(scope, token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// Asks the token server for a token covering `scope` (empty: just the login).
    fn fetch_token(&self, scope: &str) -> Result<String, RegistryError> {
        let Some(Scheme::Bearer { realm, service }) =
            self.scheme.lock().expect("scheme lock").clone()
        else {
            unreachable!("fetch_token is only called under the Bearer scheme");
        };
        let scope = (!scope.is_empty()).then_some(scope);
        let url = token_url(&realm, service.as_deref(), scope);
        let mut headers = Vec::new();
        if let Some(c) = &self.credentials {
            headers.push(("Authorization", c.basic()));
        }
        let mut resp = self.raw("GET", &url, &headers, Body::Empty)?;
        match resp.status().as_u16() {
            200 => {}
            401 | 403 if self.credentials.is_some() => {
                return Err(RegistryError::BadCredentials {
                    registry: self.endpoint.registry.clone(),
                })
            }
            status => {
                return Err(RegistryError::Unauthorized {
                    registry: self.endpoint.registry.clone(),
                    repository: scope.unwrap_or("").to_owned(),
                    detail: format!(
                        "the token server {realm} answered {status}: {}",
                        body_text(&mut resp)
                    ),
                })
            }
        }
        let bad = |reason: String| RegistryError::BadResponse {
            registry: self.endpoint.registry.clone(),
            what: format!("token from {realm}"),
            reason,
        };
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST)
            .read_to_vec()
            .map_err(|e| bad(e.to_string()))?;
        let parsed: TokenResponse = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("not a token response: {e}")))?;
        parsed
            .into_token()
            .ok_or_else(|| bad("the answer holds no token".into()))
    }

    /// Checks `credentials` as `docker login` does: against `/v2/` under Basic, against the
    /// token server under Bearer.
    pub fn verify_login(&self) -> Result<(), RegistryError> {
        self.ensure_scheme()?;
        let scheme = self.scheme.lock().expect("scheme lock").clone();
        match scheme {
            Some(Scheme::Bearer { .. }) => self.fetch_token("").map(drop),
            Some(Scheme::Basic) => {
                let url = self.url("/v2/");
                let auth = self
                    .credentials
                    .as_ref()
                    .map(Credentials::basic)
                    .unwrap_or_default();
                let resp = self.raw("GET", &url, &[("Authorization", auth)], Body::Empty)?;
                match resp.status().as_u16() {
                    200..=299 => Ok(()),
                    401 | 403 => Err(RegistryError::BadCredentials {
                        registry: self.endpoint.registry.clone(),
                    }),
                    status => Err(self.http_error("GET", &url, status, resp)),
                }
            }
            // A registry without authentication accepts any login, as with docker.
            _ => Ok(()),
        }
    }

    // ---- typed calls -----------------------------------------------------------------

    /// `GET /v2/<repo>/manifests/<tag|digest>` with every manifest type accepted.
    pub fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
        display: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let url = self.url(&format!("/v2/{repository}/manifests/{reference}"));
        let accept = media_type::ALL_MANIFESTS.join(", ");
        let mut resp = self.send(
            "GET",
            &url,
            &pull_scope(repository),
            &[("Accept", accept)],
            Body::Empty,
        )?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(self.classify("GET", &url, repository, display, status, resp, "pull"));
        }
        let content_type = header(&resp, "content-type");
        let digest = header(&resp, "docker-content-digest");
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST)
            .read_to_vec()
            .map_err(|e| RegistryError::BadResponse {
                registry: self.endpoint.registry.clone(),
                what: format!("manifest of {display}"),
                reason: format!("reading the body failed: {e}"),
            })?;
        Ok(FetchedManifest {
            bytes,
            content_type,
            digest,
        })
    }

    /// `GET /v2/<repo>/blobs/<digest>`, from byte `offset` on (a Range request) if non-zero.
    /// Returns the body and whether the registry honoured the range.
    pub fn get_blob(
        &self,
        repository: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<(ureq::Body, bool), RegistryError> {
        let url = self.url(&format!("/v2/{repository}/blobs/{digest}"));
        let mut headers = Vec::new();
        if offset > 0 {
            headers.push(("Range", format!("bytes={offset}-")));
        }
        let resp = self.send("GET", &url, &pull_scope(repository), &headers, Body::Empty)?;
        match resp.status().as_u16() {
            200 => Ok((resp.into_body(), false)),
            206 => Ok((resp.into_body(), true)),
            status => Err(self.classify(
                "GET",
                &url,
                repository,
                &format!("{repository}@{digest}"),
                status,
                resp,
                "pull",
            )),
        }
    }

    /// `HEAD /v2/<repo>/blobs/<digest>`: whether the repository has the blob.
    pub fn blob_exists(
        &self,
        repository: &str,
        digest: &Digest,
        scope: &str,
    ) -> Result<bool, RegistryError> {
        let url = self.url(&format!("/v2/{repository}/blobs/{digest}"));
        let resp = self.send("HEAD", &url, scope, &[], Body::Empty)?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            status => {
                Err(self.classify("HEAD", &url, repository, repository, status, resp, "push"))
            }
        }
    }

    /// Cross-repository mount: `POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<other>`.
    pub fn mount_blob(
        &self,
        repository: &str,
        digest: &Digest,
        from: &str,
    ) -> Result<Mount, RegistryError> {
        let url = self.url(&format!(
            "/v2/{repository}/blobs/uploads/?mount={digest}&from={from}"
        ));
        let scope = format!("{} {}", push_scope(repository), pull_scope(from));
        let resp = self.send("POST", &url, &scope, &[], Body::Empty)?;
        match resp.status().as_u16() {
            201 => Ok(Mount::Mounted),
            202 => Ok(Mount::Upload(self.location(&resp, &url)?)),
            status => {
                Err(self.classify("POST", &url, repository, repository, status, resp, "push"))
            }
        }
    }

    /// Opens an upload session: `POST /v2/<repo>/blobs/uploads/`; returns its location.
    pub fn start_upload(&self, repository: &str) -> Result<String, RegistryError> {
        let url = self.url(&format!("/v2/{repository}/blobs/uploads/"));
        let resp = self.send("POST", &url, &push_scope(repository), &[], Body::Empty)?;
        match resp.status().as_u16() {
            202 => self.location(&resp, &url),
            status => {
                Err(self.classify("POST", &url, repository, repository, status, resp, "push"))
            }
        }
    }

    /// Sends one chunk of an upload (`PATCH`); returns the next location.
    pub fn upload_chunk(
        &self,
        repository: &str,
        location: &str,
        file: &File,
        offset: u64,
        len: u64,
    ) -> Result<String, RegistryError> {
        let url = self.absolute(location);
        let headers = [
            ("Content-Type", "application/octet-stream".to_owned()),
            ("Content-Range", format!("{}-{}", offset, offset + len - 1)),
        ];
        let resp = self.send(
            "PATCH",
            &url,
            &push_scope(repository),
            &headers,
            Body::File { file, offset, len },
        )?;
        match resp.status().as_u16() {
            202 => self.location(&resp, &url),
            status => {
                Err(self.classify("PATCH", &url, repository, repository, status, resp, "push"))
            }
        }
    }

    /// Completes an upload: `PUT <location>&digest=<digest>` with the remaining bytes
    /// (all of them for a monolithic upload, none after chunks).
    pub fn finish_upload(
        &self,
        repository: &str,
        location: &str,
        digest: &Digest,
        body: Body,
    ) -> Result<(), RegistryError> {
        let loc = self.absolute(location);
        let sep = if loc.contains('?') { '&' } else { '?' };
        let url = format!("{loc}{sep}digest={digest}");
        let headers = [("Content-Type", "application/octet-stream".to_owned())];
        let resp = self.send("PUT", &url, &push_scope(repository), &headers, body)?;
        match resp.status().as_u16() {
            201 | 204 => Ok(()),
            status => Err(self.classify("PUT", &url, repository, repository, status, resp, "push")),
        }
    }

    /// `PUT /v2/<repo>/manifests/<tag>`; returns the digest the registry computed.
    pub fn put_manifest(
        &self,
        repository: &str,
        tag: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<Option<String>, RegistryError> {
        let url = self.url(&format!("/v2/{repository}/manifests/{tag}"));
        let headers = [("Content-Type", content_type.to_owned())];
        let resp = self.send(
            "PUT",
            &url,
            &push_scope(repository),
            &headers,
            Body::Bytes(bytes),
        )?;
        match resp.status().as_u16() {
            200..=299 => Ok(header(&resp, "docker-content-digest")),
            status => Err(self.classify(
                "PUT",
                &url,
                repository,
                &format!("{repository}:{tag}"),
                status,
                resp,
                "push",
            )),
        }
    }

    fn location(&self, resp: &Response<ureq::Body>, url: &str) -> Result<String, RegistryError> {
        header(resp, "location").ok_or_else(|| RegistryError::BadResponse {
            registry: self.endpoint.registry.clone(),
            what: format!("POST {url}"),
            reason: "the upload answer has no Location header".into(),
        })
    }

    /// Turns an unexpected status into the error a user can act on.
    #[allow(clippy::too_many_arguments)]
    fn classify(
        &self,
        method: &'static str,
        url: &str,
        repository: &str,
        display: &str,
        status: u16,
        mut resp: Response<ureq::Body>,
        action: &'static str,
    ) -> RegistryError {
        let registry = self.endpoint.registry.clone();
        let text = body_text(&mut resp);
        let (code, message) = error_code(&text);
        match (status, code.as_deref()) {
            (404, Some("MANIFEST_UNKNOWN")) => RegistryError::ManifestUnknown {
                reference: display.to_owned(),
            },
            (404, Some("NAME_UNKNOWN")) => RegistryError::RepositoryUnknown {
                registry,
                repository: repository.to_owned(),
            },
            (404, Some("BLOB_UNKNOWN")) => {
                match url.rsplit('/').next().and_then(|d| d.parse().ok()) {
                    Some(digest) => RegistryError::BlobUnknown {
                        repository: repository.to_owned(),
                        digest,
                    },
                    None => RegistryError::Http {
                        registry,
                        method,
                        url: url.to_owned(),
                        status,
                        body: text,
                    },
                }
            }
            (404, None) if method == "GET" && url.contains("/manifests/") => {
                RegistryError::ManifestUnknown {
                    reference: display.to_owned(),
                }
            }
            (401, _) if self.credentials.is_some() => RegistryError::CredentialsRejected {
                registry,
                repository: repository.to_owned(),
            },
            (401, _) => RegistryError::Unauthorized {
                registry,
                repository: repository.to_owned(),
                detail: message.unwrap_or_else(|| "authentication required".into()),
            },
            (403, _) => RegistryError::Denied {
                registry,
                repository: repository.to_owned(),
                action,
                detail: message.unwrap_or_else(|| "forbidden".into()),
            },
            _ => RegistryError::Http {
                registry,
                method,
                url: url.to_owned(),
                status,
                body: text,
            },
        }
    }

    fn http_error(
        &self,
        method: &'static str,
        url: &str,
        status: u16,
        mut resp: Response<ureq::Body>,
    ) -> RegistryError {
        RegistryError::Http {
            registry: self.endpoint.registry.clone(),
            method,
            url: url.to_owned(),
            status,
            body: body_text(&mut resp),
        }
    }
}

fn header(resp: &Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The first 512 bytes of an error body, on one line.
fn body_text(resp: &mut Response<ureq::Body>) -> String {
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).replace(['\n', '\r'], " ");
    text.trim().to_owned()
}

/// The distribution API's `{"errors":[{"code":…,"message":…}]}`.
fn error_code(body: &str) -> (Option<String>, Option<String>) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let first = &v["errors"][0];
    (
        first["code"].as_str().map(str::to_owned),
        first["message"].as_str().map(str::to_owned),
    )
}

fn is_transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Timeout(_)
            | ureq::Error::Protocol(_)
    )
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

fn backoff(attempt: u32) -> Duration {
    (FIRST_BACKOFF * 2u32.saturating_pow(attempt - 1)).min(MAX_BACKOFF)
}

fn retry_after(resp: &Response<ureq::Body>) -> Option<Duration> {
    let secs: u64 = header(resp, "retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_BACKOFF * 2))
}

/// A byte range of a file as a reader (for request bodies that may be sent again).
struct FileRange<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for FileRange<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file is shorter than its blob size",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes() {
        let (c, m) = error_code(
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#,
        );
        assert_eq!(
            (c.as_deref(), m.as_deref()),
            (Some("MANIFEST_UNKNOWN"), Some("manifest unknown"))
        );
        assert_eq!(error_code("<html>"), (None, None));
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert_eq!(backoff(20), MAX_BACKOFF);
    }
}
