//! Multi-literal matching: an Aho-Corasick DFA, compacted and walked by hand.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};

/// Set on a transition that enters a state where literals end.
const MATCH: u32 = 1 << 31;

/// Text read per round: its parts are read by walkers in step.
const WINDOW: usize = 4096;

/// States at most this deep are numbered breadth-first, deeper ones
/// depth-first (see [`Matcher::build`]).
const BREADTH_FIRST: usize = 2;

/// The most walkers in a round.
const WALKERS: usize = 4;

/// A part is never shorter than this, so that a short text is not cut into
/// parts whose book-keeping costs more than the walk.
const MIN_PART: usize = 32;

/// Matches held per part before a round reports them in text order; a
/// round that finds more is read again by one walker reporting as it goes.
const HELD: usize = 16;

/// Many literals (ASCII case-insensitive), each with a value, found in one
/// pass with every match at every position (overlapping semantics).
///
/// Built from aho-corasick's DFA, then compacted for the walk, which is
/// latency-bound (each step loads the next state from the previous one):
/// - one byte class per distinct pattern byte, case folded, plus one for
///   every other byte, so a row has about 50 entries instead of the 128 that
///   aho-corasick's case-insensitive classes round up to;
/// - states renumbered so that the rows a text visits are near each other:
///   the shallow states that ordinary text keeps revisiting together, and
///   each literal's deeper states one after the other (a typical error body
///   touches 30 pages of the table instead of 73);
/// - transitions hold the next row's offset (premultiplied) with a flag bit
///   for states where literals end, so a step is two loads, an add and a
///   test;
/// - each state's depth (the length of the literal prefix it stands for) is
///   kept, which is what lets walkers start mid-text (see
///   [`Matcher::each_match`]).
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
    /// Per literal, its length in bytes.
    lens: Vec<u32>,
    /// Per state, its depth: the length of the literal prefix it stands for.
    depths: Vec<u32>,
    /// The longest literal, in bytes.
    max_len: usize,
}

/// The bytes a match reads as a space.
fn is_line_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r')
}

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

/// Matches found by a round, waiting to be reported in text order: per
/// part, those ending in it, in order, as `(end, literal)` with `end`
/// counted from the start of the round.
struct Held {
    parts: [[(u32, u32); HELD]; WALKERS],
    lens: [usize; WALKERS],
}

impl<T: Copy> Matcher<T> {
    /// Compiles `(literal, value)` pairs.
    pub(crate) fn build<'p>(
        entries: impl IntoIterator<Item = (&'p str, T)>,
    ) -> Result<Self, BuildError> {
        let (literals, values): (Vec<&str>, Vec<T>) = entries.into_iter().unzip();
        // A tab or a line break, in a literal as in the text, reads as a
        // space (see the classes below).
        let literals: Vec<Cow<'_, str>> = literals
            .into_iter()
            .map(|l| {
                if l.bytes().any(is_line_space) {
                    Cow::Owned(l.replace(['\t', '\n', '\r'], " "))
                } else {
                    Cow::Borrowed(l)
                }
            })
            .collect();
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(literals.iter().map(|l| l.as_bytes()))
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
        // Each tab or line break reads as one space, so a plain-text message
        // wrapped over lines ("does not support\ntools") still says its
        // phrase. (A CRLF reads as two spaces; a JSON body's escaped `\n` is
        // two other bytes, and is not folded.)
        for b in (0..=255u8).filter(|b| is_line_space(*b)) {
            classes[usize::from(b)] = classes[usize::from(b' ')];
        }
        let stride = reps.len();

        // States, breadth-first from the start, which gives each its depth
        // (no text shorter than a literal prefix leads to the state standing
        // for it)...
        let start = dfa
            .start_state(Anchored::No)
            .map_err(|e| BuildError(e.to_string()))?;
        let mut depth_of = HashMap::from([(start, 0usize)]);
        let mut bfs = vec![start];
        let mut queue = VecDeque::from([start]);
        while let Some(s) = queue.pop_front() {
            let d = depth_of[&s] + 1;
            for rep in reps.iter().flatten() {
                let t = dfa.next_state(Anchored::No, s, *rep);
                depth_of.entry(t).or_insert_with(|| {
                    bfs.push(t);
                    queue.push_back(t);
                    d
                });
            }
        }
        // ...then numbered: the shallow ones in that order, since ordinary
        // text keeps revisiting them, and the deeper ones depth-first along
        // the literals (a transition one byte deeper extends the prefix), so
        // that reading a literal walks through neighbouring rows, a few pages
        // instead of one per byte.
        let mut order: Vec<_> = bfs
            .iter()
            .copied()
            .filter(|s| depth_of[s] <= BREADTH_FIRST)
            .collect();
        let mut stack: Vec<_> = order
            .iter()
            .rev()
            .copied()
            .filter(|s| depth_of[s] == BREADTH_FIRST)
            .collect();
        while let Some(s) = stack.pop() {
            let d = depth_of[&s];
            if d > BREADTH_FIRST {
                order.push(s);
            }
            for rep in reps.iter().flatten().rev() {
                let t = dfa.next_state(Anchored::No, s, *rep);
                if depth_of[&t] == d + 1 {
                    stack.push(t);
                }
            }
        }
        if order.len() != bfs.len() {
            return Err(BuildError("the literal prefixes do not form a tree".into()));
        }
        let index: HashMap<_, _> = order.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let too_big = || BuildError("the automaton is too large".into());
        if order
            .len()
            .checked_mul(stride)
            .is_none_or(|n| n >= MATCH as usize)
        {
            return Err(too_big());
        }

        let mut trans = vec![0; order.len() * stride];
        let mut ends_at = Vec::with_capacity(order.len());
        let mut ends = Vec::new();
        for (&s, row) in order.iter().zip(trans.chunks_exact_mut(stride)) {
            for (rep, cell) in reps.iter().zip(row) {
                // A byte in no literal behaves like any other such byte.
                let t = rep.map_or(start, |b| dfa.next_state(Anchored::No, s, b));
                let next = index.get(&t).copied().ok_or_else(too_big)? * stride;
                let flag = if dfa.is_match(t) { MATCH } else { 0 };
                *cell = u32::try_from(next).map_err(|_| too_big())? | flag;
            }
            let first = u32::try_from(ends.len()).map_err(|_| too_big())?;
            if dfa.is_match(s) {
                for k in 0..dfa.match_len(s) {
                    ends.push(dfa.match_pattern(s, k).as_u32());
                }
            }
            // Matches ending at one offset are reported by literal.
            ends[first as usize..].sort_unstable();
            let last = u32::try_from(ends.len()).map_err(|_| too_big())?;
            ends_at.push((first, last));
        }
        let depths = order
            .iter()
            .map(|s| u32::try_from(depth_of[s]).map_err(|_| too_big()))
            .collect::<Result<_, _>>()?;
        let lens = literals
            .iter()
            .map(|l| u32::try_from(l.len()).map_err(|_| too_big()))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            classes,
            per_row: per_row(stride),
            trans,
            ends_at,
            ends,
            values,
            lens,
            depths,
            max_len: literals.iter().map(|l| l.len()).max().unwrap_or(0),
        })
    }

    /// How many literals there are.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Calls `f(value, end)` for every literal found in `hay`, in the
    /// order of `end` (the offset just after the match), then of the
    /// literals.
    ///
    /// Each step loads the next state from the last one, so one walker
    /// waits on every load. The text is read in windows, each cut into up
    /// to four parts read by walkers in step, whose loads overlap. A walker
    /// starting a part knows nothing of the bytes before it, so it finds the
    /// matches that begin in its part. Those that begin in the part before
    /// and end in this one are found by letting the previous walker, whose
    /// state at the boundary is exact (parts are at least as long as the
    /// longest literal), go on past it until its state is no deeper than
    /// the bytes it has read since: from there on, both walkers are in the
    /// same state. That takes a few bytes in ordinary text.
    ///
    /// `f` is called through `dyn` on purpose: matches are rare, and keeping
    /// the handler out of the walk leaves the walk its registers.
    pub(crate) fn each_match(&self, hay: &[u8], f: &mut dyn FnMut(T, usize)) {
        let min_part = self.max_len.max(MIN_PART);
        let mut row = 0;
        let mut start = 0;
        while start < hay.len() {
            let end = hay.len().min(start + WINDOW);
            let n = end - start;
            row = if n >= 4 * min_part {
                self.round::<4>(hay, start, end, row, f)
            } else if n >= 3 * min_part {
                self.round::<3>(hay, start, end, row, f)
            } else if n >= 2 * min_part {
                self.round::<2>(hay, start, end, row, f)
            } else {
                self.walk_alone(hay, start, row, end, f)
            };
            start = end;
        }
    }

    /// Reads `hay[start..end]` (at most [`WINDOW`] bytes) from the state at
    /// `row` with `K` walkers, one part each; reports its matches in order
    /// and returns the state at `end`.
    fn round<const K: usize>(
        &self,
        hay: &[u8],
        start: usize,
        end: usize,
        row: usize,
        f: &mut dyn FnMut(T, usize),
    ) -> usize {
        let part = (end - start) / K;
        let mut rows = [0; K];
        rows[0] = row;
        let mut held = Held {
            parts: [[(0, 0); HELD]; WALKERS],
            lens: [0; WALKERS],
        };
        let window = &hay[start..end];
        let mut done = self.walk_many(window, part, &mut rows, &mut held);
        // The last walker also reads the few bytes left.
        let mut last = rows[K - 1];
        let mut at = K * part;
        while done && at < window.len() {
            let hit;
            (at, last, hit) = self.walk(window, at, last);
            if hit {
                done = self.hold(last, at, 0, K - 1, &mut held);
            }
        }
        // Matches that begin before a boundary and end after it (in the
        // part after it: a part is longer than any literal).
        for i in 1..K {
            let (mut r, s) = (rows[i - 1], i * part);
            let mut at = s;
            while done && at < window.len() && !self.within(r, at - s) {
                let t = self.step(r, window[at]);
                at += 1;
                r = (t & !MATCH) as usize;
                if t & MATCH != 0 {
                    done = self.hold(r, at, at - s, i, &mut held);
                }
            }
        }
        if !done {
            // Rare (text dense with matches): read it again, reporting as
            // it goes.
            return self.walk_alone(hay, start, row, end, f);
        }
        for (part, &len) in held.parts.iter().zip(&held.lens).take(K) {
            for &(end, i) in part.get(..len).unwrap_or_default() {
                if let Some(&v) = self.values.get(i as usize) {
                    f(v, start + end as usize);
                }
            }
        }
        last
    }

    /// Holds the literals longer than `longer_than` that end at `end` in the
    /// state at `row`, among the matches of part `part`, in order; false when
    /// there is no room.
    fn hold(
        &self,
        row: usize,
        end: usize,
        longer_than: usize,
        part: usize,
        held: &mut Held,
    ) -> bool {
        let (Some(slots), Some(len)) = (held.parts.get_mut(part), held.lens.get_mut(part)) else {
            return false;
        };
        // Window offsets are below `WINDOW`.
        let end = u32::try_from(end).unwrap_or(u32::MAX);
        for &i in self.ends_of(row) {
            if self
                .lens
                .get(i as usize)
                .is_none_or(|&l| l as usize <= longer_than)
            {
                continue;
            }
            if *len == HELD {
                return false;
            }
            // Kept in order: a walker's own matches come in order, and
            // those reaching back over the part's start, found after the
            // walk, are slotted in among them.
            let mut at = *len;
            while at > 0 && slots[at - 1] > (end, i) {
                slots[at] = slots[at - 1];
                at -= 1;
            }
            slots[at] = (end, i);
            *len += 1;
        }
        true
    }

    /// Holds the matches of every walker that entered a state where literals
    /// end (its transition in `t` carries [`MATCH`]) after reading `read`
    /// bytes of its part; returns the rows, or `Err` with them when there is
    /// no room.
    #[inline(always)]
    fn hold_all<const K: usize>(
        &self,
        t: [u32; K],
        read: usize,
        part: usize,
        held: &mut Held,
    ) -> Result<[usize; K], [usize; K]> {
        let rows = t.map(|t| (t & !MATCH) as usize);
        for (i, &t) in t.iter().enumerate() {
            if t & MATCH != 0 && !self.hold(rows[i], i * part + read, 0, i, held) {
                return Err(rows);
            }
        }
        Ok(rows)
    }

    /// Whether the state at `row` stands for at most `depth` bytes.
    fn within(&self, row: usize, depth: usize) -> bool {
        self.depths
            .get(self.state(row))
            .is_none_or(|&d| d as usize <= depth)
    }

    /// The index of the state at `row`.
    fn state(&self, row: usize) -> usize {
        ((row as u64 * self.per_row) >> 32) as usize
    }

    /// The transition from the state at `row` on `b`.
    fn step(&self, row: usize, b: u8) -> u32 {
        let i = row + usize::from(self.classes[usize::from(b)]);
        self.trans.get(i).copied().unwrap_or(0)
    }

    /// The literals ending in the state at `row`.
    fn ends_of(&self, row: usize) -> &[u32] {
        let (first, last) = self.ends_at.get(self.state(row)).copied().unwrap_or((0, 0));
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

    /// One walker over `hay[at..stop]` from the state at `row`, reporting as
    /// it goes; returns the state at `stop`.
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
        row
    }

    /// Walks from `at` in the state at `row` until a state where literals
    /// end, or the end of `hay`; returns the offset after the last byte
    /// read, the row, and whether literals end there.
    ///
    /// Kept apart, and not inlined, so this loop holds its few values in
    /// registers.
    #[inline(never)]
    fn walk(&self, hay: &[u8], mut at: usize, mut row: usize) -> (usize, usize, bool) {
        let (trans, classes) = (&self.trans[..], &self.classes);
        for &b in &hay[at.min(hay.len())..] {
            let t = trans[row + usize::from(classes[usize::from(b)])];
            at += 1;
            if t & MATCH != 0 {
                return (at, (t & !MATCH) as usize, true);
            }
            row = t as usize;
        }
        (at, row, false)
    }

    /// `K` walkers in step, walker `i` reading `window[i * part..][..part]`
    /// from the state at `rows[i]`, holding their matches; returns false
    /// when there is no room to hold them (`rows` are then partway).
    #[inline(never)]
    fn walk_many<const K: usize>(
        &self,
        window: &[u8],
        part: usize,
        rows_out: &mut [usize; K],
        held: &mut Held,
    ) -> bool {
        let (trans, classes) = (&self.trans[..], &self.classes);
        let parts: [&[u8]; K] = std::array::from_fn(|i| &window[i * part..][..part]);
        let mut r = *rows_out;
        for read in 0..part {
            let t: [u32; K] = std::array::from_fn(|i| {
                trans[r[i] + usize::from(classes[usize::from(parts[i][read])])]
            });
            if t.iter().fold(0, |a, t| a | t) & MATCH == 0 {
                r = t.map(|t| t as usize);
                continue;
            }
            match self.hold_all(t, read + 1, part, held) {
                Ok(rows) => r = rows,
                Err(rows) => {
                    *rows_out = rows;
                    return false;
                }
            }
        }
        *rows_out = r;
        true
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
        found
    }

    /// What aho-corasick's own overlapping search finds, as `(end,
    /// literal)` in the order `each_match` promises, with tabs and line
    /// breaks read as spaces.
    fn reference(literals: &[&str], hay: &[u8]) -> Vec<(usize, usize)> {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(literals)
            .unwrap_or_else(|e| panic!("{e}"));
        let spaced: Vec<u8> = hay
            .iter()
            .map(|&b| if is_line_space(b) { b' ' } else { b })
            .collect();
        let mut want: Vec<(usize, usize)> = ac
            .find_overlapping_iter(&spaced)
            .map(|x| (x.end(), x.pattern().as_usize()))
            .collect();
        want.sort_unstable();
        want
    }

    fn matcher(literals: &[&str]) -> Matcher<usize> {
        Matcher::build(literals.iter().copied().zip(0..)).unwrap_or_else(|e| panic!("{e}"))
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
    fn a_literal_with_a_tab_or_a_line_break_reads_it_as_a_space() {
        let m = matcher(&["does\tnot", "rate limit"]);
        assert_eq!(found(&m, b"does not"), vec![(8, 0)]);
        assert_eq!(found(&m, b"does\nnot rate\tlimit"), vec![(8, 0), (19, 1)]);
    }

    #[test]
    fn reads_tabs_and_line_breaks_as_spaces() {
        let m = matcher(&["does not support tools", "tools"]);
        assert_eq!(
            found(&m, b"gemma3 does not support\ntools"),
            vec![(29, 0), (29, 1)]
        );
        assert_eq!(found(&m, b"does not\r\tsupport tools"), vec![(23, 1)]);
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

    #[test]
    fn dense_matches_overflow_the_buffer_without_loss_or_disorder() {
        let literals = ["q", "qq", "qqq"];
        let m = matcher(&literals);
        // More matches than a round holds, in the first window and in a
        // later one.
        for hay in [
            vec![b'q'; 500],
            [vec![b'x'; 5000], vec![b'q'; 300]].concat(),
        ] {
            let got = found(&m, &hay);
            assert_eq!(got, reference(&literals, &hay));
        }
        // Every position ends a "q", every one from the second a "qq", ...
        assert_eq!(found(&m, &[b'q'; 500]).len(), 500 + 499 + 498);
    }

    /// A literal placed across every boundary between the walkers' parts,
    /// for every number of walkers, and across windows.
    #[test]
    fn matches_across_part_and_window_boundaries() {
        let literals = [
            "rate_limit_exceeded",
            "limit",
            "exceeded",
            "e",
            "rate_limit_exceeded!",
        ];
        let m = matcher(&literals);
        let needle = b"rate_limit_exceeded!";
        // Texts read alone, by two, three and four walkers, and in two windows.
        for (len, around) in [
            (60, 0..60),
            (70, 0..70),
            (110, 0..110),
            (300, 0..300),
            (WINDOW + 700, WINDOW - 40..WINDOW + 40),
        ] {
            for at in around {
                let mut hay = vec![b'.'; len];
                let end = (at + needle.len()).min(len);
                hay[at..end].copy_from_slice(&needle[..end - at]);
                assert_eq!(found(&m, &hay), reference(&literals, &hay), "{len} {at}");
            }
        }
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

    fn text(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(b"abcqxyzABCQ -_mode lnotfuRATEIMT\n\t".to_vec()),
                any::<u8>(),
            ],
            0..max,
        )
    }

    fn picks() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(0..LITERALS.len(), 1..LITERALS.len())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The compacted walk, however many walkers read the text, finds
        /// exactly what aho-corasick's own overlapping search finds, in order.
        #[test]
        fn agrees_with_aho_corasick(hay in text(600), picks in picks()) {
            let literals: Vec<&str> = picks.iter().map(|i| LITERALS[*i]).collect();
            prop_assert_eq!(found(&matcher(&literals), &hay), reference(&literals, &hay));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// The same over several windows.
        #[test]
        fn agrees_with_aho_corasick_over_windows(hay in text(3 * WINDOW), picks in picks()) {
            let literals: Vec<&str> = picks.iter().map(|i| LITERALS[*i]).collect();
            prop_assert_eq!(found(&matcher(&literals), &hay), reference(&literals, &hay));
        }
    }
}
