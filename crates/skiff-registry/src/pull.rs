//! `skiff pull`: fetch an image's manifest (choosing the platform's manifest from an index),
//! its config and its layers, into the content store and the layer store.
//!
//! - Every byte is verified: manifests against the pinned digest or the registry's
//!   `Docker-Content-Digest`, blobs against their descriptor's digest and size while they
//!   stream into the store, unpacked layers against the config's diff ids.
//! - Up to [`DEFAULT_PARALLEL`] layers download at once; each layer is unpacked while it
//!   downloads (the bytes are teed to the unpacker), so unpacking overlaps the download.
//! - Layers already unpacked are not fetched again; a broken connection resumes with a
//!   Range request; connection errors, 5xx and 429 are retried with backoff (see
//!   [`crate::client`]).
//! - The manifest, the config and the tag are written only after every layer verified; if
//!   anything fails, the blobs and layers this pull added are removed again, so a failed
//!   pull leaves nothing behind.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use oci_spec::image::ImageManifest;
use skiff_image::digest::Digest;
use skiff_image::manifest::{parse_manifest, ImageInfo, ParsedManifest};
use skiff_image::store::StoreError;
use skiff_image::{ImageStore, Reference};

use crate::client::Client;
use crate::platform::{self, Platform};
use crate::progress::{Event, Progress, Status};
use crate::{credentials, sources, RegistryConfig, RegistryError};

/// Layers downloaded at once.
pub const DEFAULT_PARALLEL: usize = 3;
const CHUNK: usize = 256 * 1024;
/// Chunks buffered between a download and its unpacker (4 MiB). A deeper buffer (32 MiB)
/// let the download run ahead but measured no faster, for 15 MB more memory.
const TEE_DEPTH: usize = 16;
/// Times a broken layer download is resumed.
const RESUMES: u32 = 3;
/// Configs are small JSON documents.
const MAX_CONFIG: u64 = 16 << 20;

#[derive(Clone, Debug)]
pub struct PullOptions {
    /// The platform to pick from a multi-platform index (default: the host's).
    pub platform: Option<Platform>,
    /// Layers downloaded at once (at least 1).
    pub parallel: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: None,
            parallel: DEFAULT_PARALLEL,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PullOutcome {
    /// What the reference names on the registry: an index's digest for a multi-platform
    /// image, else the manifest's (docker's `Digest:` line).
    pub digest: Digest,
    /// The image manifest stored and tagged.
    pub manifest: Digest,
    /// The config digest (the image id).
    pub image_id: Digest,
    /// False when the store had the image already.
    pub downloaded: bool,
}

/// Pulls `reference` into `store`.
pub fn pull(
    store: &ImageStore,
    config: &RegistryConfig,
    reference: &Reference,
    options: &PullOptions,
    progress: &dyn Progress,
) -> Result<PullOutcome, RegistryError> {
    let credentials = credentials::lookup(config, reference.domain())?;
    let client = Client::new(config.endpoint(reference.domain()), credentials);
    let display = reference.familiar();
    let repository = reference.path();
    let wanted = match (reference.digest(), reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => skiff_image::reference::DEFAULT_TAG.to_owned(),
    };
    // The manifest the reference names, and the platform's manifest if that is an index.
    let top = client.get_manifest(repository, &wanted, &display)?;
    // Like docker, announce the pull once the registry knows the image.
    progress.event(Event::PullStart {
        tag: &wanted,
        repository,
    });
    let header_digest: Option<Digest> = top.digest.as_deref().and_then(|h| h.parse().ok());
    let digest = verify_manifest(
        &top.bytes,
        reference.digest().or(header_digest.as_ref()),
        &display,
        "manifest",
    )?;
    let (manifest_digest, manifest_bytes, manifest) =
        match parse(&top.bytes, top.content_type.as_deref(), &display)? {
            ParsedManifest::Image(m) => (digest.clone(), top.bytes, m),
            ParsedManifest::Index(index) => {
                let platform = options.platform.clone().unwrap_or_else(Platform::host);
                let entry = platform::select(&index, &platform, &display)?;
                let child: Digest = entry.digest().as_ref().parse().map_err(
                    |e: skiff_image::digest::DigestError| RegistryError::BadResponse {
                        registry: reference.domain().to_owned(),
                        what: format!("index of {display}"),
                        reason: e.to_string(),
                    },
                )?;
                let fetched = client.get_manifest(repository, &child.to_string(), &display)?;
                verify_manifest(
                    &fetched.bytes,
                    Some(&child),
                    &display,
                    &format!("{platform} manifest"),
                )?;
                match parse(&fetched.bytes, fetched.content_type.as_deref(), &display)? {
                    ParsedManifest::Image(m) => (child, fetched.bytes, m),
                    ParsedManifest::Index(_) => {
                        return Err(RegistryError::Unsupported {
                            reference: display,
                            what: format!("the {platform} entry"),
                            media_type: "nested index".into(),
                        })
                    }
                }
            }
        };

    let config_bytes = fetch_config(store, &client, repository, &manifest, &display)?;
    let info = ImageInfo::new(
        manifest_digest.clone(),
        ImageManifest::clone(&manifest),
        &config_bytes,
    )
    .map_err(|source| RegistryError::Manifest {
        reference: display.clone(),
        source,
    })?;
    let outcome = |downloaded| PullOutcome {
        digest: digest.clone(),
        manifest: manifest_digest.clone(),
        image_id: info.config_digest.clone(),
        downloaded,
    };

    let tagged = store.index.resolve(reference).ok().flatten();
    let complete = store.content.has(&manifest_digest)
        && info.chain_ids.iter().all(|c| store.layers.has(c))
        && info.layer_digests.iter().all(|b| store.content.has(b));
    if complete && (tagged.as_ref() == Some(&manifest_digest) || reference.tag().is_none()) {
        return Ok(outcome(false));
    }

    let rollback = Rollback {
        store,
        blobs: Mutex::new(Vec::new()),
        layers: Mutex::new(Vec::new()),
        keep: false,
    };
    let jobs = plan(store, &info, &manifest);
    for job in &jobs {
        let status = if job.needs_blob || job.needs_unpack {
            Status::PullingFsLayer
        } else {
            Status::AlreadyExists
        };
        progress.event(Event::Layer {
            digest: &job.blob,
            status,
        });
    }
    let context = Context {
        store,
        client: &client,
        repository,
        display: &display,
        progress,
        rollback: &rollback,
    };
    context.run(&jobs, options.parallel.max(1))?;

    // Everything verified: now the image becomes visible.
    let store_err = |source| RegistryError::Store {
        reference: display.clone(),
        source,
    };
    let mut rollback = rollback;
    for (blob, bytes) in [
        (&info.config_digest, &config_bytes),
        (&manifest_digest, &manifest_bytes),
    ] {
        if !store.content.has(blob) {
            store.content.put(bytes).map_err(store_err)?;
            rollback
                .blobs
                .get_mut()
                .expect("rollback lock")
                .push(blob.clone());
        }
    }
    match reference.tag() {
        Some(_) => store.index.tag(reference, &manifest_digest).map(drop),
        None => store.index.add_image(&manifest_digest),
    }
    .map_err(store_err)?;
    rollback.keep = true;
    for blob in info.layer_digests.iter().chain([&info.config_digest]) {
        sources::record(store.root(), blob, reference.domain(), repository);
    }
    Ok(outcome(true))
}

fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    display: &str,
) -> Result<ParsedManifest, RegistryError> {
    // `application/json; charset=utf-8` and friends: only the type matters.
    let media_type = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| !c.is_empty());
    parse_manifest(bytes, media_type).map_err(|source| RegistryError::Manifest {
        reference: display.to_owned(),
        source,
    })
}

/// Checks a manifest's bytes against the digest they should have (if known); returns their digest.
fn verify_manifest(
    bytes: &[u8],
    expected: Option<&Digest>,
    display: &str,
    what: &str,
) -> Result<Digest, RegistryError> {
    let actual = Digest::of(bytes);
    match expected {
        Some(expected) if *expected != actual => Err(RegistryError::DigestMismatch {
            reference: display.to_owned(),
            what: what.to_owned(),
            expected: expected.clone(),
            actual,
        }),
        _ => Ok(actual),
    }
}

/// The config blob, from the store if present, else from the registry (verified, kept in
/// memory until the pull succeeds).
fn fetch_config(
    store: &ImageStore,
    client: &Client,
    repository: &str,
    manifest: &ImageManifest,
    display: &str,
) -> Result<Vec<u8>, RegistryError> {
    let digest: Digest = manifest.config().digest().as_ref().parse().map_err(
        |e: skiff_image::digest::DigestError| RegistryError::BadResponse {
            registry: client.endpoint().registry.clone(),
            what: format!("manifest of {display}"),
            reason: e.to_string(),
        },
    )?;
    if store.content.has(&digest) {
        if let Ok(bytes) = store.content.read(&digest) {
            return Ok(bytes);
        }
    }
    // Small: a broken transfer is simply fetched again.
    let mut attempt = 0;
    let bytes = loop {
        let (body, _) = client.get_blob(repository, &digest, 0)?;
        match body.into_with_config().limit(MAX_CONFIG).read_to_vec() {
            Ok(bytes) => break bytes,
            Err(e) if attempt < RESUMES => {
                attempt += 1;
                tracing::debug!(%digest, error = %e, "config download broke; fetching it again");
            }
            Err(e) => {
                return Err(RegistryError::Unreachable {
                    registry: client.endpoint().registry.clone(),
                    url: format!("{}/v2/{repository}/blobs/{digest}", client.endpoint().base),
                    reason: format!("the config download broke off {} times: {e}", attempt + 1),
                })
            }
        }
    };
    verify_manifest(&bytes, Some(&digest), display, "config")?;
    Ok(bytes)
}

/// One layer's work.
struct Job {
    blob: Digest,
    size: u64,
    chain_id: Digest,
    parent: Option<Digest>,
    diff_id: Digest,
    needs_blob: bool,
    needs_unpack: bool,
    /// The same blob appears earlier in the image: run after the others, from the store.
    duplicate: bool,
}

fn plan(store: &ImageStore, info: &ImageInfo, manifest: &ImageManifest) -> Vec<Job> {
    let mut seen = HashSet::new();
    let mut parent = None;
    let mut jobs = Vec::new();
    for (i, (blob, (diff_id, chain_id))) in info
        .layer_digests
        .iter()
        .zip(info.diff_ids.iter().zip(&info.chain_ids))
        .enumerate()
    {
        let duplicate = !seen.insert(blob.clone());
        jobs.push(Job {
            blob: blob.clone(),
            size: manifest.layers()[i].size(),
            chain_id: chain_id.clone(),
            parent: parent.clone(),
            diff_id: diff_id.clone(),
            needs_blob: !duplicate && !store.content.has(blob),
            needs_unpack: !store.layers.has(chain_id),
            duplicate,
        });
        parent = Some(chain_id.clone());
    }
    jobs
}

/// Removes what a failed pull added.
struct Rollback<'a> {
    store: &'a ImageStore,
    blobs: Mutex<Vec<Digest>>,
    layers: Mutex<Vec<Digest>>,
    keep: bool,
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // A concurrent pull may have finished an image sharing these layers meanwhile;
        // what a stored image uses stays.
        let (used_blobs, used_layers) = in_use(self.store);
        for chain_id in self.layers.get_mut().expect("rollback lock").iter() {
            if used_layers.contains(chain_id) {
                continue;
            }
            if let Err(e) = self.store.layers.remove(chain_id) {
                tracing::warn!("removing a layer of a failed pull: {e}");
            }
        }
        for blob in self.blobs.get_mut().expect("rollback lock").iter() {
            if used_blobs.contains(blob) {
                continue;
            }
            if let Err(e) = self.store.content.delete(blob) {
                tracing::warn!("removing a blob of a failed pull: {e}");
            }
        }
    }
}

/// The blobs and unpacked layers of every image in the store's index.
fn in_use(store: &ImageStore) -> (HashSet<Digest>, HashSet<Digest>) {
    let mut blobs = HashSet::new();
    let mut layers = HashSet::new();
    let images = store.index.load().map(|d| d.images).unwrap_or_default();
    for manifest in images {
        if let Ok(image) = store.image(&manifest) {
            blobs.extend(image.layer_digests.iter().cloned());
            blobs.insert(image.config_digest.clone());
            layers.extend(image.chain_ids.iter().cloned());
        }
        blobs.insert(manifest);
    }
    (blobs, layers)
}

struct Context<'a> {
    store: &'a ImageStore,
    client: &'a Client,
    repository: &'a str,
    display: &'a str,
    progress: &'a dyn Progress,
    rollback: &'a Rollback<'a>,
}

impl Context<'_> {
    /// Runs the jobs on `parallel` scoped threads (all joined before returning), then the
    /// duplicates; the first real failure stops the rest.
    fn run(&self, jobs: &[Job], parallel: usize) -> Result<(), RegistryError> {
        let (first, later): (Vec<&Job>, Vec<&Job>) = jobs
            .iter()
            .filter(|j| j.needs_blob || j.needs_unpack)
            .partition(|j| !j.duplicate);
        let next = AtomicUsize::new(0);
        let cancel = AtomicBool::new(false);
        let failure: Mutex<Option<RegistryError>> = Mutex::new(None);
        let workers = parallel.min(first.len());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    if cancel.load(Ordering::Relaxed) {
                        return;
                    }
                    let Some(job) = first.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    if let Err(e) = self.job(job, &cancel) {
                        cancel.store(true, Ordering::Relaxed);
                        let mut slot = failure.lock().expect("failure lock");
                        if slot.is_none() || matches!(*slot, Some(RegistryError::Cancelled { .. }))
                        {
                            *slot = Some(e);
                        }
                    }
                });
            }
        });
        if let Some(e) = failure.into_inner().expect("failure lock") {
            return Err(e);
        }
        for job in later {
            self.job(job, &cancel)?;
        }
        Ok(())
    }

    fn job(&self, job: &Job, cancel: &AtomicBool) -> Result<(), RegistryError> {
        match (job.needs_blob, job.needs_unpack) {
            (false, false) => {}
            (false, true) => {
                let file = self
                    .store
                    .content
                    .open(&job.blob)
                    .map_err(|source| self.store_error(source))?;
                self.unpack(job, file)?;
            }
            (true, false) => self.download(job, None, cancel)?,
            (true, true) => {
                let (tx, rx) = sync_channel(TEE_DEPTH);
                std::thread::scope(|scope| {
                    let unpacker = scope.spawn(move || self.unpack(job, ChannelReader::new(rx)));
                    let downloaded = self.download(job, Some(tx), cancel);
                    let unpacked = unpacker.join().expect("layer unpack thread panicked");
                    // The download's error explains an unpack that was cut off; a download
                    // that stopped because the unpacker gave up is explained by the unpacker.
                    match (downloaded, unpacked) {
                        (Err(RegistryError::Cancelled { .. }), Err(u)) => Err(u),
                        (Err(d), _) => Err(d),
                        (Ok(()), u) => u,
                    }
                })?;
            }
        }
        self.progress.event(Event::Layer {
            digest: &job.blob,
            status: Status::PullComplete,
        });
        Ok(())
    }

    fn unpack(&self, job: &Job, blob: impl Read + Send) -> Result<(), RegistryError> {
        self.store
            .layers
            .apply(&job.chain_id, job.parent.as_ref(), Some(&job.diff_id), blob)
            .map_err(|source| RegistryError::Layer {
                reference: self.display.to_owned(),
                source,
            })?;
        self.rollback
            .layers
            .lock()
            .expect("rollback lock")
            .push(job.chain_id.clone());
        Ok(())
    }

    fn store_error(&self, source: StoreError) -> RegistryError {
        RegistryError::Store {
            reference: self.display.to_owned(),
            source,
        }
    }

    /// Streams a layer blob into the store (and to `tee`), verifying size and digest;
    /// resumes a broken transfer with a Range request.
    fn download(
        &self,
        job: &Job,
        tee: Option<SyncSender<io::Result<Vec<u8>>>>,
        cancel: &AtomicBool,
    ) -> Result<(), RegistryError> {
        let result = self.download_verified(job, tee.as_ref(), cancel);
        if let (Err(e), Some(tee)) = (&result, &tee) {
            // Tell the unpacker the stream is bad, so it never takes a cut-off tar for whole.
            let _ = tee.send(Err(io::Error::other(format!(
                "the layer download failed: {e}"
            ))));
        }
        result
    }

    fn download_verified(
        &self,
        job: &Job,
        tee: Option<&SyncSender<io::Result<Vec<u8>>>>,
        cancel: &AtomicBool,
    ) -> Result<(), RegistryError> {
        let mut writer = self
            .store
            .content
            .writer()
            .map_err(|s| self.store_error(s))?;
        let mut resumes = 0;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let offset = writer.size();
            let (body, ranged) = self.client.get_blob(self.repository, &job.blob, offset)?;
            let mut reader = body.into_reader();
            if offset > 0 && !ranged {
                // The registry ignored the Range: skip what we have.
                io::copy(&mut (&mut reader).take(offset), &mut io::sink())
                    .map_err(|e| self.broken(job, offset, e))?;
            }
            match self.copy_body(job, &mut reader, &mut writer, tee, &mut buf, cancel) {
                Ok(()) => break,
                Err(CopyFailure::Network(e)) if resumes < RESUMES => {
                    resumes += 1;
                    tracing::debug!(blob = %job.blob, at = writer.size(), error = %e, "layer download broke; resuming");
                }
                Err(CopyFailure::Network(e)) => return Err(self.broken(job, writer.size(), e)),
                Err(CopyFailure::Fatal(e)) => return Err(e),
            }
        }
        if writer.size() != job.size {
            return Err(RegistryError::SizeMismatch {
                reference: self.display.to_owned(),
                digest: job.blob.clone(),
                expected: job.size,
                actual: writer.size(),
            });
        }
        match writer.commit(Some(&job.blob), Some(job.size)) {
            Ok(_) => {}
            Err(StoreError::DigestMismatch { expected, actual }) => {
                return Err(RegistryError::DigestMismatch {
                    reference: self.display.to_owned(),
                    what: format!("layer {}", expected.short()),
                    expected,
                    actual,
                })
            }
            Err(source) => return Err(self.store_error(source)),
        }
        self.rollback
            .blobs
            .lock()
            .expect("rollback lock")
            .push(job.blob.clone());
        self.progress.event(Event::Layer {
            digest: &job.blob,
            status: Status::DownloadComplete,
        });
        Ok(())
    }

    fn broken(&self, job: &Job, at: u64, e: io::Error) -> RegistryError {
        RegistryError::Unreachable {
            registry: self.client.endpoint().registry.clone(),
            url: format!(
                "{}/v2/{}/blobs/{}",
                self.client.endpoint().base,
                self.repository,
                job.blob
            ),
            reason: format!("the download broke off at byte {at} of {}: {e}", job.size),
        }
    }

    fn copy_body(
        &self,
        job: &Job,
        reader: &mut impl Read,
        writer: &mut skiff_image::store::BlobWriter,
        tee: Option<&SyncSender<io::Result<Vec<u8>>>>,
        buf: &mut [u8],
        cancel: &AtomicBool,
    ) -> Result<(), CopyFailure> {
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(CopyFailure::Fatal(RegistryError::Cancelled {
                    reference: self.display.to_owned(),
                }));
            }
            let n = match reader.read(buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CopyFailure::Network(e)),
            };
            if writer.size() + n as u64 > job.size {
                // More than the manifest says: never store or unpack it.
                return Err(CopyFailure::Fatal(RegistryError::SizeMismatch {
                    reference: self.display.to_owned(),
                    digest: job.blob.clone(),
                    expected: job.size,
                    actual: writer.size() + n as u64,
                }));
            }
            writer.write_all(&buf[..n]).map_err(|e| {
                CopyFailure::Fatal(self.store_error(StoreError::WriteBlob {
                    dir: self.store.root().join("blobs"),
                    source: e,
                }))
            })?;
            if let Some(tee) = tee {
                if tee.send(Ok(buf[..n].to_vec())).is_err() {
                    // The unpacker failed; its error is reported.
                    return Err(CopyFailure::Fatal(RegistryError::Cancelled {
                        reference: self.display.to_owned(),
                    }));
                }
            }
            self.progress.event(Event::Layer {
                digest: &job.blob,
                status: Status::Downloading {
                    done: writer.size(),
                    total: job.size,
                },
            });
        }
    }
}

enum CopyFailure {
    /// The connection broke: resumable.
    Network(io::Error),
    Fatal(RegistryError),
}

/// The unpacker's view of a download: the chunks the downloader sends, until it hangs up
/// (after the blob verified) or sends an error.
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl ChannelReader {
    fn new(rx: Receiver<io::Result<Vec<u8>>>) -> ChannelReader {
        ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
