//! skiff-build: `skiff build` — the Dockerfile language, build-context filtering and the
//! image builder.
//!
//! - [`dockerfile`]: a parser faithful to Docker's (directives, comments, continuations,
//!   here-documents, JSON and shell forms, every instruction into a typed AST with Docker's
//!   validations) and the variable expansion the builder applies to instruction words.
//! - [`dockerignore`]: `.dockerignore` parsing and matching with Docker's rules.
//! - [`builder`]: the builder (Docker's classic builder semantics): stages, steps, the
//!   per-step cache under `<root>/build-cache/`, RUN in a container, COPY/ADD without one,
//!   reproducible images.
//!
//! Not there yet: ADD of git URLs and `--checksum`, RUN `--mount`/`--security`, COPY
//! `--parents`/`--exclude` (refused with a message), `--link` (accepted, no effect), bzip2
//! and xz archives in ADD (copied as files), `--platform` (ignored).

pub mod builder;
pub mod dockerfile;
pub mod dockerignore;
