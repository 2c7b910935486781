//! Logging shared by the examples: to stderr, filtered by `RUST_LOG`
//! (default `warn`; `RUST_LOG=debug` shows the pool's log).

/// Installs the log subscriber.
pub(crate) fn init() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
}
