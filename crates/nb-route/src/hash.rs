//! A fast hasher for the target index.
//!
//! `record_result` looks its target up on every call, and SipHash on a
//! model name costs more than the rest of the lookup. Targets are chosen by
//! the application, not by an adversary, so HashDoS resistance buys
//! nothing here: a multiply-rotate hash over 8-byte words with a final
//! avalanche (so that names differing only in their last bytes still land
//! in different buckets) is enough.

use std::hash::{BuildHasherDefault, Hasher};

/// The index's hasher.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WordHasher(u64);

/// `HashMap` state using [`WordHasher`].
pub(crate) type BuildWordHasher = BuildHasherDefault<WordHasher>;

impl WordHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
        // The length tells a zero-padded tail from real zero bytes.
        self.add(bytes.len() as u64);
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // splitmix64's finaliser: every input bit reaches every output bit.
        let mut h = self.0;
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^ (h >> 31)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn similar_names_spread_over_buckets() {
        let b = BuildWordHasher::default();
        let names: Vec<String> = (0..256).map(|i| format!("model-{i}")).collect();
        let hashes: HashSet<u64> = names.iter().map(|n| b.hash_one(n)).collect();
        assert_eq!(hashes.len(), names.len(), "no collisions");
        // The low bits pick the bucket: 256 names over 64 buckets should not
        // pile up.
        let mut buckets = [0u32; 64];
        for h in &hashes {
            buckets[(h & 63) as usize] += 1;
        }
        assert!(buckets.iter().all(|&n| n <= 12), "{buckets:?}");
    }

    #[test]
    fn the_tail_length_matters() {
        let h = |bytes: &[u8]| {
            let mut w = WordHasher::default();
            w.write(bytes);
            w.finish()
        };
        assert_ne!(h(b"ab\0"), h(b"ab"));
        assert_ne!(h(b"gpt-4o"), h(b"gpt-4o\0\0"));
        assert_ne!(h(b"model-1"), h(b"model-18"));
    }
}
