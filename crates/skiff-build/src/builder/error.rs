//! Everything a build can fail on, each with what failed, on what, and what to do.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use crate::dockerfile::{ExpandError, ParseError, ValueError};
use crate::dockerignore::DockerIgnoreError;

#[derive(Debug, Error)]
pub enum BuildError {
    #[error("failed to parse the Dockerfile {path}: {source}")]
    Parse { path: String, source: ParseError },
    #[error("Dockerfile line {line}: {source}")]
    Expand { line: usize, source: ExpandError },
    #[error("Dockerfile line {line}: {source}")]
    Value { line: usize, source: ValueError },
    #[error("Dockerfile line {line}: {message}")]
    Instruction { line: usize, message: String },
    #[error("failed to reach build target {0}: no stage of that name in the Dockerfile")]
    NoTarget(String),
    #[error("{0}")]
    Ignore(#[from] DockerIgnoreError),
    #[error("unable to prepare the build context {path}: {source}")]
    Context { path: PathBuf, source: io::Error },
    #[error("COPY failed: file not found in build context or excluded by .dockerignore: stat {0}: file does not exist")]
    SourceMissing(String),
    #[error("COPY failed: no source files were specified matching {0:?} (check the path and .dockerignore)")]
    NoMatch(String),
    #[error("COPY failed: forbidden path outside the build context: {0}")]
    OutsideContext(String),
    #[error("When using COPY with more than one source file, the destination must be a directory and end with a /")]
    DestNotDir,
    #[error("pulling {reference} for the build failed: {message} (check the name, `skiff login`, or import the image with `skiff import`/`skiff load`)")]
    Pull { reference: String, message: String },
    #[error("invalid reference format {reference:?}: {reason}")]
    BadReference { reference: String, reason: String },
    #[error(transparent)]
    Image(#[from] skiff_image::ImageError),
    #[error(transparent)]
    Store(#[from] skiff_image::store::StoreError),
    #[error(transparent)]
    Layer(#[from] skiff_image::layer::LayerError),
    #[error("writing a layer from {path}: {source}")]
    Diff {
        path: PathBuf,
        source: skiff_image::layer::diff::DiffError,
    },
    #[error("copying into the image at {dest}: {source}")]
    Apply {
        dest: String,
        source: skiff_image::layer::ApplyError,
    },
    #[error(transparent)]
    Overlay(#[from] skiff_image::overlay::OverlayError),
    #[error("preparing the RUN container: {0}")]
    Spec(#[from] skiff_engine::spec::SpecError),
    #[error("unable to convert uid/gid chown string to host mapping: {0}")]
    Chown(String),
    #[error("running the RUN container failed: {0}")]
    Runtime(#[from] skiff_runtime::Error),
    #[error("The command '{command}' returned a non-zero code: {code}")]
    RunFailed { command: String, code: i32 },
    #[error("ADD failed: downloading {url}: {message}")]
    Download { url: String, message: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("the image config {what} is malformed: {message}")]
    BadConfig { what: String, message: String },
}

impl BuildError {
    /// The exit code `skiff build` ends with: the failing RUN's code, 1 otherwise (docker's).
    pub fn exit_code(&self) -> i32 {
        match self {
            BuildError::RunFailed { code, .. } => *code,
            _ => 1,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> BuildError {
        let path = path.into();
        move |source| BuildError::Io {
            action,
            path,
            source,
        }
    }
}
