//! Scenarios: which models the server knows, how each behaves, and when each misbehaves.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rule::ScenarioRule;

/// The longest latency, jitter, interval or delay a scenario may ask for.
const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);
/// The most content chunks a model may stream per answer.
const MAX_CHUNKS: u32 = 10_000;
/// The longest model name a scenario may declare.
pub(crate) const MAX_NAME: usize = 256;
/// The longest phase title or detail.
const MAX_TEXT: usize = 1024;

/// A complete description of how the mock server behaves.
///
/// Build one in Rust with [`Scenario::builder`], or load it from TOML or JSON with
/// [`Scenario::from_toml_str`], [`Scenario::from_json_str`] or [`Scenario::from_path`]; both
/// paths validate the same way, so a `Scenario` value is always valid. The README documents the
/// file schema with a complete example.
///
/// The order of [`Scenario::models`] is the order drivers such as the demo and the chaos runner
/// use as the fallback chain: the first model is the primary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ScenarioFile")]
pub struct Scenario {
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    seed: u64,
    unknown_model: UnknownModel,
    #[serde(
        rename = "duration_ms",
        with = "opt_duration_ms",
        skip_serializing_if = "Option::is_none"
    )]
    duration: Option<Duration>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    phases: Vec<Phase>,
    models: Vec<ModelBehavior>,
}

/// The unvalidated form a scenario file deserializes into.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    unknown_model: UnknownModel,
    #[serde(default, rename = "duration_ms", with = "opt_duration_ms")]
    duration: Option<Duration>,
    #[serde(default)]
    phases: Vec<Phase>,
    #[serde(default)]
    models: Vec<ModelBehavior>,
}

impl TryFrom<ScenarioFile> for Scenario {
    type Error = ScenarioError;

    fn try_from(file: ScenarioFile) -> Result<Self, ScenarioError> {
        let scenario = Scenario {
            description: file.description,
            seed: file.seed,
            unknown_model: file.unknown_model,
            duration: file.duration,
            phases: file.phases,
            models: file.models,
        };
        scenario.validate()?;
        Ok(scenario)
    }
}

impl Scenario {
    /// Starts a scenario in Rust.
    pub fn builder() -> ScenarioBuilder {
        ScenarioBuilder {
            scenario: Scenario {
                description: None,
                seed: 0,
                unknown_model: UnknownModel::default(),
                duration: None,
                phases: Vec::new(),
                models: Vec::new(),
            },
        }
    }

    /// A scenario in which every named model answers at once and never fails.
    pub fn healthy<I, S>(models: I) -> Scenario
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut scenario = Scenario::builder().build_unchecked();
        for name in models {
            let model = ModelBehavior::new(name);
            // A duplicate name would make the scenario invalid: the later one is dropped.
            if scenario.model(model.name()).is_none() && model.validate("models[]").is_ok() {
                scenario.models.push(model);
            }
        }
        scenario
    }

    /// Parses and validates a scenario written in TOML.
    pub fn from_toml_str(text: &str) -> Result<Scenario, ScenarioError> {
        let file: ScenarioFile = toml::from_str(text).map_err(ScenarioError::Toml)?;
        Scenario::try_from(file)
    }

    /// Parses and validates a scenario written in JSON.
    pub fn from_json_str(text: &str) -> Result<Scenario, ScenarioError> {
        let file: ScenarioFile = serde_json::from_str(text).map_err(ScenarioError::Json)?;
        Scenario::try_from(file)
    }

    /// Reads a scenario file; `.toml` and `.json` are told apart by the extension.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let in_file = |source| ScenarioError::File {
            path: path.to_path_buf(),
            source: Box::new(source),
        };
        let parse = match path.extension().and_then(|ext| ext.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("toml") => Scenario::from_toml_str,
            Some(ext) if ext.eq_ignore_ascii_case("json") => Scenario::from_json_str,
            _ => return Err(in_file(ScenarioError::Extension)),
        };
        let text =
            std::fs::read_to_string(path).map_err(|source| in_file(ScenarioError::Io(source)))?;
        parse(&text).map_err(in_file)
    }

    /// Renders the scenario as TOML, in the same schema the parser reads.
    pub fn to_toml_string(&self) -> Result<String, ScenarioError> {
        toml::to_string_pretty(self).map_err(ScenarioError::TomlWrite)
    }

    /// What the scenario is about, if it says.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The seed behind jitter and probability rules.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// What the server does with a model the scenario does not name.
    pub fn unknown_model(&self) -> UnknownModel {
        self.unknown_model
    }

    /// How long a driver should run this scenario to see its whole story, if it says.
    /// The server itself never stops on its own.
    pub fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// The story's phases, in time order: what a driver announces as each begins.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// The models, in declaration order (the suggested fallback order).
    pub fn models(&self) -> &[ModelBehavior] {
        &self.models
    }

    /// The model with this name.
    pub fn model(&self, name: &str) -> Option<&ModelBehavior> {
        self.models.iter().find(|model| model.name == name)
    }

    /// Adds `model`, or replaces the model of the same name in place.
    pub(crate) fn upsert(&mut self, model: ModelBehavior) -> Result<(), ScenarioError> {
        let index = self.models.iter().position(|m| m.name == model.name);
        model.validate(&format!("models[{}]", index.unwrap_or(self.models.len())))?;
        match index {
            Some(index) => self.models[index] = model,
            None => self.models.push(model),
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        if let Some(duration) = self.duration {
            check_duration("duration_ms", duration)?;
        }
        let mut previous = Duration::ZERO;
        for (index, phase) in self.phases.iter().enumerate() {
            let path = format!("phases[{index}]");
            check_duration(&format!("{path}.at_ms"), phase.at)?;
            if phase.at < previous {
                return Err(ScenarioError::invalid(
                    format!("{path}.at_ms"),
                    "phases must be in time order",
                ));
            }
            previous = phase.at;
            for (field, text) in [
                ("title", Some(&phase.title)),
                ("detail", phase.detail.as_ref()),
            ] {
                if text.is_some_and(|t| t.is_empty() || t.len() > MAX_TEXT) {
                    return Err(ScenarioError::invalid(
                        format!("{path}.{field}"),
                        format!("must be 1 to {MAX_TEXT} bytes long"),
                    ));
                }
            }
        }
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(self.models.len());
        for (index, model) in self.models.iter().enumerate() {
            let path = format!("models[{index}]");
            model.validate(&path)?;
            if let Some(first) = seen.insert(&model.name, index) {
                return Err(ScenarioError::invalid(
                    format!("{path}.name"),
                    format!(
                        "duplicate model name `{}` (also models[{first}])",
                        model.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Builds a [`Scenario`] in Rust; [`ScenarioBuilder::build`] validates it as a file would be.
#[derive(Debug, Clone)]
pub struct ScenarioBuilder {
    scenario: Scenario,
}

impl ScenarioBuilder {
    /// What the scenario is about.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.scenario.description = Some(description.into());
        self
    }

    /// The seed behind jitter and probability rules (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.scenario.seed = seed;
        self
    }

    /// What to do with a model the scenario does not name (default: 404 `model_not_found`).
    pub fn unknown_model(mut self, unknown_model: UnknownModel) -> Self {
        self.scenario.unknown_model = unknown_model;
        self
    }

    /// How long a driver should run the scenario.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.scenario.duration = Some(duration);
        self
    }

    /// Adds a phase to the story (phases must come in time order).
    pub fn phase(mut self, phase: Phase) -> Self {
        self.scenario.phases.push(phase);
        self
    }

    /// Adds a model.
    pub fn model(mut self, model: ModelBehavior) -> Self {
        self.scenario.models.push(model);
        self
    }

    /// Validates and returns the scenario.
    pub fn build(self) -> Result<Scenario, ScenarioError> {
        self.scenario.validate()?;
        Ok(self.scenario)
    }

    fn build_unchecked(self) -> Scenario {
        self.scenario
    }
}

/// A stretch of a scenario's story, from `at` on: what happens and what to watch. The server
/// ignores phases; drivers announce them (the demo prints each as its time comes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    #[serde(rename = "at_ms", with = "duration_ms")]
    at: Duration,
    title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

impl Phase {
    /// A phase that begins `at` after server start.
    pub fn new(at: Duration, title: impl Into<String>) -> Self {
        Phase {
            at,
            title: title.into(),
            detail: None,
        }
    }

    /// What to watch in it, in a sentence or two.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// When it begins, from server start.
    pub fn at(&self) -> Duration {
        self.at
    }

    /// Its title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// What to watch, if it says.
    pub fn details(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

/// What the server does with a request for a model the scenario does not name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnknownModel {
    /// 404 `model_not_found` in OpenAI's error format.
    #[default]
    NotFound,
    /// Serve it as a healthy model with default behaviour.
    Serve,
}

/// How one model behaves: latency, generation time, streaming shape, reply text and fault
/// rules.
///
/// Latency is `latency` plus a deterministic fraction of `jitter` (drawn from the scenario seed,
/// the model and the attempt number) and is paid before anything else, faults included.
/// Generation time, drawn the same way from `generation` and `generation_jitter`, is how long
/// the model takes to write a whole answer: a non-streamed answer's response head waits for it
/// (a server only answers once the text is done), a stream spreads it over its events (each
/// pause grows by `generation / chunks`) after a first token that comes at the latency. Fast
/// faults do not wait for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelBehavior {
    name: String,
    #[serde(default, rename = "latency_ms", with = "duration_ms")]
    latency: Duration,
    #[serde(default, rename = "jitter_ms", with = "duration_ms")]
    jitter: Duration,
    #[serde(
        default,
        rename = "generation_ms",
        with = "duration_ms",
        skip_serializing_if = "Duration::is_zero"
    )]
    generation: Duration,
    #[serde(
        default,
        rename = "generation_jitter_ms",
        with = "duration_ms",
        skip_serializing_if = "Duration::is_zero"
    )]
    generation_jitter: Duration,
    #[serde(default = "default_chunks")]
    chunks: u32,
    #[serde(default, rename = "chunk_interval_ms", with = "duration_ms")]
    chunk_interval: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reply: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rules: Vec<ScenarioRule>,
}

fn default_chunks() -> u32 {
    4
}

impl ModelBehavior {
    /// A healthy model: no latency, four chunks per streamed answer, an echo for a reply.
    pub fn new(name: impl Into<String>) -> Self {
        ModelBehavior {
            name: name.into(),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            generation: Duration::ZERO,
            generation_jitter: Duration::ZERO,
            chunks: default_chunks(),
            chunk_interval: Duration::ZERO,
            reply: None,
            rules: Vec::new(),
        }
    }

    /// Base latency before the response head.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Up to this much extra latency, drawn deterministically per attempt.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// How long the model takes to write a whole answer after its first token (default none):
    /// a non-streamed answer's head waits for it, a stream spreads it over its events.
    pub fn generation(mut self, generation: Duration) -> Self {
        self.generation = generation;
        self
    }

    /// Up to this much extra generation time, drawn deterministically per attempt.
    pub fn generation_jitter(mut self, jitter: Duration) -> Self {
        self.generation_jitter = jitter;
        self
    }

    /// Content chunks per streamed answer (1 to 10 000; default 4). A reply with fewer
    /// characters than chunks is padded with dots.
    pub fn chunks(mut self, chunks: u32) -> Self {
        self.chunks = chunks;
        self
    }

    /// Pause between streamed chunks.
    pub fn chunk_interval(mut self, interval: Duration) -> Self {
        self.chunk_interval = interval;
        self
    }

    /// A fixed reply instead of the default echo of the last user message.
    pub fn reply(mut self, reply: impl Into<String>) -> Self {
        self.reply = Some(reply.into());
        self
    }

    /// Adds a fault rule; rules are tried in order and the first that matches applies.
    pub fn rule(mut self, rule: ScenarioRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// The model's name, as requests and responses spell it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Base latency.
    pub fn base_latency(&self) -> Duration {
        self.latency
    }

    /// Maximum extra latency.
    pub fn max_jitter(&self) -> Duration {
        self.jitter
    }

    /// Base generation time of a whole answer.
    pub fn base_generation(&self) -> Duration {
        self.generation
    }

    /// Maximum extra generation time.
    pub fn max_generation_jitter(&self) -> Duration {
        self.generation_jitter
    }

    /// Content chunks per streamed answer.
    pub fn chunk_count(&self) -> u32 {
        self.chunks
    }

    /// Pause between streamed chunks.
    pub fn interval(&self) -> Duration {
        self.chunk_interval
    }

    /// The fixed reply, if any.
    pub fn fixed_reply(&self) -> Option<&str> {
        self.reply.as_deref()
    }

    /// The fault rules, in order.
    pub fn rules(&self) -> &[ScenarioRule] {
        &self.rules
    }

    fn validate(&self, path: &str) -> Result<(), ScenarioError> {
        if self.name.is_empty() || self.name.len() > MAX_NAME {
            return Err(ScenarioError::invalid(
                format!("{path}.name"),
                format!("must be 1 to {MAX_NAME} bytes long"),
            ));
        }
        if self.name.chars().any(char::is_control) {
            return Err(ScenarioError::invalid(
                format!("{path}.name"),
                "must not contain control characters",
            ));
        }
        if !(1..=MAX_CHUNKS).contains(&self.chunks) {
            return Err(ScenarioError::invalid(
                format!("{path}.chunks"),
                format!("must be between 1 and {MAX_CHUNKS}, got {}", self.chunks),
            ));
        }
        check_duration(&format!("{path}.latency_ms"), self.latency)?;
        check_duration(&format!("{path}.jitter_ms"), self.jitter)?;
        check_duration(&format!("{path}.generation_ms"), self.generation)?;
        check_duration(
            &format!("{path}.generation_jitter_ms"),
            self.generation_jitter,
        )?;
        check_duration(&format!("{path}.chunk_interval_ms"), self.chunk_interval)?;
        for (index, rule) in self.rules.iter().enumerate() {
            rule.validate(&format!("{path}.rules[{index}]"))?;
        }
        Ok(())
    }
}

pub(crate) fn check_duration(field: &str, duration: Duration) -> Result<(), ScenarioError> {
    if duration > MAX_DURATION {
        return Err(ScenarioError::invalid(
            field,
            format!("must be at most {} ms", MAX_DURATION.as_millis()),
        ));
    }
    Ok(())
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The text is not valid TOML or does not fit the schema; the message names the offending
    /// field and its line.
    #[error("invalid TOML scenario: {0}")]
    Toml(#[source] toml::de::Error),
    /// The text is not valid JSON or does not fit the schema; the message names the offending
    /// field and its line.
    #[error("invalid JSON scenario: {0}")]
    Json(#[source] serde_json::Error),
    /// The scenario parsed but a value is out of range or inconsistent.
    #[error("invalid scenario: `{field}` {reason}")]
    Invalid {
        /// Where the bad value is, e.g. `models[1].rules[0].probability`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    /// The file name ends in neither `.toml` nor `.json`.
    #[error("unsupported file extension: expected .toml or .json")]
    Extension,
    /// A problem with a scenario file, wrapping the error above.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<ScenarioError>,
    },
    /// The scenario could not be written as TOML.
    #[error("cannot render the scenario as TOML: {0}")]
    TomlWrite(#[source] toml::ser::Error),
}

impl ScenarioError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ScenarioError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The offending field's path when validation failed (e.g. `models[0].chunks`), looking
    /// through [`ScenarioError::File`].
    pub fn field(&self) -> Option<&str> {
        match self {
            ScenarioError::Invalid { field, .. } => Some(field),
            ScenarioError::File { source, .. } => source.field(),
            _ => None,
        }
    }
}

/// Serde for a `Duration` written as whole milliseconds.
pub(crate) mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// Serde for an optional `Duration` written as whole milliseconds.
pub(crate) mod opt_duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::duration_ms::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(deserializer).map(|ms| ms.map(Duration::from_millis))
    }
}
