//! The breaker's whole state machine in one `u64`, so every transition is a
//! single compare-and-swap.
//!
//! ```text
//! bits  0..3   mode         Closed, Open, HalfOpen, ForcedOpen, Disabled, MetricsOnly
//! bits  3..8   trip level   trips since the last success streak (0..=31)
//! bits  8..24  generation   +1 on every mode change; a permit remembers it
//! bits 24..64  payload      depends on the mode:
//!     Closed, MetricsOnly   low 20 bits: consecutive failures, high 20: success streak
//!     HalfOpen              low 20 bits: probes in flight,     high 20: probe successes
//!     Open                  the instant it may half-open, in ms since the epoch
//! ```
//!
//! A permit's outcome only moves the state machine if the generation is
//! still the one it was issued in; anything older is counted in the metrics
//! and otherwise ignored (a call that started before the breaker opened
//! cannot close it, nor trip the next closed period). The generation is 16
//! bits: only a permit that outlives 65,536 mode changes could see its
//! generation come round again.

use crate::breaker::CircuitState;

/// The mode bits of the word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
    ForcedOpen = 3,
    Disabled = 4,
    MetricsOnly = 5,
}

impl Mode {
    fn from_bits(bits: u64) -> Self {
        match bits {
            1 => Self::Open,
            2 => Self::HalfOpen,
            3 => Self::ForcedOpen,
            4 => Self::Disabled,
            5 => Self::MetricsOnly,
            // Only `Word::new` writes these bits, always from a `Mode`.
            _ => Self::Closed,
        }
    }

    /// The public state this mode shows (an `Open` word whose time has come
    /// shows `HalfOpen`; that is decided where the time is known).
    pub(crate) fn state(self) -> CircuitState {
        match self {
            Self::Closed => CircuitState::Closed,
            Self::Open => CircuitState::Open,
            Self::HalfOpen => CircuitState::HalfOpen,
            Self::ForcedOpen => CircuitState::ForcedOpen,
            Self::Disabled => CircuitState::Disabled,
            Self::MetricsOnly => CircuitState::MetricsOnly,
        }
    }
}

const MODE_MASK: u64 = 0b111;
const LEVEL_SHIFT: u32 = 3;
const LEVEL_MASK: u64 = 0b1_1111;
/// The highest trip level: the open duration stops growing long before.
pub(crate) const MAX_LEVEL: u32 = 31;
const GEN_SHIFT: u32 = 8;
const GEN_MASK: u64 = 0xFFFF;
const PAYLOAD_SHIFT: u32 = 24;
/// The largest payload (40 bits): as milliseconds, about 34 years.
pub(crate) const PAYLOAD_MAX: u64 = (1 << 40) - 1;
const FIELD_BITS: u32 = 20;
/// The largest value of one 20-bit payload field.
pub(crate) const FIELD_MAX: u32 = (1 << FIELD_BITS) - 1;

/// One value of the state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u64);

impl Word {
    pub(crate) fn new(mode: Mode, level: u32, generation: u16, payload: u64) -> Self {
        Self(
            mode as u64
                | (u64::from(level.min(MAX_LEVEL)) << LEVEL_SHIFT)
                | (u64::from(generation) << GEN_SHIFT)
                | (payload.min(PAYLOAD_MAX) << PAYLOAD_SHIFT),
        )
    }

    /// A payload of two 20-bit fields, each saturating.
    pub(crate) fn fields(lo: u32, hi: u32) -> u64 {
        u64::from(lo.min(FIELD_MAX)) | (u64::from(hi.min(FIELD_MAX)) << FIELD_BITS)
    }

    /// The closed word of `generation` with nothing counted and trip level
    /// 0: the word a success leaves unchanged.
    #[inline]
    pub(crate) fn quiet_closed(generation: u16) -> Self {
        Self((u64::from(generation) << GEN_SHIFT) | Mode::Closed as u64)
    }

    /// Whether the word is in `mode`, without decoding it.
    #[inline]
    pub(crate) fn is(self, mode: Mode) -> bool {
        self.0 & MODE_MASK == mode as u64
    }

    #[inline]
    pub(crate) fn mode(self) -> Mode {
        Mode::from_bits(self.0 & MODE_MASK)
    }

    #[inline]
    pub(crate) fn level(self) -> u32 {
        ((self.0 >> LEVEL_SHIFT) & LEVEL_MASK) as u32
    }

    #[inline]
    pub(crate) fn generation(self) -> u16 {
        ((self.0 >> GEN_SHIFT) & GEN_MASK) as u16
    }

    #[inline]
    pub(crate) fn payload(self) -> u64 {
        self.0 >> PAYLOAD_SHIFT
    }

    /// The low payload field: consecutive failures or probes in flight.
    #[inline]
    pub(crate) fn lo(self) -> u32 {
        (self.payload() & u64::from(FIELD_MAX)) as u32
    }

    /// The high payload field: success streak or probe successes.
    #[inline]
    pub(crate) fn hi(self) -> u32 {
        ((self.payload() >> FIELD_BITS) & u64::from(FIELD_MAX)) as u32
    }

    /// The same mode, level and generation with another payload.
    pub(crate) fn with_payload(self, payload: u64) -> Self {
        Self::new(self.mode(), self.level(), self.generation(), payload)
    }

    /// The same mode and generation with another level and payload.
    pub(crate) fn with_level(self, level: u32, payload: u64) -> Self {
        Self::new(self.mode(), level, self.generation(), payload)
    }

    /// A new mode in the next generation.
    pub(crate) fn next(self, mode: Mode, level: u32, payload: u64) -> Self {
        Self::new(mode, level, self.generation().wrapping_add(1), payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_saturate() {
        let w = Word::new(Mode::HalfOpen, 7, 0xBEEF, Word::fields(3, 9));
        assert_eq!(w.mode(), Mode::HalfOpen);
        assert_eq!(w.level(), 7);
        assert_eq!(w.generation(), 0xBEEF);
        assert_eq!((w.lo(), w.hi()), (3, 9));
        let s = Word::new(Mode::Closed, 99, 0, Word::fields(u32::MAX, u32::MAX));
        assert_eq!(s.level(), MAX_LEVEL);
        assert_eq!((s.lo(), s.hi()), (FIELD_MAX, FIELD_MAX));
        let o = Word::new(Mode::Open, 1, 1, u64::MAX);
        assert_eq!(o.payload(), PAYLOAD_MAX);
        assert_eq!(o.mode(), Mode::Open);
    }

    #[test]
    fn next_bumps_the_generation_and_wraps() {
        let w = Word::new(Mode::Closed, 0, u16::MAX, 0);
        let n = w.next(Mode::Open, 1, 5);
        assert_eq!(n.generation(), 0);
        assert_eq!((n.mode(), n.level(), n.payload()), (Mode::Open, 1, 5));
        let quiet = Word::quiet_closed(7);
        assert_eq!(quiet, Word::new(Mode::Closed, 0, 7, 0));
        assert!(quiet.is(Mode::Closed) && !quiet.is(Mode::Open));
        let same = n.with_payload(6);
        assert_eq!(same.generation(), 0);
        assert_eq!(same.with_level(0, 0).level(), 0);
    }

    #[test]
    fn every_mode_round_trips() {
        for m in [
            Mode::Closed,
            Mode::Open,
            Mode::HalfOpen,
            Mode::ForcedOpen,
            Mode::Disabled,
            Mode::MetricsOnly,
        ] {
            assert_eq!(Word::new(m, 0, 0, 0).mode(), m);
        }
    }
}
