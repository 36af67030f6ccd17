//! Multi-literal matching: an Aho-Corasick DFA, compacted and walked by hand.

use std::collections::{HashMap, VecDeque};

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};

/// Set on a transition that enters a state where literals end.
const MATCH: u32 = 1 << 31;

/// Many literals (ASCII case-insensitive), each with a value, found in one
/// pass with every match at every position (overlapping semantics).
///
/// Built from aho-corasick's DFA, then compacted for the walk, which is
/// latency-bound (each step loads the next state from the previous one):
/// - one byte class per distinct pattern byte, case folded, plus one for
///   every other byte, so a row has about 50 entries instead of the 128 that
///   aho-corasick's case-insensitive classes round up to;
/// - states renumbered breadth-first, so the shallow states that ordinary
///   text keeps revisiting sit together in a few cache lines;
/// - transitions hold the next row's offset (premultiplied) with a flag bit
///   for states where literals end, so a step is two loads and a test.
///
/// The walk is several times fewer instructions than aho-corasick's
/// resumable overlapping iterator, and the table a fraction of its DFA.
#[derive(Debug, Clone)]
pub(crate) struct Matcher<T> {
    /// Byte to class.
    classes: [u16; 256],
    /// `⌈2³² / stride⌉`, where the stride is the number of classes (a row's
    /// length): a row offset times this, shifted right by 32, is its state's
    /// index without a division. Offsets are exact multiples of the stride
    /// below 2³¹, so the rounding never shows and the product fits a u64.
    per_row: u64,
    /// `states × stride` transitions: the next row's offset, maybe `| MATCH`.
    trans: Vec<u32>,
    /// Per state: the range of `ends` listing the literals ending there.
    ends_at: Vec<(u32, u32)>,
    /// Literal indices, grouped by state.
    ends: Vec<u32>,
    values: Vec<T>,
    /// The longest literal, in bytes.
    max_len: usize,
}

/// Matches of the second walker waiting for the first to finish, so that
/// matches are reported in text order.
const PENDING: usize = 16;

/// See [`Matcher::per_row`].
fn per_row(stride: usize) -> u64 {
    (1u64 << 32).div_ceil(stride as u64)
}

/// Why a matcher could not be built.
#[derive(Debug)]
pub(crate) struct BuildError(pub(crate) String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
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
            .prefilter(false)
            .build(&literals)
            .map_err(|e| BuildError(e.to_string()))?;

        // Classes: 0 for bytes in no literal, one per other byte, shared by
        // the two cases of a letter.
        let mut used = [false; 256];
        for b in literals.iter().flat_map(|l| l.bytes()) {
            used[usize::from(b.to_ascii_lowercase())] = true;
        }
        let mut classes = [0u16; 256];
        let mut reps: Vec<Option<u8>> =
            vec![(0..=255u8).find(|b| !used[usize::from(b.to_ascii_lowercase())])];
        for b in 0..=255u8 {
            if used[usize::from(b)] && (!b.is_ascii_uppercase()) {
                let class = u16::try_from(reps.len())
                    .map_err(|_| BuildError("too many byte classes".into()))?;
                classes[usize::from(b)] = class;
                classes[usize::from(b.to_ascii_uppercase())] = class;
                reps.push(Some(b));
            }
        }
        let stride = reps.len();

        // States, breadth-first from the start.
        let start = dfa
            .start_state(Anchored::No)
            .map_err(|e| BuildError(e.to_string()))?;
        let mut index = HashMap::from([(start, 0usize)]);
        let mut order = vec![start];
        let mut queue = VecDeque::from([start]);
        while let Some(s) = queue.pop_front() {
            for rep in reps.iter().flatten() {
                let t = dfa.next_state(Anchored::No, s, *rep);
                index.entry(t).or_insert_with(|| {
                    order.push(t);
                    queue.push_back(t);
                    order.len() - 1
                });
            }
        }
        let too_big = || BuildError("the automaton is too large".into());
        if order
            .len()
            .checked_mul(stride)
            .is_none_or(|n| n >= MATCH as usize)
        {
            return Err(too_big());
        }

        let mut trans = Vec::with_capacity(order.len() * stride);
        let mut ends_at = Vec::with_capacity(order.len());
        let mut ends = Vec::new();
        for &s in &order {
            for rep in &reps {
                // A byte in no literal behaves like any other such byte.
                let t = rep.map_or(start, |b| dfa.next_state(Anchored::No, s, b));
                let row = index.get(&t).copied().ok_or_else(too_big)? * stride;
                let flag = if dfa.is_match(t) { MATCH } else { 0 };
                trans.push(u32::try_from(row).map_err(|_| too_big())? | flag);
            }
            let first = u32::try_from(ends.len()).map_err(|_| too_big())?;
            if dfa.is_match(s) {
                for k in 0..dfa.match_len(s) {
                    ends.push(dfa.match_pattern(s, k).as_u32());
                }
            }
            let last = u32::try_from(ends.len()).map_err(|_| too_big())?;
            ends_at.push((first, last));
        }
        Ok(Self {
            classes,
            per_row: per_row(stride),
            trans,
            ends_at,
            ends,
            values,
            max_len: literals.iter().map(|l| l.len()).max().unwrap_or(0),
        })
    }

    /// How many literals there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Calls `f(value, end)` for every literal found in `hay`, in the
    /// order of `end` (the offset just after the match).
    ///
    /// A long enough text is read by two walkers at once, one per half:
    /// each step loads the next state from the last one, so one walker waits
    /// on every load, while two overlap their waits. The second walker starts
    /// `max_len - 1` bytes before the middle, so it sees every literal that
    /// ends past the middle whole; the first reports those ending up to it.
    ///
    /// `f` is called through `dyn` on purpose: matches are rare, and keeping
    /// the handler out of the walk leaves the walk its registers.
    pub(crate) fn each_match(&self, hay: &[u8], f: &mut dyn FnMut(T, usize)) {
        let overlap = self.max_len.saturating_sub(1);
        if hay.len() < 4 * self.max_len.max(16) {
            let end = self.walk_alone(hay, 0, 0, hay.len(), f);
            debug_assert_eq!(end, hay.len());
            return;
        }
        // Both walkers take the same number of steps.
        let mid = (hay.len() + overlap) / 2;
        let (mut a, mut row_a) = (0, 0);
        let (mut b, mut row_b) = (mid - overlap, 0);
        let mut pending = [(0u32, 0u32); PENDING];
        let mut waiting = 0;
        // The second walker stopped in a match state it could not buffer.
        let mut held_back = false;
        while a < mid && b < hay.len() {
            let (hit_a, hit_b);
            (a, row_a, hit_a, b, row_b, hit_b) = self.walk_two(hay, a, row_a, mid, b, row_b);
            if hit_a {
                self.report(row_a, a, f);
            }
            // Matches ending up to the middle are the first walker's.
            if hit_b && b > mid {
                let ends = self.ends_of(row_b);
                if waiting + ends.len() > PENDING {
                    held_back = true;
                    break;
                }
                for &i in ends {
                    // Texts are at most `MAX_BODY_BYTES` long, far below u32::MAX.
                    pending[waiting] = (i, u32::try_from(b).unwrap_or(u32::MAX));
                    waiting += 1;
                }
            }
        }
        self.walk_alone(hay, a, row_a, mid, f);
        for &(i, end) in &pending[..waiting] {
            if let Some(&v) = self.values.get(i as usize) {
                f(v, end as usize);
            }
        }
        if held_back {
            self.report(row_b, b, f);
        }
        // Past the middle by now, so everything it finds is its own.
        self.walk_alone(hay, b, row_b, hay.len(), f);
    }

    /// The literals ending in the state at `row`.
    fn ends_of(&self, row: usize) -> &[u32] {
        let state = ((row as u64 * self.per_row) >> 32) as usize;
        let (first, last) = self.ends_at.get(state).copied().unwrap_or((0, 0));
        self.ends
            .get(first as usize..last as usize)
            .unwrap_or_default()
    }

    fn report(&self, row: usize, end: usize, f: &mut dyn FnMut(T, usize)) {
        for &i in self.ends_of(row) {
            if let Some(&v) = self.values.get(i as usize) {
                f(v, end);
            }
        }
    }

    /// One walker over `hay[at..stop]` from the state at `row`; returns `stop`.
    fn walk_alone(
        &self,
        hay: &[u8],
        mut at: usize,
        mut row: usize,
        stop: usize,
        f: &mut dyn FnMut(T, usize),
    ) -> usize {
        let hay = &hay[..stop.min(hay.len())];
        while at < hay.len() {
            let matched;
            (at, row, matched) = self.walk(hay, at, row);
            if matched {
                self.report(row, at, f);
            }
        }
        at
    }

    /// Walks from `at` in the state at `row` until a state where literals
    /// end, or the end of `hay`; returns the offset after the last byte
    /// read, the row, and whether literals end there.
    ///
    /// Kept apart, and not inlined, so this loop, where the time goes, holds
    /// its few values in registers.
    #[inline(never)]
    fn walk(&self, hay: &[u8], mut at: usize, mut row: usize) -> (usize, usize, bool) {
        let (trans, classes) = (&self.trans[..], &self.classes);
        for &b in &hay[at.min(hay.len())..] {
            let t = trans[row + usize::from(classes[usize::from(b)])];
            at += 1;
            row = (t & !MATCH) as usize;
            if t & MATCH != 0 {
                return (at, row, true);
            }
        }
        (at, row, false)
    }

    /// Two walkers in step, `a` up to `stop_a` and `b` up to the end, until
    /// either enters a state where literals end or either is done.
    #[inline(never)]
    fn walk_two(
        &self,
        hay: &[u8],
        mut a: usize,
        mut row_a: usize,
        stop_a: usize,
        mut b: usize,
        mut row_b: usize,
    ) -> (usize, usize, bool, usize, usize, bool) {
        let (trans, classes) = (&self.trans[..], &self.classes);
        let steps = stop_a.saturating_sub(a).min(hay.len().saturating_sub(b));
        let (first, second) = (&hay[a..a + steps], &hay[b..b + steps]);
        for (&x, &y) in first.iter().zip(second) {
            let ta = trans[row_a + usize::from(classes[usize::from(x)])];
            let tb = trans[row_b + usize::from(classes[usize::from(y)])];
            a += 1;
            b += 1;
            row_a = (ta & !MATCH) as usize;
            row_b = (tb & !MATCH) as usize;
            if (ta | tb) & MATCH != 0 {
                return (a, row_a, ta & MATCH != 0, b, row_b, tb & MATCH != 0);
            }
        }
        (a, row_a, false, b, row_b, false)
    }
}

#[cfg(test)]
mod tests {
    use aho_corasick::AhoCorasick;
    use proptest::prelude::*;

    use super::*;

    fn found(m: &Matcher<usize>, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        m.each_match(hay, &mut |v, end| found.push((end, v)));
        // Matches ending at one offset come in no particular order.
        found.sort_unstable();
        found
    }

    #[test]
    fn reports_every_overlapping_match_case_insensitively() {
        let m = Matcher::build([("rate limit", 1), ("limit", 2), ("rate limit reached", 3)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            found(&m, b"Rate LIMIT reached; limit"),
            vec![(10, 1), (10, 2), (18, 3), (25, 2)]
        );
        assert_eq!(m.len(), 3);
        assert!(found(&m, b"").is_empty());
        assert!(found(&m, b"nothing here").is_empty());
    }

    #[test]
    fn row_offsets_map_back_to_states_exactly() {
        for stride in [2usize, 3, 7, 51, 64, 100, 257] {
            let magic = per_row(stride);
            // Offsets stay below MATCH (2³¹): the build refuses bigger tables.
            let states = (MATCH as usize - 1) / stride;
            for state in (0..1000).chain(states - 1000..states) {
                assert_eq!(
                    ((state * stride) as u64 * magic) >> 32,
                    state as u64,
                    "{stride}"
                );
            }
        }
    }

    #[test]
    fn non_ascii_literals_match_bytewise() {
        let m =
            Matcher::build([("请求速度超限", 7), ("超限", 8)]).unwrap_or_else(|e| panic!("{e}"));
        let hay = "throttling: 请求速度超限!".as_bytes();
        let end = "throttling: 请求速度超限".len();
        assert_eq!(found(&m, hay), vec![(end, 7), (end, 8)]);
    }

    /// Every match, in the order `each_match` reports them.
    fn in_order(m: &Matcher<usize>, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut all = Vec::new();
        m.each_match(hay, &mut |v, end| all.push((end, v)));
        all
    }

    #[test]
    fn dense_matches_overflow_the_buffer_without_loss_or_disorder() {
        let m = Matcher::build([("q", 0), ("qq", 1), ("qqq", 2)]).unwrap_or_else(|e| panic!("{e}"));
        let hay = vec![b'q'; 500];
        let got = in_order(&m, &hay);
        // Every position ends a "q", every one from the second a "qq", ...
        assert_eq!(got.len(), 500 + 499 + 498);
        assert!(
            got.windows(2).all(|w| w[0].0 <= w[1].0),
            "reported out of order"
        );
        let mut sorted = got.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), got.len(), "a match was reported twice");
    }

    const LITERALS: &[&str] = &[
        "rate limit",
        "limit",
        "rate_limit_exceeded",
        "ab",
        "abc",
        "bca",
        "c",
        "a-b",
        "xyz",
        "q",
        "qq",
        "model",
        "not found",
        "请求",
        "请求速度",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The compacted walk finds exactly what aho-corasick's own
        /// overlapping search finds.
        #[test]
        fn agrees_with_aho_corasick(
            hay in prop::collection::vec(
                prop_oneof![
                    prop::sample::select(b"abcqxyzABCQ -_mode lnotfuRATEIMT".to_vec()),
                    any::<u8>(),
                ],
                0..600,
            ),
            picks in prop::collection::vec(0..LITERALS.len(), 1..LITERALS.len()),
        ) {
            let literals: Vec<&str> = picks.iter().map(|i| LITERALS[*i]).collect();
            let m = Matcher::build(literals.iter().copied().zip(0..))
                .unwrap_or_else(|e| panic!("{e}"));
            let ac = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&literals)
                .unwrap_or_else(|e| panic!("{e}"));
            let mut want: Vec<(usize, usize)> = ac
                .find_overlapping_iter(&hay)
                .map(|x| (x.end(), x.pattern().as_usize()))
                .collect();
            want.sort_unstable();
            let got = in_order(&m, &hay);
            prop_assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "out of order: {:?}", got);
            prop_assert_eq!(found(&m, &hay), want);
        }
    }
}
