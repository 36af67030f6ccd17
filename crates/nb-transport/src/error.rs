//! Typed transport errors: what failed, in which phase, and the underlying cause.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

pub use nb_types::{TimeoutPhase, TransportErrorKind};

/// The error a [`Transport`](crate::Transport) returns.
///
/// It carries a [`TransportErrorKind`], an optional short detail written by
/// this crate, and the underlying cause as [`source()`](StdError::source).
/// It never contains request headers, bodies or URLs, so it cannot leak an
/// API key. Cloning is cheap (the source is shared).
#[derive(Clone)]
pub struct TransportError {
    kind: TransportErrorKind,
    detail: Option<&'static str>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl TransportError {
    /// An error of `kind` with no further detail.
    #[must_use]
    pub const fn new(kind: TransportErrorKind) -> Self {
        Self {
            kind,
            detail: None,
            source: None,
        }
    }

    /// A timeout in `phase`.
    #[must_use]
    pub const fn timeout(phase: TimeoutPhase) -> Self {
        Self::new(TransportErrorKind::Timeout(phase))
    }

    /// Attaches a fixed detail shown after the kind in `Display`.
    #[must_use]
    pub const fn with_detail(mut self, detail: &'static str) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Attaches the underlying cause, returned by `source()`.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.source = Some(Arc::from(source.into()));
        self
    }

    /// What kind of failure this is.
    #[must_use]
    pub const fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether a deadline elapsed, in any phase.
    #[must_use]
    pub const fn is_timeout(&self) -> bool {
        matches!(self.kind, TransportErrorKind::Timeout(_))
    }

    /// The phase whose deadline elapsed, if this is a timeout.
    #[must_use]
    pub const fn timeout_phase(&self) -> Option<TimeoutPhase> {
        match self.kind {
            TransportErrorKind::Timeout(phase) => Some(phase),
            _ => None,
        }
    }

    /// Whether no connection could be made: refused, unreachable, DNS, TLS, a
    /// connect timeout, or this host's own policy refusing the socket.
    /// Nothing reached the server, so the request was not processed.
    #[must_use]
    pub const fn is_connect(&self) -> bool {
        matches!(
            self.kind,
            TransportErrorKind::ConnectRefused
                | TransportErrorKind::Connect
                | TransportErrorKind::Dns
                | TransportErrorKind::Tls
                | TransportErrorKind::Timeout(TimeoutPhase::Connect)
                | TransportErrorKind::LocalPolicy
        )
    }

    /// Whether a body that had started stopped before its end: it was cut
    /// ([`StreamInterrupted`](TransportErrorKind::StreamInterrupted)) or it
    /// stalled ([`Timeout(Idle)`](TimeoutPhase::Idle)). Both are the
    /// `stream_interrupted` category, never a complete answer.
    #[must_use]
    pub const fn is_interrupted(&self) -> bool {
        matches!(
            self.kind,
            TransportErrorKind::StreamInterrupted | TransportErrorKind::Timeout(TimeoutPhase::Idle)
        )
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TransportError");
        d.field("kind", &self.kind);
        if let Some(detail) = self.detail {
            d.field("detail", &detail);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        if let Some(detail) = self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<TransportErrorKind> for TransportError {
    fn from(kind: TransportErrorKind) -> Self {
        Self::new(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_follow_the_kind() {
        let t = TransportError::timeout(TimeoutPhase::Idle);
        assert!(t.is_timeout());
        assert!(t.is_interrupted());
        assert!(!t.is_connect());
        assert_eq!(t.timeout_phase(), Some(TimeoutPhase::Idle));

        let c = TransportError::timeout(TimeoutPhase::Connect);
        assert!(c.is_connect() && c.is_timeout() && !c.is_interrupted());

        for kind in [
            TransportErrorKind::ConnectRefused,
            TransportErrorKind::Dns,
            TransportErrorKind::Tls,
        ] {
            let e = TransportError::new(kind);
            assert!(e.is_connect());
            assert!(!e.is_timeout());
            assert_eq!(e.timeout_phase(), None);
        }
        let cut = TransportError::new(TransportErrorKind::StreamInterrupted);
        assert!(cut.is_interrupted() && !cut.is_connect());
        assert!(!TransportError::timeout(TimeoutPhase::FirstByte).is_interrupted());
    }

    #[test]
    fn source_and_display() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "peer said no");
        let e = TransportError::new(TransportErrorKind::Reset)
            .with_detail("h2 GOAWAY")
            .with_source(io);
        assert_eq!(
            e.to_string(),
            "connection reset before the response head (h2 GOAWAY)"
        );
        let src = e.source().map(ToString::to_string);
        assert_eq!(src.as_deref(), Some("peer said no"));
        // Clones share the source.
        assert!(e.clone().source().is_some());
        assert_eq!(
            TransportErrorKind::Timeout(TimeoutPhase::FirstByte).as_str(),
            "timeout_first_byte"
        );
    }
}
