//! Registry operations on the engine's image store: pull, push, and the pull-on-demand of
//! `run` when an image is missing (as `docker run` does).

use std::io::IsTerminal;

use skiff_image::digest::Digest;
use skiff_image::Reference;
use skiff_registry::progress::Progress;
use skiff_registry::{
    PullOptions, PullOutcome, PushOptions, PushOutcome, RegistryConfig, TextProgress,
};

use crate::{Engine, EngineError};

impl Engine {
    /// How this state root reaches registries (`<root>/registries.json`, the environment).
    pub fn registry_config(&self) -> Result<RegistryConfig, EngineError> {
        Ok(RegistryConfig::load(&self.root)?)
    }

    /// Pulls `reference` into the image store.
    pub fn pull(
        &self,
        reference: &Reference,
        options: &PullOptions,
        progress: &dyn Progress,
    ) -> Result<PullOutcome, EngineError> {
        let config = self.registry_config()?;
        Ok(skiff_registry::pull(
            &self.images,
            &config,
            reference,
            options,
            progress,
        )?)
    }

    /// Pushes a local image to the registry its name points at.
    pub fn push(
        &self,
        reference: &Reference,
        options: &PushOptions,
        progress: &dyn Progress,
    ) -> Result<PushOutcome, EngineError> {
        let config = self.registry_config()?;
        Ok(skiff_registry::push(
            &self.images,
            &config,
            reference,
            options,
            progress,
        )?)
    }

    /// `run` of an image not in the store: pull it, printing docker's messages on stderr
    /// (stdout belongs to the container). Returns the manifest digest now in the store.
    pub(crate) fn pull_missing(&self, reference: &Reference) -> Result<Digest, EngineError> {
        let stderr = std::io::stderr();
        let terminal = stderr.is_terminal();
        let progress = TextProgress::new(stderr, terminal);
        progress.line(&format!(
            "Unable to find image '{}' locally",
            reference.familiar()
        ));
        let outcome = self.pull(reference, &PullOptions::default(), &progress)?;
        progress.line(&format!("Digest: {}", outcome.digest));
        progress.line(&format!(
            "Status: Downloaded newer image for {}",
            reference.familiar()
        ));
        Ok(outcome.manifest)
    }
}
