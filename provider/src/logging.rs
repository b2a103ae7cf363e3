//! Provider logging: JSON lines on **stderr** in hclog's format, which
//! Terraform (go-plugin) parses and re-logs at the right level
//! (research/protocol.md §2.4). Stdout is reserved for the plugin handshake.
//!
//! Each line is one JSON object with `@level` (`trace`…`error`),
//! `@message`, `@module` ([`MODULE`]), `@timestamp` (RFC 3339, UTC,
//! microseconds) and the event's fields plus the fields of its enclosing
//! spans (innermost wins) as extra keys.
//!
//! Verbosity comes from `TF_LOG_PROVIDER`, else `TF_LOG` (TRACE, DEBUG,
//! INFO, WARN, ERROR; JSON means TRACE; OFF disables); without either only
//! WARN and above is emitted. Only this crate logs at the full verbosity:
//! dependencies (hyper, h2, rustls, the AWS SDK, …) are capped at INFO,
//! because their debug/trace output can include wire data such as headers or
//! request bodies. Nothing here logs request payloads by default: only
//! fields a `tracing` call names explicitly are written.

use std::io::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer;

/// hclog logger name Terraform shows for our lines.
pub const MODULE: &str = "provider.terraform-provider-bankplatform";

/// Verbosity when neither `TF_LOG_PROVIDER` nor `TF_LOG` is set.
pub const DEFAULT_LEVEL: LevelFilter = LevelFilter::WARN;

/// Most verbose level dependencies may log at (see the module docs).
pub const DEPENDENCY_LEVEL_CAP: LevelFilter = LevelFilter::INFO;

/// Targets of this crate's library and binary.
const OWN_TARGETS: [&str; 2] = ["bankplatform_provider", "terraform_provider_bankplatform"];

/// Installs the global subscriber (hclog JSON on stderr, level from the
/// environment). Calling it twice is harmless: the second call does nothing.
pub fn init() {
    let level = level_from_env(
        std::env::var("TF_LOG_PROVIDER").ok().as_deref(),
        std::env::var("TF_LOG").ok().as_deref(),
    );
    let _ = tracing_subscriber::registry()
        .with(HclogLayer::new(std::io::stderr).with_filter(targets(level)))
        .try_init();
}

/// Parses one Terraform log-level value. `None` for an unset or empty value;
/// an unrecognised value means TRACE, as in Terraform itself.
pub fn parse_level(value: Option<&str>) -> Option<LevelFilter> {
    let value = value?.trim();
    if value.is_empty() {
        return None;
    }
    Some(match value.to_ascii_uppercase().as_str() {
        "OFF" => LevelFilter::OFF,
        "ERROR" => LevelFilter::ERROR,
        "WARN" => LevelFilter::WARN,
        "INFO" => LevelFilter::INFO,
        "DEBUG" => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE, // "TRACE", "JSON" and anything unknown.
    })
}

/// The effective level: `TF_LOG_PROVIDER`, else `TF_LOG`, else [`DEFAULT_LEVEL`].
pub fn level_from_env(tf_log_provider: Option<&str>, tf_log: Option<&str>) -> LevelFilter {
    parse_level(tf_log_provider)
        .or_else(|| parse_level(tf_log))
        .unwrap_or(DEFAULT_LEVEL)
}

/// Per-target filter: this crate at `level`, dependencies at most
/// [`DEPENDENCY_LEVEL_CAP`].
pub fn targets(level: LevelFilter) -> Targets {
    OWN_TARGETS.iter().fold(
        Targets::new().with_default(level.min(DEPENDENCY_LEVEL_CAP)),
        |t, target| t.with_target(*target, level),
    )
}

/// A `tracing` layer writing hclog-style JSON lines to `W`.
#[derive(Debug)]
pub struct HclogLayer<W> {
    make_writer: W,
}

impl<W> HclogLayer<W>
where
    W: for<'a> MakeWriter<'a> + 'static,
{
    /// A layer writing one line per event to the writers `make_writer` makes.
    pub fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// Fields recorded on a span, kept in its extensions.
#[derive(Debug, Default)]
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut JsonVisitor::new(&mut fields.0, None));
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(fields) = ext.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor::new(&mut fields.0, None));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(span_fields) = span.extensions().get::<SpanFields>() {
                    for (k, v) in &span_fields.0 {
                        fields.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        let mut message = None;
        event.record(&mut JsonVisitor::new(&mut fields, Some(&mut message)));
        let line = format_line(
            *event.metadata().level(),
            message.as_deref().unwrap_or_default(),
            &timestamp_now(),
            fields,
        );
        let mut writer = self.make_writer.make_writer_for(event.metadata());
        // One write per line so concurrent events never interleave.
        let _ = writer.write_all(&line);
    }
}

/// Serialises one log line (including the trailing newline).
pub fn format_line(
    level: Level,
    message: &str,
    timestamp: &str,
    fields: Map<String, Value>,
) -> Vec<u8> {
    let mut obj = Map::with_capacity(fields.len() + 4);
    obj.insert("@level".into(), Value::from(hclog_level(level)));
    obj.insert("@message".into(), Value::from(message));
    obj.insert("@module".into(), Value::from(MODULE));
    obj.insert("@timestamp".into(), Value::from(timestamp));
    for (k, v) in fields {
        if !k.starts_with('@') {
            obj.insert(k, v);
        }
    }
    let mut line = serde_json::to_vec(&Value::Object(obj)).unwrap_or_default();
    line.push(b'\n');
    line
}

/// hclog's level names.
pub fn hclog_level(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Now, as `2026-11-21T10:00:00.000000Z`.
pub fn timestamp_now() -> String {
    format_timestamp(time::OffsetDateTime::now_utc())
}

/// Formats a UTC instant as RFC 3339 with microseconds and a `Z` suffix.
pub fn format_timestamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Collects `tracing` fields as JSON values; the `message` field goes to
/// `message` when given (events) and is kept as a field otherwise (spans).
struct JsonVisitor<'a> {
    fields: &'a mut Map<String, Value>,
    message: Option<&'a mut Option<String>>,
}

impl<'a> JsonVisitor<'a> {
    fn new(fields: &'a mut Map<String, Value>, message: Option<&'a mut Option<String>>) -> Self {
        Self { fields, message }
    }

    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        // `log` records bridged by tracing-log carry their metadata as
        // `log.target`, `log.file`, … fields; they are noise here.
        if name.starts_with("log.") {
            return;
        }
        if name == "message" {
            if let Some(slot) = self.message.as_deref_mut() {
                *slot = Some(match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                });
                return;
            }
        }
        self.fields.insert(name.to_string(), value);
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::from(value.to_string()), Value::Number);
        self.put(field, v);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        self.put(field, Value::from(text));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(level: LevelFilter, f: impl FnOnce()) -> Vec<Value> {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::registry()
            .with(HclogLayer::new(move || writer.clone()).with_filter(targets(level)));
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buf.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect()
    }

    #[test]
    fn event_is_one_hclog_json_line_with_span_fields() {
        let lines = capture(LevelFilter::TRACE, || {
            let span = tracing::info_span!("rpc", rpc = "PlanResourceChange", attempt = 1);
            let _g = span.enter();
            tracing::warn!(
                resource = "bankplatform_bucket",
                count = 3u64,
                ok = true,
                "planning \"done\""
            );
        });
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(l["@level"], "warn");
        assert_eq!(l["@message"], "planning \"done\"");
        assert_eq!(l["@module"], MODULE);
        assert_eq!(l["rpc"], "PlanResourceChange");
        assert_eq!(l["attempt"], 1);
        assert_eq!(l["resource"], "bankplatform_bucket");
        assert_eq!(l["count"], 3);
        assert_eq!(l["ok"], true);
        let ts = l["@timestamp"].as_str().unwrap();
        // 2026-11-21T10:00:00.000000Z
        assert_eq!(ts.len(), 27, "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T' && ts.as_bytes()[19] == b'.');
    }

    #[test]
    fn level_filtering_and_dependency_cap() {
        let lines = capture(LevelFilter::WARN, || {
            tracing::info!("hidden");
            tracing::error!("shown");
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["@level"], "error");

        let lines = capture(LevelFilter::TRACE, || {
            tracing::trace!(target: "h2::codec", "frame bytes");
            tracing::info!(target: "hyper", "dependency info");
            tracing::trace!("own trace");
        });
        let messages: Vec<_> = lines.iter().map(|l| l["@message"].clone()).collect();
        assert_eq!(messages, vec!["dependency info", "own trace"]);

        assert!(capture(LevelFilter::OFF, || tracing::error!("nothing")).is_empty());
    }

    #[test]
    fn env_level_parsing() {
        assert_eq!(level_from_env(None, None), LevelFilter::WARN);
        assert_eq!(level_from_env(None, Some("debug")), LevelFilter::DEBUG);
        assert_eq!(
            level_from_env(Some("Error"), Some("TRACE")),
            LevelFilter::ERROR
        );
        assert_eq!(level_from_env(Some(""), Some("info")), LevelFilter::INFO);
        assert_eq!(level_from_env(None, Some("JSON")), LevelFilter::TRACE);
        assert_eq!(level_from_env(Some("off"), Some("TRACE")), LevelFilter::OFF);
        assert_eq!(level_from_env(None, Some("bogus")), LevelFilter::TRACE);
    }

    #[test]
    fn timestamp_format() {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_795_255_200_000_123_456).unwrap();
        assert_eq!(format_timestamp(t), "2026-11-21T10:00:00.000123Z");
    }
}
