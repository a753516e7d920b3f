//! Instruction flags (`COPY --from=build`, `RUN --mount=...`), checked like Docker's BFlags:
//! every flag needs `--`, must be known to the instruction, may appear once (except the
//! repeatable ones), string flags need `=value`, boolean flags take `--f`, `--f=true|false`.

use std::collections::HashMap;

use super::error::ErrorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagKind {
    Bool,
    String,
    /// May be given several times (`--mount`, `--exclude`).
    Repeated,
}

/// The flag values an instruction was given.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: HashMap<&'static str, Vec<String>>,
}

impl Flags {
    /// Checks `raw` (`--name[=value]` words) against the instruction's known flags.
    pub fn parse(
        instruction: &'static str,
        raw: &[String],
        known: &[(&'static str, FlagKind)],
    ) -> Result<Flags, ErrorKind> {
        let mut flags = Flags::default();
        for arg in raw {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(ErrorKind::FlagWithoutDashes {
                    instruction,
                    flag: arg.clone(),
                });
            };
            if body.is_empty() {
                break;
            }
            let (name, value) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            let Some(&(name, kind)) = known.iter().find(|(known, _)| *known == name) else {
                return Err(ErrorKind::UnknownFlag {
                    instruction,
                    flag: name.to_string(),
                });
            };
            if kind != FlagKind::Repeated && flags.values.contains_key(name) {
                return Err(ErrorKind::DuplicateFlag {
                    instruction,
                    flag: name.to_string(),
                });
            }
            let missing = || ErrorKind::FlagMissingValue {
                instruction,
                flag: name.to_string(),
            };
            let value = match (kind, value) {
                (FlagKind::Bool, None) => "true".to_string(),
                (FlagKind::Bool, Some("")) => return Err(missing()),
                (FlagKind::Bool, Some(value)) => match value.to_ascii_lowercase().as_str() {
                    lower @ ("true" | "false") => lower.to_string(),
                    _ => {
                        return Err(ErrorKind::FlagNotBoolean {
                            instruction,
                            flag: name.to_string(),
                            value: value.to_string(),
                        })
                    }
                },
                (_, None) => return Err(missing()),
                (_, Some(value)) => value.to_string(),
            };
            flags.values.entry(name).or_default().push(value);
        }
        Ok(flags)
    }

    /// The value of a string flag, if given.
    pub fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.last()).cloned()
    }

    /// Whether a boolean flag is true.
    pub fn bool(&self, name: &str) -> bool {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .is_some_and(|v| v == "true")
    }

    /// A boolean flag that may be absent.
    pub fn optional_bool(&self, name: &str) -> Option<bool> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(|v| v == "true")
    }

    /// Every value of a repeatable flag, in order.
    pub fn repeated(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
}
