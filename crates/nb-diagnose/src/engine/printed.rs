//! A failure known by what a program printed: an error text (maybe with a
//! status), or a transport error with the words its stack gave it.

use super::scan::{embedded_json, head, leading_status, reason_status};
use super::{DiagnosisEngine, Evidence, Verdict, success, timeout_sub};
use crate::catalogue::{CORS_BLOCKED, Sub};
use crate::json::Fields;
use crate::{ErrorCategory, TimeoutPhase, TransportErrorKind};

impl DiagnosisEngine {
    /// Only an error text, maybe with a status.
    pub(super) fn message<'b>(
        &self,
        text: &'b str,
        status: Option<u16>,
        ev: &mut Evidence,
        fields: &mut Fields<'b>,
    ) -> Verdict {
        let text = head(text.as_bytes());
        *fields = embedded_json(text);
        self.scan_text(text, fields, ev);
        let status = status
            .or_else(|| leading_status(text))
            .or(ev.status)
            .or(fields.numeric_status)
            .or_else(|| reason_status(text))
            .or(ev.named_status);
        let success = status.is_none_or(|s| (200..300).contains(&s));
        let mut v = self.classify(ev, fields, status.filter(|_| !success), success);
        let after_success = status.is_some() && success;
        // A browser's CORS refusal, which Firefox and Safari print with the
        // 200 they withheld, is not a connection that dropped.
        let refused = |v: &Verdict| v.rule.is_some_and(|r| self.rule(r).sub == CORS_BLOCKED);
        if after_success && v.category == ErrorCategory::Network && !refused(&v) {
            // The response had begun when the connection dropped.
            v = Verdict::new(
                ErrorCategory::StreamInterrupted,
                Sub::ConnectionClosedMidResponse,
                v.priority,
            );
        } else if after_success && v.category == ErrorCategory::Unknown && v.rule.is_none() {
            // A success arrived and the program could not use it, in words
            // that name no cause: read as a 200 body no rule explains is.
            v = success::unexplained_success();
        } else if fields.has_error && fields.request_id.is_some() {
            // An error object that carries a request id: a server sent its
            // words about itself, as in a response's body. (A program's own
            // error line carries none.)
            v = self.servers_own(v);
        }
        v.status = status;
        v
    }

    /// A transport failure; its text can only refine a network failure.
    pub(super) fn transport<'b>(
        &self,
        kind: TransportErrorKind,
        message: Option<&'b str>,
        ev: &mut Evidence,
        fields: &mut Fields<'b>,
    ) -> Verdict {
        use ErrorCategory::{Network, StreamInterrupted, Timeout};
        use TransportErrorKind as K;
        let (category, sub, phase) = match kind {
            K::ConnectRefused => (Network, Sub::ConnectRefused, None),
            K::Dns => (Network, Sub::Dns, None),
            K::Tls => (Network, Sub::Tls, None),
            K::Reset => (Network, Sub::ConnectionReset, None),
            // Waiting for the head of a chat answer is waiting for its first
            // byte: one phase for the diagnosis.
            K::Timeout(TimeoutPhase::ResponseHead) => (
                Timeout,
                timeout_sub(TimeoutPhase::FirstByte),
                Some(TimeoutPhase::FirstByte),
            ),
            K::Timeout(p) => (Timeout, timeout_sub(p), Some(p)),
            K::StreamInterrupted => (StreamInterrupted, Sub::StreamCut, None),
            // Nothing reached the provider: our side ran out of descriptors,
            // memory or ports, or its own policy refused the socket. Named
            // apart so no one blames the provider.
            K::LocalResource => (Network, Sub::LocalResource, None),
            K::LocalPolicy => (Network, Sub::LocalPolicy, None),
            // An unreachable host, bad HTTP, an oversized body or an
            // unsendable request: a network failure the message may refine.
            _ => (Network, Sub::TransportError, None),
        };
        let known = matches!(
            kind,
            K::ConnectRefused
                | K::Dns
                | K::Tls
                | K::Reset
                | K::Timeout(_)
                | K::StreamInterrupted
                | K::LocalResource
                | K::LocalPolicy
        );
        let mut base = Verdict::new(category, sub, if known { 90 } else { 20 });
        base.phase = phase;
        let Some(text) = message else {
            return base;
        };
        let text = head(text.as_bytes());
        *fields = embedded_json(text);
        self.scan_text(text, fields, ev);
        let v = self.classify(ev, fields, None, true);
        let refines = v.priority > base.priority
            && (v.category == category || (!known && v.category != ErrorCategory::Unknown));
        if refines { v } else { base }
    }
}
