//! Multi-literal matching: an Aho-Corasick DFA walked by hand.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, BuildError, MatchKind};

/// One DFA over many literals (ASCII case-insensitive), and a value for each.
///
/// The DFA is walked by hand ([`Matcher::each_match`]), reporting every match
/// at every position (overlapping semantics) for one table load per byte:
/// several times fewer instructions than aho-corasick's resumable
/// overlapping iterator, which matters at a few hundred bytes per call.
#[derive(Debug, Clone)]
pub(crate) struct Matcher<T> {
    dfa: DFA,
    values: Vec<T>,
}

impl<T: Copy> Matcher<T> {
    /// Compiles `(literal, value)` pairs.
    pub(crate) fn build<'p>(
        entries: impl IntoIterator<Item = (&'p str, T)>,
    ) -> Result<Self, BuildError> {
        let (literals, values): (Vec<&str>, Vec<T>) = entries.into_iter().unzip();
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // With no prefilter the start state is not special, so the walk
            // stops only on match states.
            .prefilter(false)
            .build(literals)?;
        Ok(Self { dfa, values })
    }

    /// How many literals there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Calls `f(value, end)` for every literal found in `hay`, where `end`
    /// is the offset just after the match.
    ///
    /// `f` is called through `dyn` on purpose: matches are rare, and keeping
    /// the handler out of the walk leaves the walk its registers.
    pub(crate) fn each_match(&self, hay: &[u8], f: &mut dyn FnMut(T, usize)) {
        let dfa = &self.dfa;
        let Ok(mut sid) = dfa.start_state(Anchored::No) else {
            return;
        };
        let mut at = 0;
        while at < hay.len() {
            (at, sid) = run_to_special(dfa, hay, at, sid);
            if !dfa.is_special(sid) || dfa.is_dead(sid) {
                return;
            }
            for k in 0..dfa.match_len(sid) {
                if let Some(&v) = self.values.get(dfa.match_pattern(sid, k).as_usize()) {
                    f(v, at);
                }
            }
        }
    }
}

/// Walks the DFA from `at` until it enters a special (match or dead) state,
/// or the end; returns the offset after the last byte read and the state.
///
/// Kept apart, and not inlined, so this loop, where the time goes, holds its
/// few values in registers: with the match handling around it they spill to
/// the stack and the loop runs three times the instructions.
#[inline(never)]
fn run_to_special(dfa: &DFA, hay: &[u8], mut at: usize, mut sid: StateID) -> (usize, StateID) {
    for &b in &hay[at.min(hay.len())..] {
        sid = dfa.next_state(Anchored::No, sid, b);
        at += 1;
        if dfa.is_special(sid) {
            break;
        }
    }
    (at, sid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_overlapping_match_case_insensitively() {
        let m = Matcher::build([("rate limit", 1), ("limit", 2), ("rate limit reached", 3)])
            .unwrap_or_else(|e| panic!("{e}"));
        let mut found = Vec::new();
        m.each_match(b"Rate LIMIT reached; limit", &mut |v, end| {
            found.push((end, v))
        });
        // Matches ending at one offset come in no particular order.
        found.sort_unstable();
        assert_eq!(found, vec![(10, 1), (10, 2), (18, 3), (25, 2)]);
        assert_eq!(m.len(), 3);
        let mut none = 0;
        m.each_match(b"", &mut |_, _| none += 1);
        m.each_match(b"nothing here", &mut |_, _| none += 1);
        assert_eq!(none, 0);
    }
}
