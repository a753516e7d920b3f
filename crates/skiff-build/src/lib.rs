//! skiff-build: the Dockerfile language and build-context filtering for `skiff build`.
//!
//! - [`dockerfile`]: a parser faithful to Docker's (directives, comments, continuations,
//!   here-documents, JSON and shell forms, every instruction into a typed AST with Docker's
//!   validations) and the variable expansion the builder applies to instruction words.
//! - [`dockerignore`]: `.dockerignore` parsing and matching with Docker's rules.
//!
//! The builder itself (running steps, caching, committing layers) builds on these.

pub mod dockerfile;
pub mod dockerignore;
