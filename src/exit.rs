//! Exit codes from typed outcomes: 0 done, 1 failed, 2 input rejected, 3 done without
//! promotion (`nightly`). Library errors say whether the input was at fault
//! ([`Classify::is_input`]); nothing here inspects an error chain.

use std::fmt::Display;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Done,
    /// `nightly`: done, the champion stays.
    DoneNoPromotion,
    Failed,
    /// The input breaks the data contract or cannot be used.
    InputRejected,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::Failed => 1,
            Exit::InputRejected => 2,
            Exit::DoneNoPromotion => 3,
        }
    }
}

/// A failed command: what to tell the user, and whether the input was at fault.
#[derive(Debug)]
pub struct Failure {
    pub error: anyhow::Error,
    pub input: bool,
}

impl Failure {
    /// A failure the caller's input (data, flags, configuration) is at fault for: exit 2.
    pub fn input(error: anyhow::Error) -> Failure {
        Failure { error, input: true }
    }

    /// The exit this failure ends the process with.
    pub fn exit(&self) -> Exit {
        if self.input { Exit::InputRejected } else { Exit::Failed }
    }
}

/// Library errors, classified: input at fault (exit 2) or not (exit 1).
pub trait Classify: std::error::Error + Send + Sync + 'static {
    fn is_input(&self) -> bool {
        false
    }
}

impl Classify for lapse_core::extract::ExtractError {
    fn is_input(&self) -> bool {
        lapse_core::extract::ExtractError::is_input(self)
    }
}
impl Classify for lapse_model::train::DatasetError {
    fn is_input(&self) -> bool {
        lapse_model::train::DatasetError::is_input(self)
    }
}
impl Classify for lapse_model::train::TrainError {
    fn is_input(&self) -> bool {
        lapse_model::train::TrainError::is_input(self)
    }
}
impl Classify for lapse_nightly::NightlyError {
    fn is_input(&self) -> bool {
        lapse_nightly::NightlyError::is_input(self)
    }
}
/// A feature table that cannot be read is the input's fault.
impl Classify for lapse_core::table::TableError {
    fn is_input(&self) -> bool {
        true
    }
}
impl Classify for lapse_retention::campaign::StoreError {
    fn is_input(&self) -> bool {
        lapse_retention::campaign::StoreError::is_input(self)
    }
}
impl Classify for lapse_core::features::WriteError {}
impl Classify for lapse_core::features::sharded::ShardedError {
    fn is_input(&self) -> bool {
        lapse_core::features::sharded::ShardedError::is_input(self)
    }
}
impl Classify for lapse_core::generate::GenerateError {}
impl Classify for lapse_core::io_util::IoContext {}
impl Classify for lapse_model::registry::RegistryError {}
impl Classify for lapse_reports::realised::RealisedError {}
impl Classify for lapse_reports::ExportError {}
impl Classify for lapse_api::ServeError {}
impl Classify for lapse_api::auth::TokenError {}
impl Classify for lapse_retention::EconomicsError {}
impl Classify for serde_json::Error {}
impl Classify for lapse_retention::winback::WinbackRankError {}
impl Classify for lapse_store::StoreError {
    fn is_input(&self) -> bool {
        lapse_store::StoreError::is_input(self)
    }
}
impl Classify for lapse_retention::uplift::UpliftError {
    fn is_input(&self) -> bool {
        lapse_retention::uplift::UpliftError::is_input(self)
    }
}
/// A snapshot the model cannot score is the snapshot's fault unless the model is.
impl Classify for lapse_model::scoring::SnapshotError {
    fn is_input(&self) -> bool {
        !self.model
    }
}
impl Classify for lapse_reports::why::WhyError {
    fn is_input(&self) -> bool {
        self.input
    }
}
/// The caller's input, always: a work-list request, campaign settings, a value given, a table
/// judged, the nightly's settings, a campaign read before its outcomes.
macro_rules! always_input {
    ($($error:ty),* $(,)?) => {
        $(impl Classify for $error {
            fn is_input(&self) -> bool {
                true
            }
        })*
    };
}
always_input!(
    lapse_retention::SpecError,
    lapse_retention::campaign::SettingsError,
    lapse_core::error::InvalidInput,
    lapse_model::evaluate::EvaluateError,
    lapse_nightly::ConfigError,
    lapse_reports::effect::EffectError,
);
impl Classify for std::io::Error {}

impl<E: Classify> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure { input: error.is_input(), error: anyhow::Error::new(error) }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure { error, input: false }
    }
}

/// `.context(...)` for results whose error is classified, keeping the class.
pub trait Context<T> {
    fn context(self, context: impl Display + Send + Sync + 'static) -> Result<T, Failure>;
    fn with_context<C: Display + Send + Sync + 'static>(self, context: impl FnOnce() -> C) -> Result<T, Failure>;
}

impl<T, E: Into<Failure>> Context<T> for Result<T, E> {
    fn context(self, context: impl Display + Send + Sync + 'static) -> Result<T, Failure> {
        self.map_err(|e| {
            let failure = e.into();
            Failure { error: failure.error.context(context), input: failure.input }
        })
    }

    fn with_context<C: Display + Send + Sync + 'static>(self, context: impl FnOnce() -> C) -> Result<T, Failure> {
        self.map_err(|e| {
            let failure = e.into();
            Failure { error: failure.error.context(context()), input: failure.input }
        })
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, context: impl Display + Send + Sync + 'static) -> Result<T, Failure> {
        self.ok_or_else(|| Failure { error: anyhow::anyhow!("{context}"), input: false })
    }

    fn with_context<C: Display + Send + Sync + 'static>(self, context: impl FnOnce() -> C) -> Result<T, Failure> {
        self.ok_or_else(|| Failure { error: anyhow::anyhow!("{}", context()), input: false })
    }
}

/// Fails with a message about the caller's flags or configuration: exit 2, as clap's own
/// usage errors and a value parser's.
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::exit::Failure { error: anyhow::anyhow!($($arg)*), input: true })
    };
}
pub(crate) use fail;
