//! Tracing set-up: human-readable or JSON lines on stderr; `-v` raises the level and
//! `RUST_LOG` overrides it.

use tracing_subscriber::EnvFilter;

/// Format of log lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global subscriber; `verbosity` counts `-v` flags.
pub(crate) fn init(format: LogFormat, verbosity: u8) {
    // Apply's per-action lines are info: shown by default, they are its progress report when
    // stderr is not a terminal. sled's own log lines (its internals, when it finds a database
    // damaged) are left to -v: what it found reaches the user as the error's cause, in words.
    let level = match verbosity {
        0 => {
            "warn,sled=off,powerplane_controller::cli::progress=info,powerplane_controller::watch=info,powerplane_controller::status=info,powerplane_controller::app=info"
        }
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // A terminal, `NO_COLOR`, `CLICOLOR(_FORCE)` and `TERM=dumb` decide, as for every
    // program that follows <https://no-color.org> and <https://bixense.com/clicolors/>.
    let colour = anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
    // A second init (tests calling `main` twice) keeps the first subscriber. JSON lines are
    // flat (`{"timestamp","level","message","plan_id",…}`), fields beside the message rather
    // than nested under `fields`, so a log collector indexes them as they are.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
    };
}
